#pragma once
// The moves of a MySQL/MariaDB role switch, each one statement or a short bounded sequence on
// real servers: observe who replicates from whom, freeze a primary within a deadline, kill
// sessions, wait for a replica to apply a position, promote, re-point. mysql_switchover
// orders them; the `mysql` check's promotable and lost methods use the observations.
#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <tl/expected.hpp>
#include <vector>

#include "kinds/mysql_server.hpp"

namespace drctl {

using SteadyClock = std::chrono::steady_clock;

// A session on a server, as PROCESSLIST shows it.
struct MysqlSession {
  long long id = 0;
  std::string user, host, command;
  long long seconds = 0;      // in its current state
  long long trx_age_ms = -1;  // its open write transaction's age, -1 without one
  std::string why;            // why it matters: "bypasses read_only", "open write transaction"
};
nlohmann::json to_json(const MysqlSession& session);
std::string describe(const std::vector<MysqlSession>& sessions);

// Where a replica replicates from, as its status says.
struct ReplicaSource {
  std::string host;
  int port = 0;
  std::string user;
  long long server_id = 0;  // Master_Server_Id; 0 when unknown
  bool io_running = false, sql_running = false;
  std::string io_error, sql_error, io_position;  // Gtid_IO_Pos / Retrieved_Gtid_Set
  std::optional<long long> seconds_behind;
};
ReplicaSource replica_source(const SqlRow& status);

// The replication account a re-pointed server connects with.
struct ReplicationLogin {
  std::string host;
  int port = 0;
  std::string user, password;
};

// Sessions other than `own` (drctl's) and replication's own threads whose account may write
// through read_only: on MariaDB 10.11, any holding READ_ONLY ADMIN (every ALL PRIVILEGES user).
// MySQL's super_read_only stops them all: none.
tl::expected<std::vector<MysqlSession>, Outcome> read_only_bypassers(
    MysqlServer& server, const std::vector<long long>& own);
// Sessions with an open transaction that modified rows or holds a table lock (an INSERT's
// intention lock: the rows counter alone was seen at 0 for an open INSERT), oldest first.
tl::expected<std::vector<MysqlSession>, Outcome> open_writers(MysqlServer& server);
// Both lists in one round trip: what the freeze asks while nobody can write.
struct SessionsAtFreeze {
  std::vector<MysqlSession> bypassers, writers;
};
tl::expected<SessionsAtFreeze, Outcome> sessions_at_freeze(MysqlServer& server,
                                                           const std::vector<long long>& own);
// The privileges this session's account lacks for a role switch on MariaDB, named ("PROCESS,
// CONNECTION ADMIN"); empty when it has them all or on MySQL (whose errors name them).
tl::expected<std::vector<std::string>, Outcome> missing_switch_privileges(MysqlServer& server);
// rpl_semi_sync_* variables and status counters, for the report.
tl::expected<nlohmann::json, Outcome> semi_sync_state(MysqlServer& server);

// SET GLOBAL read_only (super_read_only on MySQL) to `on`, giving up at `deadline`: `control`,
// a second session on the same server, kills the statement (KILL QUERY) so that a SET blocked
// behind a semi-sync commit cannot hold the switch; the server is then as it was. Fails with
// class freeze_timeout in that case.
tl::expected<void, Outcome> set_read_only(MysqlServer& server, MysqlServer& control, bool on,
                                          SteadyClock::time_point deadline);
// KILL CONNECTION for each session through `control`; the ones it killed (one gone already is
// neither killed nor a failure).
tl::expected<std::vector<MysqlSession>, Outcome> kill_sessions(
    MysqlServer& control, const std::vector<MysqlSession>& sessions);

// Waits on `replica` until it has applied `position` (MASTER_GTID_WAIT /
// WAIT_FOR_EXECUTED_GTID_SET), at most until `deadline`; false on timeout.
tl::expected<bool, Outcome> wait_applied(MysqlServer& replica, const std::string& position,
                                         SteadyClock::time_point deadline);
// Makes the server writable (then calls `writable`), stops replication and forgets the source.
tl::expected<void, Outcome> promote(MysqlServer& server,
                                    const std::function<void()>& writable = nullptr);
// Records which run promoted the server in drctl.promotions, outside the binlog (sql_log_bin=0,
// so no GTID is added and the roles stay exactly restorable); fails with class `fenced` when a
// row there carries a newer fencing token than `fencing_token` (a later run promoted it).
tl::expected<void, Outcome> check_fence(MysqlServer& server, const std::string& fencing_token);
tl::expected<void, Outcome> write_fence(MysqlServer& server, const std::string& run_id,
                                        const std::string& fencing_token,
                                        const std::string& old_primary,
                                        const std::string& position);
// Makes the (read-only) server replicate from `source` by GTID from its own position, and
// waits until both threads run, at most until `deadline`.
tl::expected<void, Outcome> replicate_from(MysqlServer& server, const ReplicationLogin& source,
                                           SteadyClock::time_point deadline);
// Waits until both replication threads run (from `source`, for the message), at most until
// `deadline`; not_replicating with the threads' errors otherwise.
tl::expected<void, Outcome> threads_running(MysqlServer& server, const std::string& source,
                                            SteadyClock::time_point deadline);
// STOP SLAVE; RESET SLAVE ALL (its position stays).
tl::expected<void, Outcome> stop_replicating(MysqlServer& server);

// Transactions `have` executed that `reference` lacks ("0-1-13..0-1-15"); MySQL: the
// GTID_SUBTRACT set, asked of `reference`.
struct MissingTransactions {
  std::string text;  // "" when none
  unsigned long long count = 0;
  bool empty() const { return text.empty(); }
};
tl::expected<MissingTransactions, Outcome> transactions_missing(MysqlServer& have,
                                                                MysqlServer& reference);

double ms_since(SteadyClock::time_point start);

}  // namespace drctl
