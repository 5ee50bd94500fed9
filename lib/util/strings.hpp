#pragma once
// Small string helpers shared by the parser and the reporters.
#include <string>
#include <string_view>
#include <vector>

namespace drctl {

std::string trim(std::string_view text);

// The text with every byte that is not part of a well-formed UTF-8 sequence replaced by
// U+FFFD (a step's output may be binary or in another encoding, such as GBK).
std::string valid_utf8(std::string_view text);

// The last `max_lines` lines of text, at most `max_bytes` bytes (for evidence tails).
std::string tail(std::string_view text, std::size_t max_lines, std::size_t max_bytes);

// Edit distance, for "did you mean" suggestions on unknown keys.
std::size_t edit_distance(std::string_view a, std::string_view b);

// The closest candidate within a small edit distance, or "" when none is close.
std::string closest_match(std::string_view word, const std::vector<std::string>& candidates);

// Percent-encodes everything but RFC 3986 unreserved characters (for URL paths and queries).
std::string url_encode(std::string_view text);

std::string to_lower(std::string_view text);

// Every occurrence of `from` replaced by `to`.
std::string replace_all(std::string text, std::string_view from, std::string_view to);

std::string join(const std::vector<std::string>& parts, std::string_view separator);

// The parts between separators ("a,,b" -> {"a", "", "b"}).
std::vector<std::string> split(std::string_view text, char separator);

// Collapses a multi-line message onto one line (reports promise one-line messages).
std::string one_line(std::string_view text);

}  // namespace drctl
