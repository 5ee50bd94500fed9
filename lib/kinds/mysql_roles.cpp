#include "kinds/mysql_roles.hpp"

#include <fmt/format.h>

#include <functional>
#include <future>
#include <thread>

#include "kinds/failure.hpp"
#include "util/strings.hpp"

namespace drctl {
namespace {

// "Query execution was interrupted": the statement was killed (KILL QUERY).
constexpr int k_er_query_interrupted = 1317;
// "Unknown thread id": the session to kill is gone already.
constexpr int k_er_no_such_thread = 1094;
// "Table doesn't exist" (drctl.promotions on a server no run has promoted).
constexpr int k_er_no_such_table = 1146;

std::string id_list(const std::vector<long long>& ids) {
  std::vector<std::string> parts;
  for (long long id : ids) parts.push_back(std::to_string(id));
  return parts.empty() ? "0" : join(parts, ",");
}

long long number(const SqlRow& row, const char* column) {
  std::string text = sql_text(row, {column});
  try {
    return text.empty() ? 0 : std::stoll(text);
  } catch (const std::exception&) {
    return 0;
  }
}

std::vector<MysqlSession> sessions_of(const std::vector<SqlRow>& rows, const char* why) {
  std::vector<MysqlSession> out;
  for (const auto& row : rows) {
    MysqlSession s;
    s.id = number(row, "id");
    s.user = sql_text(row, {"user"});
    s.host = sql_text(row, {"host"});
    s.command = sql_text(row, {"command"});
    s.seconds = number(row, "seconds");
    s.trx_age_ms = sql_text(row, {"trx_ms"}).empty() ? -1 : number(row, "trx_ms");
    s.why = why;
    out.push_back(std::move(s));
  }
  return out;
}

}  // namespace

double ms_since(SteadyClock::time_point start) {
  return std::chrono::duration<double, std::milli>(SteadyClock::now() - start).count();
}

nlohmann::json to_json(const MysqlSession& s) {
  nlohmann::json j = {{"id", s.id}, {"user", s.user}, {"host", s.host}, {"why", s.why}};
  if (s.trx_age_ms >= 0) j["transaction_ms"] = s.trx_age_ms;
  return j;
}

std::string describe(const std::vector<MysqlSession>& sessions) {
  std::vector<std::string> parts;
  for (const auto& s : sessions) {
    std::string part = fmt::format("{} {}@{}", s.id, s.user, s.host);
    if (s.trx_age_ms >= 0) part += fmt::format(" (write transaction open {} ms)", s.trx_age_ms);
    parts.push_back(part);
  }
  return join(parts, ", ");
}

// The lag column's name in this row (MariaDB/MySQL 5.7 or MySQL 8.0.22+).
const char* behind_column(const SqlRow& row) {
  return row.count("Seconds_Behind_Master") ? "Seconds_Behind_Master" : "Seconds_Behind_Source";
}

ReplicaSource replica_source(const SqlRow& row) {
  ReplicaSource s;
  s.host = sql_text(row, {"Master_Host", "Source_Host"});
  s.port = static_cast<int>(number(row, "Master_Port") ? number(row, "Master_Port")
                                                       : number(row, "Source_Port"));
  s.user = sql_text(row, {"Master_User", "Source_User"});
  s.server_id = number(row, "Master_Server_Id") ? number(row, "Master_Server_Id")
                                                : number(row, "Source_Server_Id");
  s.io_running = sql_text(row, {"Slave_IO_Running", "Replica_IO_Running"}) == "Yes";
  s.sql_running = sql_text(row, {"Slave_SQL_Running", "Replica_SQL_Running"}) == "Yes";
  s.io_error = one_line(sql_text(row, {"Last_IO_Error"}));
  s.sql_error = one_line(sql_text(row, {"Last_SQL_Error"}));
  s.io_position = sql_text(row, {"Gtid_IO_Pos", "Retrieved_Gtid_Set"});
  std::string behind = sql_text(row, {"Seconds_Behind_Master", "Seconds_Behind_Source"});
  if (!behind.empty()) s.seconds_behind = number(row, behind_column(row));
  return s;
}

namespace {

const char* const k_bypasser = "may write through read_only (READ_ONLY ADMIN)";
const char* const k_writer = "open write transaction";

// The sessions whose account holds READ_ONLY ADMIN, but drctl's and replication's own.
std::string bypassers_sql(const std::vector<long long>& own) {
  return fmt::format(
      "SELECT 'b' AS kind, p.ID AS id, p.USER AS user, p.HOST AS host, p.COMMAND AS command, "
      "p.TIME AS seconds, NULL AS trx_ms FROM information_schema.PROCESSLIST p WHERE p.ID NOT IN "
      "({}) AND p.COMMAND NOT IN ('Binlog Dump', 'Daemon', 'Slave_IO', 'Slave_SQL', "
      "'Slave_worker') AND p.USER NOT IN ('system user', 'event_scheduler', 'unauthenticated "
      "user') AND EXISTS (SELECT 1 FROM information_schema.USER_PRIVILEGES u WHERE "
      "u.PRIVILEGE_TYPE = 'READ_ONLY ADMIN' AND u.GRANTEE LIKE CONCAT('''', p.USER, '''@%'))",
      id_list(own));
}

// The sessions with a transaction that modified rows or holds a table lock (an INSERT's
// intention lock: the rows counter alone was seen at 0 for an open INSERT).
const char* const k_writers_sql =
    "SELECT 'w' AS kind, t.trx_mysql_thread_id AS id, p.USER AS user, p.HOST AS host, "
    "p.COMMAND AS command, p.TIME AS seconds, ROUND(TIMESTAMPDIFF(MICROSECOND, t.trx_started, "
    "NOW(6)) / 1000) AS trx_ms FROM information_schema.INNODB_TRX t LEFT JOIN "
    "information_schema.PROCESSLIST p ON p.ID = t.trx_mysql_thread_id WHERE "
    "t.trx_rows_modified > 0 OR t.trx_tables_locked > 0";

}  // namespace

tl::expected<std::vector<MysqlSession>, Outcome> read_only_bypassers(
    MysqlServer& server, const std::vector<long long>& own) {
  if (!server.mariadb()) return std::vector<MysqlSession>{};
  auto rows = server.rows(bypassers_sql(own) + " ORDER BY id");
  if (!rows) return tl::unexpected(rows.error());
  return sessions_of(*rows, k_bypasser);
}

tl::expected<std::vector<MysqlSession>, Outcome> open_writers(MysqlServer& server) {
  auto rows = server.rows(std::string(k_writers_sql) + " ORDER BY trx_ms DESC");
  if (!rows) return tl::unexpected(rows.error());
  return sessions_of(*rows, k_writer);
}

tl::expected<SessionsAtFreeze, Outcome> sessions_at_freeze(MysqlServer& server,
                                                           const std::vector<long long>& own) {
  if (!server.mariadb()) {
    auto writers = open_writers(server);
    if (!writers) return tl::unexpected(writers.error());
    return SessionsAtFreeze{{}, std::move(*writers)};
  }
  auto rows = server.rows(bypassers_sql(own) + " UNION ALL " + k_writers_sql +
                          " ORDER BY kind, trx_ms DESC, id");
  if (!rows) return tl::unexpected(rows.error());
  std::vector<SqlRow> bypassers, writers;
  for (auto& row : *rows) (sql_text(row, {"kind"}) == "b" ? bypassers : writers).push_back(row);
  return SessionsAtFreeze{sessions_of(bypassers, k_bypasser), sessions_of(writers, k_writer)};
}

tl::expected<std::vector<std::string>, Outcome> missing_switch_privileges(MysqlServer& server) {
  if (!server.mariadb()) return std::vector<std::string>{};
  const std::string grantee =
      "CONCAT('''', SUBSTRING_INDEX(CURRENT_USER(), '@', 1), '''@''', "
      "SUBSTRING_INDEX(CURRENT_USER(), '@', -1), '''')";
  auto rows = server.rows(
      "SELECT PRIVILEGE_TYPE AS p FROM information_schema.USER_PRIVILEGES WHERE GRANTEE = " +
      grantee +
      " UNION SELECT 'SELECT ON mysql' FROM information_schema.SCHEMA_PRIVILEGES WHERE GRANTEE = " +
      grantee + " AND TABLE_SCHEMA = 'mysql' AND PRIVILEGE_TYPE = 'SELECT'");
  if (!rows) return tl::unexpected(rows.error());

  std::vector<std::string> held;
  for (const auto& row : *rows) held.push_back(sql_text(row, {"p"}));
  auto has = [&](const char* p) { return std::find(held.begin(), held.end(), p) != held.end(); };
  bool super = has("SUPER");  // implies the administration privileges split from it in 10.5
  std::vector<std::string> missing;
  for (const char* p : {"READ_ONLY ADMIN", "PROCESS", "RELOAD"})
    if (!has(p)) missing.push_back(p);
  for (const char* p : {"CONNECTION ADMIN", "REPLICATION SLAVE ADMIN", "BINLOG ADMIN"})
    if (!has(p) && !super) missing.push_back(p);
  if (!has("SLAVE MONITOR") && !has("BINLOG MONITOR") && !super) missing.push_back("SLAVE MONITOR");
  // Without it, USER_PRIVILEGES shows only this account's own grants: the sessions that can
  // write through read_only would be invisible.
  if (!has("SELECT") && !has("SELECT ON mysql")) missing.push_back("SELECT on mysql.*");
  return missing;
}

tl::expected<nlohmann::json, Outcome> semi_sync_state(MysqlServer& server) {
  nlohmann::json state = nlohmann::json::object();
  for (const char* sql : {"SHOW GLOBAL VARIABLES LIKE 'rpl_semi_sync_%'",
                          "SHOW GLOBAL STATUS LIKE 'Rpl_semi_sync_%'"}) {
    auto rows = server.rows(sql);
    if (!rows) return tl::unexpected(rows.error());
    for (const auto& row : *rows) {
      // The settings and state that decide whether a commit (and so the freeze) can block.
      std::string name = sql_text(row, {"Variable_name"});
      for (const char* wanted : {"_enabled", "_timeout", "master_status", "source_status",
                                 "_clients", "wait_point", "wait_sessions"}) {
        if (name.find(wanted) != std::string::npos && name.find("kill_conn") == std::string::npos)
          state[name] = sql_text(row, {"Value"});
      }
    }
  }
  return state;
}

tl::expected<void, Outcome> set_read_only(MysqlServer& server, MysqlServer& control, bool on,
                                          SteadyClock::time_point deadline) {
  std::string sql = on ? fmt::format("SET GLOBAL {}=1", server.read_only_variable())
                       : std::string("SET GLOBAL read_only=0");
  auto pending = std::async(std::launch::async, [&] { return server.session().execute(sql); });
  if (pending.wait_until(deadline) != std::future_status::ready) {
    // Blocked (behind a commit waiting for a semi-sync acknowledgement, or a lock): kill the
    // statement; the variable is then unchanged.
    auto killed = control.exec(fmt::format("KILL QUERY {}", server.connection_id()));
    if (!killed) {
      pending.wait();
      return tl::unexpected(killed.error());
    }
  }
  auto result = pending.get();
  if (result) return {};  // done (perhaps just as it was killed)
  if (result.error().code == k_er_query_interrupted) {
    return tl::unexpected(failed(
        Status::timeout, "freeze_timeout",
        fmt::format("mysql {}: {} did not take effect in time (blocked, e.g. behind a commit "
                    "waiting for a semi-sync acknowledgement); the statement was killed and the "
                    "server left as it was",
                    server.name(), sql)));
  }
  return tl::unexpected(sql_failure(result.error(), server.name(), sql + " failed"));
}

tl::expected<std::vector<MysqlSession>, Outcome> kill_sessions(
    MysqlServer& control, const std::vector<MysqlSession>& sessions) {
  std::vector<MysqlSession> killed;
  for (const auto& s : sessions) {
    auto done = control.session().execute(fmt::format("KILL CONNECTION {}", s.id));
    if (done) {
      killed.push_back(s);
    } else if (done.error().code != k_er_no_such_thread) {
      return tl::unexpected(sql_failure(done.error(), control.name(),
                                        fmt::format("KILL CONNECTION {} failed", s.id)));
    }
  }
  return killed;
}

tl::expected<bool, Outcome> wait_applied(MysqlServer& replica, const std::string& position,
                                         SteadyClock::time_point deadline) {
  // At least 1 ms: MySQL's WAIT_FOR_EXECUTED_GTID_SET reads 0 as "no timeout".
  double seconds =
      std::max(0.001, std::chrono::duration<double>(deadline - SteadyClock::now()).count());
  std::string sql = replica.mariadb() ? fmt::format("SELECT MASTER_GTID_WAIT({}, {:.3f})",
                                                    sql_literal(position), seconds)
                                      : fmt::format("SELECT WAIT_FOR_EXECUTED_GTID_SET({}, {:.3f})",
                                                    sql_literal(position), seconds);
  auto answer = replica.scalar(sql);
  if (!answer) return tl::unexpected(answer.error());
  return *answer == "0";
}

// Runs statements in order, stopping at the first failure.
tl::expected<void, Outcome> exec_all(MysqlServer& server, const std::vector<std::string>& sql) {
  for (const auto& statement : sql) {
    if (auto done = server.exec(statement); !done) return done;
  }
  return {};
}

tl::expected<void, Outcome> stop_replicating(MysqlServer& server) {
  if (server.mariadb()) return exec_all(server, {"STOP SLAVE", "RESET SLAVE ALL"});
  return exec_all(server, {"STOP REPLICA", "RESET REPLICA ALL"});
}

tl::expected<void, Outcome> promote(MysqlServer& server, const std::function<void()>& writable) {
  // Writable first: the old primary is frozen and its last transaction applied, so nothing
  // more can arrive; stopping and forgetting replication (milliseconds) need not keep writes
  // waiting.
  if (auto done = server.exec("SET GLOBAL read_only=0"); !done) return done;
  if (writable) writable();
  return stop_replicating(server);
}

tl::expected<void, Outcome> check_fence(MysqlServer& server, const std::string& fencing_token) {
  if (fencing_token.empty()) return {};
  auto rows = server.session().query(
      "SELECT fencing_token AS t, run_id AS r FROM drctl.promotions WHERE fencing_token IS NOT "
      "NULL ORDER BY fencing_token DESC LIMIT 1");
  if (!rows) {
    if (rows.error().code == k_er_no_such_table) return {};
    return tl::unexpected(sql_failure(rows.error(), server.name(), "reading drctl.promotions"));
  }
  if (rows->empty() || sql_text(rows->front(), {"t"}).empty()) return {};
  long long newest = number(rows->front(), "t");
  if (newest > std::stoll("0" + fencing_token)) {
    return tl::unexpected(failed(
        Status::failed, "fenced",
        fmt::format("mysql {}: run {} promoted it with fencing token {}, newer than this run's {}: "
                    "this run's lock is stale; nothing changed",
                    server.name(), sql_text(rows->front(), {"r"}), newest, fencing_token)));
  }
  return {};
}

tl::expected<void, Outcome> write_fence(MysqlServer& server, const std::string& run_id,
                                        const std::string& fencing_token,
                                        const std::string& old_primary,
                                        const std::string& position) {
  for (const std::string& sql :
       {std::string("SET SESSION sql_log_bin=0"),
        std::string("CREATE DATABASE IF NOT EXISTS drctl"),
        std::string("CREATE TABLE IF NOT EXISTS drctl.promotions (promoted_at DATETIME(6) NOT "
                    "NULL, run_id VARCHAR(64) NOT NULL, fencing_token BIGINT NULL, old_primary "
                    "VARCHAR(255) NOT NULL, gtid_position TEXT NOT NULL, PRIMARY KEY "
                    "(promoted_at, run_id)) ENGINE=InnoDB"),
        fmt::format("INSERT INTO drctl.promotions VALUES (NOW(6), {}, {}, {}, {})",
                    sql_literal(run_id),
                    fencing_token.empty() ? "NULL" : sql_literal(fencing_token),
                    sql_literal(old_primary), sql_literal(position)),
        std::string("SET SESSION sql_log_bin=1")}) {
    if (auto done = server.exec(sql); !done) {
      server.session().execute("SET SESSION sql_log_bin=1");
      return done;
    }
  }
  return {};
}

tl::expected<void, Outcome> replicate_from(MysqlServer& server, const ReplicationLogin& source,
                                           SteadyClock::time_point deadline) {
  std::vector<std::string> statements;
  if (server.mariadb()) {
    statements = {
        "STOP SLAVE", "SET GLOBAL gtid_slave_pos = @@gtid_binlog_pos",
        fmt::format("CHANGE MASTER TO MASTER_HOST={}, MASTER_PORT={}, MASTER_USER={}, "
                    "MASTER_PASSWORD={}, MASTER_USE_GTID=slave_pos, MASTER_CONNECT_RETRY=1",
                    sql_literal(source.host), source.port, sql_literal(source.user),
                    sql_literal(source.password)),
        "START SLAVE"};
  } else {
    statements = {
        "STOP REPLICA",
        fmt::format(
            "CHANGE REPLICATION SOURCE TO SOURCE_HOST={}, SOURCE_PORT={}, "
            "SOURCE_USER={}, SOURCE_PASSWORD={}, SOURCE_AUTO_POSITION=1, GET_SOURCE_PUBLIC_KEY=1, "
            "SOURCE_CONNECT_RETRY=1",
            sql_literal(source.host), source.port, sql_literal(source.user),
            sql_literal(source.password)),
        "START REPLICA"};
  }
  for (const auto& sql : statements) {
    auto done = sql.find("PASSWORD") != std::string::npos
                    ? server.exec_secret(sql, "CHANGE MASTER TO (the replication account)")
                    : server.exec(sql);
    if (!done) return done;
  }
  return threads_running(server, fmt::format("{}:{}", source.host, source.port), deadline);
}

tl::expected<void, Outcome> threads_running(MysqlServer& server, const std::string& source,
                                            SteadyClock::time_point deadline) {
  while (true) {
    auto status = server.replica_status();
    if (!status) return tl::unexpected(status.error());
    ReplicaSource now = *status ? replica_source(**status) : ReplicaSource{};
    if (now.io_running && now.sql_running) return {};
    if (SteadyClock::now() >= deadline) {
      return tl::unexpected(failed(
          Status::timeout, "not_replicating",
          fmt::format("mysql {}: replication from {} did not start in time: IO={} SQL={}{}{}",
                      server.name(), source, now.io_running ? "Yes" : "No",
                      now.sql_running ? "Yes" : "No",
                      now.io_error.empty() ? "" : "; IO error: " + now.io_error,
                      now.sql_error.empty() ? "" : "; SQL error: " + now.sql_error)));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

tl::expected<MissingTransactions, Outcome> transactions_missing(MysqlServer& have,
                                                                MysqlServer& reference) {
  // Everything of `have` is read before the reference: a reference that replicates from it
  // (a candidate's primary, say, while writes go on) can then only be ahead of what was read.
  auto have_text = have.executed_gtids();
  if (!have_text) return tl::unexpected(have_text.error());
  std::string have_position;
  if (have.mariadb()) {
    auto written = have.written_position();
    if (!written) return tl::unexpected(written.error());
    auto applied = have.applied_position();
    if (!applied) return tl::unexpected(applied.error());
    have_position = *written + "," + *applied;
  }
  auto reference_text = reference.executed_gtids();
  if (!reference_text) return tl::unexpected(reference_text.error());
  MissingTransactions missing;
  if (!have.mariadb()) {
    auto rest = reference.scalar(fmt::format(
        "SELECT GTID_SUBTRACT({}, {})", sql_literal(*have_text), sql_literal(*reference_text)));
    if (!rest) return tl::unexpected(rest.error());
    missing.text = *rest;
    missing.count = rest->empty() ? 0 : 1;  // a set; its size is not counted here
    return missing;
  }
  auto have_list = gtid_list(have, *have_text);
  if (!have_list) return tl::unexpected(have_list.error());
  auto reference_list = gtid_list(reference, *reference_text);
  if (!reference_list) return tl::unexpected(reference_list.error());
  auto positions = gtid_list(have, have_position);
  if (!positions) return tl::unexpected(positions.error());
  auto ranges = gtids_missing(last_per_domain(*positions), *have_list, *reference_list);
  missing.text = describe(ranges);
  for (const auto& r : ranges) missing.count += r.count();
  return missing;
}

}  // namespace drctl
