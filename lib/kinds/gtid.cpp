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
  auto list = parse_gtid_list(position);
  if (!list) return std::nullopt;
  GtidPosition out;
  for (const Gtid& gtid : *list) {
    auto& highest = out[std::to_string(gtid.domain)];
    highest = std::max(highest, gtid.seq);
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

std::vector<GtidRange> gtids_missing(const std::vector<Gtid>& have_position,
                                     const std::vector<Gtid>& have_state,
                                     const std::vector<Gtid>& reference) {
  // The highest seq of `list` in `domain` from `server` (0: none).
  auto top = [](const std::vector<Gtid>& list, unsigned long long domain,
                std::optional<unsigned long long> server) {
    unsigned long long seq = 0;
    for (const Gtid& g : list) {
      if (g.domain == domain && (!server || g.server == *server)) seq = std::max(seq, g.seq);
    }
    return seq;
  };
  std::vector<GtidRange> missing;
  for (const Gtid& last : have_position) {
    unsigned long long held = top(reference, last.domain, last.server);
    if (last.seq <= held) continue;  // the reference has it (and, seqs rising, all before it)
    // Where the two histories part in this domain: the highest seq both have from one server.
    unsigned long long fork = 0;
    for (const Gtid& g : have_state) {
      if (g.domain == last.domain)
        fork = std::max(fork, std::min(g.seq, top(reference, g.domain, g.server)));
    }
    GtidRange range{last.domain, last.server, std::max(held, fork) + 1, last.seq, true};
    // With no common history in the domain, where the missing ones start is unknown.
    range.first_known = held > 0 || fork > 0 || top(reference, last.domain, std::nullopt) == 0;
    if (!range.first_known) range.first = last.seq;
    missing.push_back(range);
  }
  return missing;
}

std::vector<Gtid> last_per_domain(const std::vector<Gtid>& list) {
  std::map<unsigned long long, Gtid> last;
  for (const Gtid& g : list) {
    auto [it, added] = last.try_emplace(g.domain, g);
    if (!added && g.seq > it->second.seq) it->second = g;
  }
  std::vector<Gtid> out;
  for (const auto& [domain, gtid] : last) out.push_back(gtid);
  return out;
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
