#include "kinds/gtid.hpp"

#include <algorithm>
#include <charconv>

#include "util/strings.hpp"

namespace drctl {

namespace {

// An unsigned integer that is the whole of `text`.
std::optional<unsigned long long> whole_number(std::string_view text) {
  unsigned long long value = 0;
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || error != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return value;
}

}  // namespace

std::optional<GtidPosition> parse_mariadb_gtid(const std::string& position) {
  GtidPosition out;
  for (const auto& entry : split(position, ',')) {
    const std::string trimmed = trim(entry);
    std::string_view part = trimmed;
    if (part.empty()) continue;  // "" is the empty position; a trailing comma adds nothing
    auto first = part.find('-');
    auto last = part.rfind('-');
    if (first == std::string_view::npos || last == first) return std::nullopt;
    auto domain = whole_number(part.substr(0, first));
    auto server = whole_number(part.substr(first + 1, last - first - 1));
    auto seq = whole_number(part.substr(last + 1));
    if (!domain || !server || !seq) return std::nullopt;
    auto& highest = out[std::string(part.substr(0, first))];
    highest = std::max(highest, *seq);
  }
  return out;
}

std::vector<GtidLag> gtid_behind(const GtidPosition& want, const GtidPosition& have) {
  std::vector<GtidLag> behind;
  for (const auto& [domain, seq] : want) {
    auto it = have.find(domain);
    unsigned long long got = it != have.end() ? it->second : 0;
    if (got < seq) behind.push_back({domain, got, seq});
  }
  return behind;
}

}  // namespace drctl
