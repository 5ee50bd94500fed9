#include "kinds/mysql_freeze.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <thread>

#include "kinds/failure.hpp"
#include "kinds/mysql_switch_plan.hpp"
#include "util/strings.hpp"

namespace drctl {
namespace {

// How often the open transactions are read while they are given kill_after: InnoDB refreshes
// INNODB_TRX only when it was not read for 100 ms, so reading more often sees the old list.
constexpr auto k_trx_refresh = std::chrono::milliseconds(110);

}  // namespace

tl::expected<void, Outcome> stop_writers(MysqlServer& primary, MysqlServer& control,
                                         const std::vector<long long>& own, Millis kill_after,
                                         SteadyClock::time_point deadline, Outcome& outcome) {
  nlohmann::json killed = nlohmann::json::array();
  auto sessions = sessions_at_freeze(primary, own);
  if (!sessions) return tl::unexpected(sessions.error());
  const std::vector<MysqlSession>* bypassers = &sessions->bypassers;
  if (!bypassers->empty()) {
    auto gone = kill_sessions(control, *bypassers);
    if (!gone) return tl::unexpected(gone.error());
    for (const auto& s : *gone) killed.push_back(to_json(s));
  }
  // A killed session's transaction stays in INNODB_TRX while it rolls back: not a writer.
  auto still_open = [&]() -> tl::expected<std::vector<MysqlSession>, Outcome> {
    auto writers = open_writers(primary);
    if (!writers) return writers;
    std::erase_if(*writers, [&](const MysqlSession& w) {
      return std::any_of(bypassers->begin(), bypassers->end(),
                         [&](const MysqlSession& b) { return b.id == w.id; });
    });
    return writers;
  };
  tl::expected<std::vector<MysqlSession>, Outcome> writers = sessions->writers;
  if (!bypassers->empty()) writers = still_open();
  if (!writers) return tl::unexpected(writers.error());
  outcome.evidence["open_at_freeze"] = nlohmann::json::array();
  for (const auto& w : *writers) outcome.evidence["open_at_freeze"].push_back(to_json(w));
  if (!writers->empty()) {
    // Their COMMIT fails now (read_only), so they hold nothing that can be lost; they get
    // kill_after to end on their own, then go.
    auto until = within(deadline, kill_after);
    while (!writers->empty() && SteadyClock::now() < until) {
      // InnoDB refreshes INNODB_TRX only when nobody read it in the last 100 ms.
      std::this_thread::sleep_until(std::min(until, SteadyClock::now() + k_trx_refresh));
      writers = still_open();
      if (!writers) return tl::unexpected(writers.error());
    }
    auto gone = kill_sessions(control, *writers);
    if (!gone) return tl::unexpected(gone.error());
    for (const auto& s : *gone) killed.push_back(to_json(s));
  }
  outcome.evidence["killed"] = killed;
  for (const auto& k : killed) {
    outcome.warnings.push_back(
        fmt::format("killed session {} {}@{} on the {}: {}", k.value("id", 0LL),
                    k.value("user", ""), k.value("host", ""), primary.name(), k.value("why", "")));
  }
  return {};
}

std::optional<Outcome> prove_caught_up(MysqlServer& primary, MysqlServer& candidate,
                                       const std::string& final_position, Outcome& outcome) {
  auto applied = candidate.applied_position();
  if (!applied) return applied.error();
  outcome.evidence["candidate_gtid_after"] = *applied;
  std::vector<std::string> differences;
  if (candidate.mariadb()) {
    auto want = gtid_list(primary, final_position);
    if (!want) return want.error();
    auto have = gtid_list(candidate, *applied);
    if (!have) return have.error();
    differences = gtid_position_differences(*want, *have);
  } else {
    auto subset = candidate.scalar(fmt::format("SELECT GTID_SUBSET({}, {})",
                                               sql_literal(final_position), sql_literal(*applied)));
    if (!subset) return subset.error();
    if (*subset != "1") differences.push_back("the primary's set is not within the candidate's");
  }
  if (!differences.empty()) {
    return failed(outcome, Status::failed, "not_caught_up",
                  fmt::format("mysql {}: does not hold exactly the {}'s final position: {}",
                              candidate.name(), primary.name(), join(differences, "; ")));
  }
  auto now = primary.written_position();
  if (!now) return now.error();
  if (*now != final_position) {
    return failed(outcome, Status::failed, "primary_moved",
                  fmt::format("mysql {}: wrote after the freeze ({} -> {}): a session writes "
                              "through read_only",
                              primary.name(), final_position, *now));
  }
  outcome.evidence["rpo_transactions"] = 0;
  return std::nullopt;
}

}  // namespace drctl
