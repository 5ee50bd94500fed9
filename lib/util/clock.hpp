#pragma once
// Two clocks, two jobs: the monotonic clock measures durations, the wall clock only labels them.
#include <chrono>
#include <string>

namespace drctl {

using SteadyTime = std::chrono::steady_clock::time_point;
using WallTime = std::chrono::system_clock::time_point;

// One instant read from both clocks, so reports can show a timestamp and compute durations.
struct Instant {
  SteadyTime steady{};
  WallTime wall{};
  static Instant now() {
    return {std::chrono::steady_clock::now(), std::chrono::system_clock::now()};
  }
};

// Milliseconds from `a` to `b`, with sub-millisecond precision.
inline double ms_between(SteadyTime a, SteadyTime b) {
  return std::chrono::duration<double, std::milli>(b - a).count();
}

// RFC 3339 UTC with milliseconds: "2026-11-23T22:15:00.123Z".
std::string rfc3339_utc(WallTime time);
// Reads what rfc3339_utc writes; the epoch when `text` is not in that form.
WallTime parse_rfc3339_utc(const std::string& text);

}  // namespace drctl
