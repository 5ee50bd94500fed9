#include "kinds/mysql_promotion.hpp"

#include <fmt/format.h>

#include "kinds/failure.hpp"
#include "util/strings.hpp"

namespace drctl {
namespace {

std::optional<Outcome> refuse(Outcome& outcome, const char* error_class, const std::string& why) {
  return failed(outcome, Status::failed, error_class, why);
}

// The privileges a switch needs, on one server.
std::optional<Outcome> privileges(MysqlServer& server, Outcome& outcome) {
  auto missing = missing_switch_privileges(server);
  if (!missing) return missing.error();
  if (missing->empty()) return std::nullopt;
  return refuse(outcome, "privileges",
                fmt::format("mysql {}: user {} lacks {} (needed to switch roles)", server.name(),
                            server.endpoint().user, join(*missing, ", ")));
}

// The server settings a role switch relies on (MariaDB): a binlog, with what it applies (the
// re-pointed server starts from its binlog position), and GTIDs that only rise in a domain
// (what the errant and lost comparisons assume: a warning when off).
std::optional<Outcome> settings(MysqlServer& server, Outcome& outcome) {
  if (!server.mariadb()) return std::nullopt;
  auto rows = server.rows(
      "SELECT @@log_bin AS log_bin, @@log_slave_updates AS log_slave_updates, "
      "@@gtid_strict_mode AS gtid_strict_mode");
  if (!rows) return rows.error();
  if (rows->empty()) return std::nullopt;
  std::vector<std::string> off;
  for (const char* name : {"log_bin", "log_slave_updates"}) {
    if (sql_text(rows->front(), {name}) != "1") off.push_back(name);
  }
  if (!off.empty()) {
    return refuse(outcome, "unsupported_setup",
                  fmt::format("mysql {}: {} off: a role switch needs the binlog with what the "
                              "server applies (log_bin, log_slave_updates)",
                              server.name(), join(off, ", ")));
  }
  if (sql_text(rows->front(), {"gtid_strict_mode"}) != "1") {
    outcome.warnings.push_back(fmt::format(
        "mysql {}: gtid_strict_mode is off: errant and lost transactions are named assuming "
        "seqs rise within a domain",
        server.name()));
  }
  return std::nullopt;
}

}  // namespace

std::optional<Outcome> check_promotable(MysqlServer& primary, MysqlServer& candidate,
                                        const PromotionLimits& limits,
                                        const std::vector<long long>& own, PromotionFacts& facts,
                                        Outcome& outcome) {
  outcome.changed = Changed::no;
  auto& evidence = outcome.evidence;
  if (auto failure = privileges(primary, outcome)) return failure;
  if (auto failure = privileges(candidate, outcome)) return failure;
  if (auto failure = settings(primary, outcome)) return failure;
  if (auto failure = settings(candidate, outcome)) return failure;

  // The candidate replicates from this primary, both threads running.
  auto status = candidate.replica_status();
  if (!status) return status.error();
  if (!*status) {
    // The usual cause: the switch was done already, or primary and candidate are swapped.
    auto primary_status = primary.replica_status();
    bool swapped = primary_status && *primary_status &&
                   replica_source(**primary_status).server_id == candidate.server_id();
    return refuse(
        outcome, "not_a_replica",
        fmt::format("mysql {}: not a replica (replica status is empty){}", candidate.name(),
                    swapped ? fmt::format("; the {} replicates from it: it is the "
                                          "primary already (switched, or primary and "
                                          "candidate swapped?)",
                                          primary.name())
                            : ""));
  }
  facts.source = replica_source(**status);
  const ReplicaSource& source = facts.source;
  evidence["candidate_source"] = fmt::format("{}:{}", source.host, source.port);
  evidence["candidate_source_server_id"] = source.server_id;
  evidence["primary_server_id"] = primary.server_id();
  evidence["io_running"] = source.io_running;
  evidence["sql_running"] = source.sql_running;
  if (source.server_id != primary.server_id()) {
    return refuse(outcome, "wrong_source",
                  fmt::format("mysql {}: replicates from {}:{} (server_id {}), not from the {} "
                              "(server_id {})",
                              candidate.name(), source.host, source.port, source.server_id,
                              primary.name(), primary.server_id()));
  }
  if (!source.io_running || !source.sql_running) {
    return refuse(outcome, "stopped",
                  fmt::format("mysql {}: replication stopped: IO={} SQL={}{}{}", candidate.name(),
                              source.io_running ? "Yes" : "No", source.sql_running ? "Yes" : "No",
                              source.io_error.empty() ? "" : "; IO error: " + source.io_error,
                              source.sql_error.empty() ? "" : "; SQL error: " + source.sql_error));
  }

  // No errant transactions: everything the candidate executed, the primary has.
  auto errant = transactions_missing(candidate, primary);
  if (!errant) return errant.error();
  if (!errant->empty()) {
    evidence["errant"] = errant->text;
    return refuse(outcome, "errant",
                  fmt::format("mysql {}: has transactions the {} never executed (errant): {}; "
                              "promoting it would fork the data",
                              candidate.name(), primary.name(), errant->text));
  }

  // Lag: the threads' own measure, and transactions not yet applied.
  auto written = primary.written_position();
  if (!written) return written.error();
  auto applied = candidate.applied_position();
  if (!applied) return applied.error();
  facts.primary_position = *written;
  facts.candidate_position = *applied;
  evidence["primary_gtid"] = *written;
  evidence["candidate_gtid"] = *applied;
  if (primary.mariadb()) {
    auto want = parse_mariadb_gtid(*written);
    auto have = parse_mariadb_gtid(*applied);
    if (want && have) {
      unsigned long long behind = 0;
      for (const auto& lag : gtid_behind(*want, *have)) behind += lag.want - lag.have;
      evidence["transactions_behind"] = behind;
    }
  }
  evidence["seconds_behind"] =
      source.seconds_behind ? nlohmann::json(*source.seconds_behind) : nlohmann::json(nullptr);
  if (limits.max_lag) {
    if (!source.seconds_behind) {
      return refuse(
          outcome, "lag_unknown",
          fmt::format("mysql {}: lag unknown (Seconds_Behind_Master is NULL)", candidate.name()));
    }
    if (*source.seconds_behind * 1000 > limits.max_lag->count()) {
      return refuse(outcome, "lagging",
                    fmt::format("mysql {}: {} s behind, max_lag {} ms", candidate.name(),
                                *source.seconds_behind, limits.max_lag->count()));
    }
  }

  // Write transactions on the primary: none older than max_long_transaction. Only read when
  // asked: InnoDB refreshes INNODB_TRX only when it was not read in the last 100 ms, and the
  // freeze's own read, a few milliseconds later, must see the transactions open then.
  std::vector<MysqlSession> open;
  if (limits.max_long_transaction) {
    auto writers = open_writers(primary);
    if (!writers) return writers.error();
    open = std::move(*writers);
    evidence["open_write_transactions"] = nlohmann::json::array();
    for (const auto& w : open) evidence["open_write_transactions"].push_back(to_json(w));
  }
  if (!open.empty() && open.front().trx_age_ms > limits.max_long_transaction->count()) {
    return refuse(outcome, "long_transaction",
                  fmt::format("mysql {}: a write transaction has been open {} ms (max_long_"
                              "transaction {} ms): session {}",
                              primary.name(), open.front().trx_age_ms,
                              limits.max_long_transaction->count(), describe({open.front()})));
  }

  // Sessions read_only would not stop.
  auto bypassers = read_only_bypassers(primary, own);
  if (!bypassers) return bypassers.error();
  facts.bypassers = *bypassers;
  evidence["read_only_bypassers"] = nlohmann::json::array();
  for (const auto& b : *bypassers) evidence["read_only_bypassers"].push_back(to_json(b));
  if (!bypassers->empty() && !limits.bypassers_killed) {
    return refuse(outcome, "read_only_bypass",
                  fmt::format("mysql {}: sessions whose account holds READ_ONLY ADMIN would keep "
                              "writing through the freeze: {} (set kill_after to kill them at the "
                              "freeze, or connect the applications as a user without it)",
                              primary.name(), describe(*bypassers)));
  }

  auto semi_sync = semi_sync_state(primary);
  if (!semi_sync) return semi_sync.error();
  evidence["semi_sync"] = *semi_sync;
  return std::nullopt;
}

}  // namespace drctl
