#pragma once
// Whether a replica may be promoted in place of its primary right now: the preconditions of a
// planned switch, observed and changing nothing. The `mysql` check's `method: promotable` and
// the `mysql_switchover` step both ask them.
#include <optional>
#include <vector>

#include "kinds/mysql_roles.hpp"
#include "util/duration.hpp"

namespace drctl {

struct PromotionLimits {
  std::optional<Millis> max_lag;
  std::optional<Millis> max_long_transaction;
  // Sessions that can write through read_only will be killed at the freeze (kill_after set):
  // they are listed, not refused.
  bool bypassers_killed = false;
};

// What the preconditions saw, for the switch that follows them.
struct PromotionFacts {
  ReplicaSource source;                 // the candidate's replication, before
  std::vector<MysqlSession> bypassers;  // on the primary
  std::string primary_position;         // written, when asked
  std::string candidate_position;       // applied, when asked
};

// Runs every precondition in order and fills `outcome.evidence` (source, threads, GTID
// positions, transactions behind, lag, sessions, semi-sync); returns the first failure
// (changed: no), or nullopt when the candidate may be promoted. `own` are drctl's sessions on
// the primary.
std::optional<Outcome> check_promotable(MysqlServer& primary, MysqlServer& candidate,
                                        const PromotionLimits& limits,
                                        const std::vector<long long>& own, PromotionFacts& facts,
                                        Outcome& outcome);

}  // namespace drctl
