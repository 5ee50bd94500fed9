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

// One MariaDB GTID, domain-server-seq.
struct Gtid {
  unsigned long long domain = 0, server = 0, seq = 0;
  bool operator==(const Gtid&) const = default;
};
std::string to_string(const Gtid& gtid);

// Every entry of a GTID list (@@gtid_binlog_state: the last seq per domain and server;
// @@gtid_binlog_pos, @@gtid_slave_pos: the last GTID per domain), in the order given. nullopt
// when an entry is not three unsigned integers joined by '-'.
std::optional<std::vector<Gtid>> parse_gtid_list(const std::string& list);

// The transactions a server has that `reference` lacks, as GTID ranges. `have_position` is its
// last GTID per domain (@@gtid_current_pos), `have_state` and `reference` binlog states
// (@@gtid_binlog_state with @@gtid_slave_pos: the last seq per domain and server). Only a
// server's last transactions decide: an old entry in its state that the reference lacks (left
// by a RESET MASTER elsewhere, or a restored replica) is history, not a missing write. A last
// GTID the reference holds (same domain and server, seq at least as high) is not missing;
// one it lacks is missing from where the two histories part (the highest seq both have from
// one server) up to it: seqs rise within a domain under gtid_strict_mode, so these are the
// transactions, assuming the writer gave consecutive seqs (the usual case; gtid_seq_no can
// skip). With no common history in the domain, only the last one is certain.
struct GtidRange {
  unsigned long long domain = 0, server = 0, first = 0, last = 0;  // seqs first..last
  bool first_known = true;  // false: only `last` is certain (below the reference's top seq)
  unsigned long long count() const { return first_known ? last - first + 1 : 1; }
};
std::vector<GtidRange> gtids_missing(const std::vector<Gtid>& have_position,
                                     const std::vector<Gtid>& have_state,
                                     const std::vector<Gtid>& reference);
// The GTID with the highest seq in each domain of `list` (a binlog and a slave position
// together: a server's last transaction, written or applied), in domain order.
std::vector<Gtid> last_per_domain(const std::vector<Gtid>& list);

// "0-1-13..0-1-17" (or "0-1-13" for one, "up to 0-2-10" when the first is unknown), joined
// by ", ".
std::string describe(const std::vector<GtidRange>& ranges);

// The domains in which `have` does not hold exactly `want`'s last GTID ("0: 0-1-15 vs
// 0-1-14"): empty when a replica has applied precisely up to a frozen primary's position.
std::vector<std::string> gtid_position_differences(const std::vector<Gtid>& want,
                                                   const std::vector<Gtid>& have);

}  // namespace drctl
