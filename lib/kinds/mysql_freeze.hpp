#pragma once
// What a planned switch does while nobody can write: the sessions that still could, and the
// proof that the candidate holds everything the frozen primary wrote.
#include <optional>
#include <string>
#include <vector>

#include "kinds/mysql_roles.hpp"
#include "util/duration.hpp"

namespace drctl {

// With kill_after: kills the sessions that can write through read_only at once, gives open
// write transactions `kill_after` (their COMMIT fails now, so they hold nothing that can be
// lost), then kills them; each kill goes to outcome.evidence.killed and its warnings.
tl::expected<void, Outcome> stop_writers(MysqlServer& primary, MysqlServer& control,
                                         const std::vector<long long>& own, Millis kill_after,
                                         SteadyClock::time_point deadline, Outcome& outcome);

// Proves the candidate applied exactly the frozen primary's last transaction in every domain
// (`not_caught_up`) and that the primary wrote nothing since (`primary_moved`); nullopt then,
// with outcome.evidence.rpo_transactions = 0.
std::optional<Outcome> prove_caught_up(MysqlServer& primary, MysqlServer& candidate,
                                       const std::string& final_position, Outcome& outcome);

}  // namespace drctl
