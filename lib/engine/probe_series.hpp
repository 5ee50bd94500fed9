#pragma once
// A probe's samples over time, as the HTML report draws them: counts per class and the
// slowest answer, in buckets of at least the probe's interval and at most k_max_points of
// them, so an hour-long run journals as little as a minute-long one.
#include <array>
#include <cstddef>
#include <nlohmann/json.hpp>
#include <vector>

#include "util/clock.hpp"
#include "util/duration.hpp"

namespace drctl {

struct ProbeSample {
  double offset_ms = 0;    // when it was sent, from the probe's start
  unsigned counts_in = 1;  // a bit per column: the counts it adds to
  double latency_ms = 0;
};

inline constexpr std::size_t k_max_points = 1000;

// {"origin": RFC 3339, "bucket_ms": N, "columns": [...], "points": [[offset_ms, count per
// column..., max_latency_ms], ...]}; empty buckets are left out.
nlohmann::json probe_series(WallTime origin, Millis interval, double span_ms,
                            const std::vector<ProbeSample>& samples,
                            const std::vector<std::string>& columns);

}  // namespace drctl
