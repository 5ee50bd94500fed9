#include "util/stats.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>

namespace drctl {
namespace {

double nearest_rank(const std::vector<double>& sorted, double percentile) {
  auto rank =
      static_cast<std::size_t>(std::ceil(percentile / 100.0 * static_cast<double>(sorted.size())));
  return sorted[std::clamp<std::size_t>(rank, 1, sorted.size()) - 1];
}

double rounded(double value) {
  return std::round(value * 1000.0) / 1000.0;
}

}  // namespace

LatencySummary summarize(std::vector<double>& values) {
  LatencySummary summary;
  summary.samples = values.size();
  if (values.empty()) return summary;
  std::sort(values.begin(), values.end());
  summary.p50 = nearest_rank(values, 50);
  summary.p90 = nearest_rank(values, 90);
  summary.p99 = nearest_rank(values, 99);
  summary.max = values.back();
  summary.mean =
      std::accumulate(values.begin(), values.end(), 0.0) / static_cast<double>(values.size());
  return summary;
}

nlohmann::json LatencySummary::to_json() const {
  return {{"samples", samples},     {"p50_ms", rounded(p50)}, {"p90_ms", rounded(p90)},
          {"p99_ms", rounded(p99)}, {"max_ms", rounded(max)}, {"mean_ms", rounded(mean)}};
}

}  // namespace drctl
