#pragma once
// Durations as written in playbooks and flags: "250ms", "5s", "1m30s", "2h".
#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace drctl {

using Millis = std::chrono::milliseconds;
// The moment by which a call must have returned.
using Deadline = std::chrono::steady_clock::time_point;

// Parses a Go-style duration made of one or more <number><unit> parts ("1m30s", "1.5s"),
// units h, m, s, ms, us.
// Returns nullopt for anything else (no bare numbers: a unit is always required).
std::optional<Millis> parse_duration(std::string_view text);

// An age, as retention and history flags take it: whole days ("30d", up to 100000d) or a
// duration parse_duration reads ("12h", "90m"). Days are not a unit of parse_duration: a
// timeout is never counted in days.
std::optional<Millis> parse_age(std::string_view text);

// Formats a duration the way parse_duration reads it back: 1500ms -> "1.5s", 90000ms -> "1m30s".
std::string format_duration(Millis value);

// Milliseconds with microsecond precision, for reports ("12.345").
double to_ms(std::chrono::nanoseconds value);

}  // namespace drctl
