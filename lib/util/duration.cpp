#include "util/duration.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <cstdint>

namespace drctl {

std::optional<Millis> parse_duration(std::string_view text) {
  if (text.empty()) return std::nullopt;
  std::int64_t total_us = 0;
  std::size_t i = 0;
  while (i < text.size()) {
    if (!std::isdigit(static_cast<unsigned char>(text[i]))) return std::nullopt;
    std::int64_t number = 0;
    while (i < text.size() && std::isdigit(static_cast<unsigned char>(text[i]))) {
      number = number * 10 + (text[i] - '0');
      if (number > 1'000'000'000) return std::nullopt;  // keeps the sum far from overflow
      ++i;
    }
    // An optional fraction, as Go's time.ParseDuration reads "1.5s".
    std::int64_t fraction = 0;
    std::int64_t scale = 1;
    if (i < text.size() && text[i] == '.') {
      ++i;
      if (i >= text.size() || !std::isdigit(static_cast<unsigned char>(text[i])))
        return std::nullopt;
      while (i < text.size() && std::isdigit(static_cast<unsigned char>(text[i]))) {
        if (scale < 1'000'000) {
          fraction = fraction * 10 + (text[i] - '0');
          scale *= 10;
        }
        ++i;
      }
    }
    std::size_t unit_start = i;
    while (i < text.size() && std::isalpha(static_cast<unsigned char>(text[i]))) ++i;
    std::string_view unit = text.substr(unit_start, i - unit_start);
    std::int64_t unit_us = 0;
    if (unit == "h")
      unit_us = 3'600'000'000;
    else if (unit == "m")
      unit_us = 60'000'000;
    else if (unit == "s")
      unit_us = 1'000'000;
    else if (unit == "ms")
      unit_us = 1'000;
    else if (unit == "us")
      unit_us = 1;
    else
      return std::nullopt;
    total_us += number * unit_us + fraction * unit_us / scale;
  }
  return std::chrono::duration_cast<Millis>(std::chrono::microseconds(total_us));
}

std::optional<Millis> parse_age(std::string_view text) {
  if (text.size() > 1 && text.back() == 'd') {
    std::string_view days = text.substr(0, text.size() - 1);
    if (days.size() > 6 ||
        !std::all_of(days.begin(), days.end(), [](unsigned char c) { return std::isdigit(c); }))
      return std::nullopt;
    long long count = std::stoll(std::string(days));
    if (count > 100'000) return std::nullopt;
    return Millis(count * 24 * 3'600'000);
  }
  return parse_duration(text);
}

std::string format_duration(Millis value) {
  auto ms = value.count();
  if (ms < 1000) return fmt::format("{}ms", ms);
  if (ms < 60'000) {
    if (ms % 1000 == 0) return fmt::format("{}s", ms / 1000);
    std::string text = fmt::format("{:.3f}", ms / 1000.0);
    while (text.back() == '0') text.pop_back();
    return text + "s";
  }
  std::string out;
  if (ms >= 3'600'000) {
    out += fmt::format("{}h", ms / 3'600'000);
    ms %= 3'600'000;
  }
  if (ms >= 60'000) {
    out += fmt::format("{}m", ms / 60'000);
    ms %= 60'000;
  }
  if (ms > 0) out += format_duration(Millis(ms));
  return out;
}

double to_ms(std::chrono::nanoseconds value) {
  // Rounded to whole microseconds: the precision the report promises.
  return static_cast<double>(std::chrono::duration_cast<std::chrono::microseconds>(value).count()) /
         1000.0;
}

}  // namespace drctl
