#pragma once
// Latency summaries: nearest-rank percentiles over a sample.
#include <cstddef>
#include <nlohmann/json.hpp>
#include <vector>

namespace drctl {

struct LatencySummary {
  std::size_t samples = 0;
  double p50 = 0, p90 = 0, p99 = 0, max = 0, mean = 0;  // milliseconds

  nlohmann::json to_json() const;
};

// Sorts `values` (milliseconds) in place.
LatencySummary summarize(std::vector<double>& values);

}  // namespace drctl
