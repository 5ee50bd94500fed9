#pragma once
// What the HTML report's two files share (html_report.cpp: the page and its tables;
// html_timeline.cpp: the SVG timeline). Not an API: html_report.hpp is.
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

namespace drctl::html {

// Text for HTML content and attribute values alike: bytes that are not UTF-8 become U+FFFD,
// & < > " ' are escaped, control characters (C0 but tab and newline, DEL, C1) are dropped.
std::string escape(std::string_view text);

// `text` cut to at most `max_bytes` (on a character boundary), "…" marking the cut.
std::string clip(std::string_view text, std::size_t max_bytes);

// A duration for a table: "12.3 ms", "2.35 s".
std::string ms_text(double ms);
// A duration in large type: "850 ms", "2.9 s", "23 s".
std::string short_duration(double ms);

// The colour family of an entry status: ok, bad (failed, timeout, unreachable,
// invalid_answer), skipped, unknown (anything else).
const char* tone_of(std::string_view status);

// `text` as a CSS class name: letters, digits, '-' and '_' only.
std::string class_token(std::string_view text);

// Milliseconds since the epoch of the RFC 3339 timestamp object[key]; nullopt when absent or
// not in the form drctl writes.
std::optional<double> epoch_ms(const nlohmann::json& object, const char* key);

// The timeline section's figures: the Gantt of every entry and, under it on the same x-axis,
// the read probe's latency and errors and the write probe's writes over time.
std::string timeline_html(const nlohmann::json& report);

}  // namespace drctl::html
