#include "engine/probe_series.hpp"

#include <algorithm>
#include <cmath>
#include <map>

namespace drctl {

nlohmann::json probe_series(WallTime origin, Millis interval, double span_ms,
                            const std::vector<ProbeSample>& samples,
                            const std::vector<std::string>& columns) {
  const double wanted =
      std::max<double>(static_cast<double>(std::max<long long>(interval.count(), 1)),
                       std::ceil(std::max(span_ms, 0.0) / static_cast<double>(k_max_points)));
  const auto bucket_ms = static_cast<long long>(wanted);
  struct Bucket {
    std::vector<long long> counts;
    double max_latency = 0;
  };
  std::map<long long, Bucket> buckets;
  for (const auto& sample : samples) {
    const auto index = static_cast<long long>(std::max(sample.offset_ms, 0.0)) / bucket_ms;
    auto& bucket = buckets[index];
    bucket.counts.resize(columns.size());
    for (std::size_t c = 0; c < columns.size(); ++c) {
      if (sample.counts_in & (1U << c)) ++bucket.counts[c];
    }
    bucket.max_latency = std::max(bucket.max_latency, sample.latency_ms);
  }
  nlohmann::json points = nlohmann::json::array();
  for (const auto& [index, bucket] : buckets) {
    nlohmann::json point = nlohmann::json::array({index * bucket_ms});
    for (long long count : bucket.counts) point.push_back(count);
    point.push_back(std::round(bucket.max_latency * 10) / 10);
    points.push_back(std::move(point));
  }
  return {{"origin", rfc3339_utc(origin)},
          {"bucket_ms", bucket_ms},
          {"columns", columns},
          {"points", std::move(points)}};
}

}  // namespace drctl
