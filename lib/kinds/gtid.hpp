#pragma once
// MariaDB GTID positions (@@gtid_binlog_pos, @@gtid_slave_pos) and how far one is behind
// another, as pure functions for the mysql kind's `method: gtid`.
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace drctl {

// A GTID position: the highest sequence number seen per replication domain (the domain id
// as MariaDB prints it, e.g. "0").
using GtidPosition = std::map<std::string, unsigned long long>;

// Parses "domain-server-seq,..." (entries may be padded with spaces or newlines, as MariaDB
// prints long positions) into the highest seq per domain; "" is the empty position. nullopt
// when any entry is not three unsigned integers joined by '-': a position drctl cannot read is
// never taken as "caught up".
std::optional<GtidPosition> parse_mariadb_gtid(const std::string& position);

// One domain in which a replica is behind: it has `have` of the `want` transactions.
struct GtidLag {
  std::string domain;
  unsigned long long have = 0;
  unsigned long long want = 0;
};

// The domains of `want` in which `have` is behind, in domain order; a domain missing from
// `have` counts as seq 0. Empty when `have` has every transaction of `want`.
std::vector<GtidLag> gtid_behind(const GtidPosition& want, const GtidPosition& have);

}  // namespace drctl
