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

std::string to_string(const Gtid& gtid) {
  return std::to_string(gtid.domain) + "-" + std::to_string(gtid.server) + "-" +
         std::to_string(gtid.seq);
}

std::optional<std::vector<Gtid>> parse_gtid_list(const std::string& list) {
  std::vector<Gtid> out;
  for (const auto& entry : split(list, ',')) {
    const std::string trimmed = trim(entry);
    std::string_view part = trimmed;
    if (part.empty()) continue;
    auto first = part.find('-');
    auto last = part.rfind('-');
    if (first == std::string_view::npos || last == first) return std::nullopt;
    auto domain = whole_number(part.substr(0, first));
    auto server = whole_number(part.substr(first + 1, last - first - 1));
    auto seq = whole_number(part.substr(last + 1));
    if (!domain || !server || !seq) return std::nullopt;
    out.push_back({*domain, *server, *seq});
  }
  return out;
}

std::vector<GtidRange> gtids_missing(const std::vector<Gtid>& have,
                                     const std::vector<Gtid>& reference) {
  std::vector<GtidRange> missing;
  for (const Gtid& gtid : have) {
    unsigned long long held = 0;        // the reference's highest seq from this server
    unsigned long long domain_top = 0;  // and from anyone, in this domain
    for (const Gtid& r : reference) {
      if (r.domain != gtid.domain) continue;
      domain_top = std::max(domain_top, r.seq);
      if (r.server == gtid.server) held = std::max(held, r.seq);
    }
    if (gtid.seq <= held) continue;
    // Seqs rise by one per transaction in a domain: above the reference's top, the missing
    // ones are exactly top+1..seq; below it, only the last one is known.
    GtidRange range{gtid.domain, gtid.server, gtid.seq, gtid.seq, true};
    if (gtid.seq > domain_top)
      range.first = std::max(held, domain_top) + 1;
    else if (held == 0)
      range.first_known = false;
    else
      range.first = held + 1;
    missing.push_back(range);
  }
  return missing;
}

std::string describe(const std::vector<GtidRange>& ranges) {
  std::vector<std::string> parts;
  for (const auto& r : ranges) {
    Gtid first{r.domain, r.server, r.first}, last{r.domain, r.server, r.last};
    if (!r.first_known)
      parts.push_back("up to " + to_string(last));
    else
      parts.push_back(r.first == r.last ? to_string(first)
                                        : to_string(first) + ".." + to_string(last));
  }
  return join(parts, ", ");
}

std::vector<std::string> gtid_position_differences(const std::vector<Gtid>& want,
                                                   const std::vector<Gtid>& have) {
  std::vector<std::string> out;
  for (const Gtid& w : want) {
    const Gtid* match = nullptr;
    for (const Gtid& h : have) {
      if (h.domain == w.domain) match = &h;
    }
    if (!match || !(*match == w)) {
      out.push_back(std::to_string(w.domain) + ": " + to_string(w) + " vs " +
                    (match ? to_string(*match) : std::string("none")));
    }
  }
  return out;
}

}  // namespace drctl
