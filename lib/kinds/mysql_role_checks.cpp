#include "kinds/mysql_role_checks.hpp"

#include <fmt/format.h>

#include "kinds/failure.hpp"

namespace drctl {

Outcome promotion_readiness(MysqlServer& primary, MysqlServer& replica,
                            const PromotionLimits& limits) {
  Outcome outcome;
  PromotionFacts facts;
  if (auto refused =
          check_promotable(primary, replica, limits, {primary.connection_id()}, facts, outcome))
    return *refused;
  if (!facts.bypassers.empty()) {
    outcome.warnings.push_back(fmt::format(
        "sessions on the {} can write through read_only: {}; a switch refuses them unless "
        "kill_after is set",
        primary.name(), describe(facts.bypassers)));
  }
  if (outcome.evidence["seconds_behind"].is_number())
    outcome.outputs["lag_ms"] =
        std::to_string(outcome.evidence["seconds_behind"].get<long long>() * 1000);
  outcome.status = Status::ok;
  outcome.message = fmt::format(
      "mysql {}: promotable: replicates from the {} with both threads running, no errant "
      "transactions, {} transaction(s) behind",
      replica.name(), primary.name(), outcome.evidence.value("transactions_behind", 0ULL));
  return outcome;
}

Outcome lost_transactions(MysqlServer& old_primary, MysqlServer& successor) {
  Outcome outcome;
  outcome.changed = Changed::no;
  // Only for a successor that took over: writable, and not replicating from the old primary.
  // Anything else (a healthy pair, the two servers swapped) would freeze a live primary.
  auto status = successor.replica_status();
  if (!status) return status.error();
  auto successor_ro = successor.read_only();
  if (!successor_ro) return successor_ro.error();
  if ((*status && replica_source(**status).server_id == old_primary.server_id()) || *successor_ro) {
    return failed(outcome, Status::failed, "not_a_successor",
                  fmt::format("mysql {}: is {}: it has not taken over from the {}; nothing "
                              "done (method lost is for after an emergency promotion: this "
                              "server the new primary, primary: the old one)",
                              successor.name(), *successor_ro ? "read-only" : "replicating from it",
                              old_primary.name()));
  }
  auto read_only = old_primary.read_only();
  if (!read_only) return read_only.error();
  if (!*read_only) {
    if (auto done =
            old_primary.exec(fmt::format("SET GLOBAL {}=1", old_primary.read_only_variable()));
        !done)
      return done.error();
    outcome.changed = Changed::yes;
    outcome.warnings.push_back(
        fmt::format("the {} was writable: set read-only", old_primary.name()));
  }
  auto missing = transactions_missing(old_primary, successor);
  if (!missing) return missing.error();
  outcome.evidence["lost"] = missing->text;
  outcome.evidence["lost_transactions"] = missing->count;
  outcome.outputs["lost"] = missing->text;
  if (!missing->empty()) {
    return failed(outcome, Status::failed, "lost",
                  fmt::format("mysql {}: has {} transaction(s) the {} lacks: {}; it stays "
                              "read-only",
                              old_primary.name(), missing->count, successor.name(), missing->text));
  }
  outcome.status = Status::ok;
  outcome.message = fmt::format("mysql {}: has nothing the {} lacks; it is read-only",
                                old_primary.name(), successor.name());
  return outcome;
}

}  // namespace drctl
