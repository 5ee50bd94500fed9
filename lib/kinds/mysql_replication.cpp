#include "kinds/mysql_replication.hpp"

#include <fmt/format.h>

#include <chrono>
#include <cmath>
#include <future>
#include <thread>

#include "clients/sql.hpp"
#include "kinds/failure.hpp"
#include "kinds/gtid.hpp"
#include "kinds/mysql_role_checks.hpp"
#include "kinds/tls_fields.hpp"
#include "util/clock.hpp"
#include "util/secrets.hpp"
#include "util/strings.hpp"

namespace drctl {
namespace {

const Field k_method =
    Field::string("method",
                  "How lag is measured: replica status, GTID positions, or a heartbeat row; "
                  "promotable: whether the replica may replace the primary now; lost: what an old "
                  "primary has that this server (its successor) lacks.")
        .one_of({"replica_status", "gtid", "heartbeat", "promotable", "lost"})
        .defaults_to("replica_status");
const Field k_max_lag =
    Field::duration("max_lag", "Largest acceptable lag (replica_status and heartbeat).");
const Field k_connect_timeout =
    Field::duration("connect_timeout", "Connection limit (whole seconds in the connector).")
        .defaults_to(5000);
const Field k_read_timeout =
    Field::duration("read_timeout", "Limit for one answer.").defaults_to(5000);
const Field k_primary =
    Field::object("primary", "The primary (gtid, heartbeat, promotable; lost: the old primary).",
                  mysql_connection_fields());
const Field k_max_long_transaction = Field::duration(
    "max_long_transaction", "promotable: no write transaction on the primary older than this.");
const Field k_wait =
    Field::duration("wait", "gtid: wait up to this long for the replica to catch up.");
const Field k_table =
    Field::string("table", "heartbeat: the pt-heartbeat table (default heartbeat.heartbeat).");
// Not a table default: check_spec refuses `table` without method heartbeat.
constexpr const char* k_default_heartbeat_table = "heartbeat.heartbeat";
const Field k_write =
    Field::boolean("write", "heartbeat: write a heartbeat on the primary and time its arrival.")
        .defaults_to(false);

using Clock = std::chrono::steady_clock;

// heartbeat with write: true: how often the replica's threads are looked at while waiting.
constexpr auto k_threads_every = std::chrono::milliseconds(50);
// "Access denied; you need (at least one of) the ... privilege(s)": reading the replica status
// without SLAVE MONITOR / REPLICATION CLIENT.
constexpr int k_er_specific_access_denied = 1227;

// The first present column of several names: MariaDB/MySQL 5.7 and MySQL 8.0.22+ differ.
std::optional<std::string> column(const SqlRow& row, std::initializer_list<const char*> names,
                                  bool& present) {
  for (const char* name : names) {
    auto it = row.find(name);
    if (it != row.end()) {
      present = true;
      return it->second;
    }
  }
  present = false;
  return std::nullopt;
}

std::string text(const SqlRow& row, std::initializer_list<const char*> names) {
  return sql_text(row, names);
}

class MysqlOperation : public Operation {
 public:
  explicit MysqlOperation(Spec spec) : m_spec(std::move(spec)) {
    sql_client();
  }  // loaded before the clock starts

  Outcome run(const AttemptContext& ctx) override {
    auto client = sql_client();
    if (!client) return failed(Status::failed, "module", "mysql: " + client.error());
    m_client = *client;
    auto replica_endpoint = endpoint_of(m_spec);
    if (!replica_endpoint) return failed(Status::failed, "config", replica_endpoint.error());
    m_replica_name = "replica " + replica_endpoint->describe();
    std::string method = m_spec.str(k_method);
    if (method == "promotable" || method == "lost") return run_roles(method, *replica_endpoint);
    // The primary's connection (gtid, heartbeat) opens while the replica's does: each costs
    // several round trips to the backup site, and they do not depend on each other.
    if (method != "replica_status") {
      auto primary_endpoint = endpoint_of(m_spec.object(k_primary));
      if (!primary_endpoint) return failed(Status::failed, "config", primary_endpoint.error());
      m_primary_name = "primary " + primary_endpoint->describe();
      m_primary_pending = std::async(std::launch::async, [this, endpoint = *primary_endpoint] {
        return connect(endpoint, m_primary_name);
      });
    }
    auto replica = connect(*replica_endpoint, m_replica_name);
    if (!replica) return replica.error();
    m_replica = std::move(*replica);
    if (method == "gtid") return run_gtid(ctx);
    if (method == "heartbeat") return run_heartbeat(ctx);
    return run_replica_status();
  }

 private:
  // The connection settings of the replica (the spec itself) or of `primary:`.
  tl::expected<SqlEndpoint, std::string> endpoint_of(const Spec& spec) const {
    return mysql_endpoint(spec, m_spec.duration(k_connect_timeout).value(),
                          m_spec.duration(k_read_timeout).value());
  }

  tl::expected<std::unique_ptr<SqlSession>, Outcome> connect(const SqlEndpoint& endpoint,
                                                             const std::string& who) {
    auto session = m_client->connect(endpoint);
    if (!session) {
      const auto& error = session.error();
      return tl::unexpected(sql_failure(
          error, who,
          error.kind == SqlError::Class::auth ? "authentication failed" : "cannot connect"));
    }
    return std::move(*session);
  }

  Outcome query_failed(const std::string& who, const SqlError& error) {
    return sql_failure(error, who, "query failed");
  }

  // The replica's status: SHOW REPLICA STATUS, falling back to SHOW SLAVE STATUS (servers older
  // than MariaDB 10.5.1 / MySQL 8.0.22). An empty result: not a replica.
  tl::expected<std::vector<SqlRow>, SqlError> replica_status_rows() {
    auto rows = m_replica->query("SHOW REPLICA STATUS");
    if (!rows) rows = m_replica->query("SHOW SLAVE STATUS");
    return rows;
  }

  Outcome not_a_replica(Outcome so_far) {
    return failed(std::move(so_far), Status::failed, "not_a_replica",
                  fmt::format("mysql {}: not a replica (replica status is empty)", m_replica_name));
  }

  // The threads' state of a status row into the evidence; the failure if one is not running
  // (`when` says when it was seen, e.g. " while waiting for the heartbeat").
  std::optional<Outcome> stopped(Outcome& outcome, const SqlRow& row, const char* when = "") {
    std::string io = text(row, {"Slave_IO_Running", "Replica_IO_Running"});
    std::string sql = text(row, {"Slave_SQL_Running", "Replica_SQL_Running"});
    outcome.evidence["io_running"] = io;
    outcome.evidence["sql_running"] = sql;
    outcome.evidence["last_io_error"] = text(row, {"Last_IO_Error"});
    outcome.evidence["last_sql_error"] = text(row, {"Last_SQL_Error"});
    if (io == "Yes" && sql == "Yes") return std::nullopt;
    std::string errors;
    if (!text(row, {"Last_IO_Error"}).empty())
      errors += "; IO error: " + one_line(text(row, {"Last_IO_Error"}));
    if (!text(row, {"Last_SQL_Error"}).empty())
      errors += "; SQL error: " + one_line(text(row, {"Last_SQL_Error"}));
    return failed(outcome, Status::failed, "stopped",
                  fmt::format("mysql {}: replication stopped{}: IO={} SQL={}{}", m_replica_name,
                              when, io, sql, errors));
  }

  Outcome run_replica_status() {
    auto rows = replica_status_rows();
    if (!rows) return query_failed(m_replica_name, rows.error());
    Outcome outcome;
    outcome.changed = Changed::no;
    if (rows->empty()) return not_a_replica(outcome);
    const SqlRow& row = rows->front();
    bool lag_present = false;
    auto lag = column(row, {"Seconds_Behind_Master", "Seconds_Behind_Source"}, lag_present);
    outcome.evidence["seconds_behind"] =
        lag ? nlohmann::json(std::stoll(*lag)) : nlohmann::json(nullptr);
    outcome.evidence["source_host"] = text(row, {"Master_Host", "Source_Host"});
    outcome.evidence["gtid_io_pos"] = text(row, {"Gtid_IO_Pos", "Retrieved_Gtid_Set"});
    outcome.evidence["resolution_ms"] = 1000;
    if (auto failure = stopped(outcome, row)) return *failure;
    if (!lag) {
      // NULL is "unknown", never 0: the classic shell check passes exactly here.
      return failed(
          outcome, Status::failed, "lag_unknown",
          fmt::format("mysql {}: lag unknown (Seconds_Behind_Master is NULL)", m_replica_name));
    }
    long long lag_ms = std::stoll(*lag) * 1000;
    outcome.evidence["lag_ms"] = lag_ms;
    outcome.outputs["lag_ms"] = std::to_string(lag_ms);
    long long max_ms = m_spec.duration(k_max_lag).value_or(Millis(0)).count();
    std::string summary = fmt::format("mysql {}: lag {} ms (1 s resolution), max {} ms",
                                      m_replica_name, lag_ms, max_ms);
    if (lag_ms > max_ms) return failed(outcome, Status::failed, "lagging", summary);
    if (max_ms < 1000)
      outcome.warnings.push_back(
          "replica_status measures whole seconds; max_lag under 1s needs method: heartbeat or "
          "gtid");
    outcome.status = Status::ok;
    outcome.message = summary;
    return outcome;
  }

  // promotable and lost: both servers as MysqlServers, opened at once.
  Outcome run_roles(const std::string& method, const SqlEndpoint& replica_endpoint) {
    auto primary_endpoint = endpoint_of(m_spec.object(k_primary));
    if (!primary_endpoint) return failed(Status::failed, "config", primary_endpoint.error());
    bool lost = method == "lost";
    auto pending = std::async(std::launch::async, [&] {
      return MysqlServer::open(*m_client, *primary_endpoint, lost ? "old primary" : "primary");
    });
    auto replica = MysqlServer::open(*m_client, replica_endpoint, lost ? "new primary" : "replica");
    auto primary = pending.get();
    if (!primary) return primary.error();
    if (!replica) return replica.error();
    if (lost) return lost_transactions(**primary, **replica);
    PromotionLimits limits{m_spec.duration(k_max_lag), m_spec.duration(k_max_long_transaction),
                           true};
    return promotion_readiness(**primary, **replica, limits);
  }

  // The primary's session, opened concurrently by run().
  tl::expected<std::unique_ptr<SqlSession>, Outcome> connect_primary() {
    return m_primary_pending.get();
  }

  tl::expected<std::string, Outcome> scalar(SqlSession& session, const std::string& who,
                                            const std::string& sql) {
    auto rows = session.query(sql);
    if (!rows) return tl::unexpected(query_failed(who, rows.error()));
    if (rows->empty() || rows->front().empty() || !rows->front().begin()->second)
      return std::string();
    return *rows->front().begin()->second;
  }

  Outcome run_gtid(const AttemptContext& ctx) {
    auto primary = connect_primary();
    if (!primary) return primary.error();
    auto version = scalar(**primary, m_primary_name, "SELECT VERSION()");
    if (!version) return version.error();
    bool mariadb = version->find("MariaDB") != std::string::npos;
    auto primary_pos = scalar(**primary, m_primary_name,
                              mariadb ? "SELECT @@gtid_binlog_pos" : "SELECT @@gtid_executed");
    if (!primary_pos) return primary_pos.error();
    Outcome outcome;
    outcome.changed = Changed::no;
    outcome.evidence["primary_gtid"] = *primary_pos;
    auto start = Clock::now();
    if (auto wait = m_spec.duration(k_wait)) {
      double seconds = std::min<double>(wait->count(), ctx.remaining().count()) / 1000.0;
      std::string sql =
          mariadb ? fmt::format("SELECT MASTER_GTID_WAIT('{}', {:.3f})", *primary_pos, seconds)
                  : fmt::format("SELECT WAIT_FOR_EXECUTED_GTID_SET('{}', {:.3f})", *primary_pos,
                                seconds);
      auto waited = scalar(*m_replica, m_replica_name, sql);
      if (!waited) return waited.error();
      outcome.evidence["waited_ms"] = ms_between(start, Clock::now());
    }
    auto replica_pos = scalar(*m_replica, m_replica_name,
                              mariadb ? "SELECT @@gtid_slave_pos" : "SELECT @@gtid_executed");
    if (!replica_pos) return replica_pos.error();
    outcome.evidence["replica_gtid"] = *replica_pos;
    bool caught_up = true;
    std::vector<std::string> behind;
    if (mariadb) {
      auto want = parse_mariadb_gtid(*primary_pos);
      auto have = parse_mariadb_gtid(*replica_pos);
      if (!want || !have) {
        return failed(outcome, Status::invalid_answer, "bad_gtid",
                      fmt::format("mysql: cannot read the GTID position '{}'",
                                  !want ? *primary_pos : *replica_pos));
      }
      for (const auto& lag : gtid_behind(*want, *have)) {
        caught_up = false;
        behind.push_back(fmt::format("domain {}: {} < {} ({} transactions)", lag.domain, lag.have,
                                     lag.want, lag.want - lag.have));
      }
    } else {
      auto subset =
          scalar(*m_replica, m_replica_name,
                 fmt::format("SELECT GTID_SUBSET('{}', '{}')", *primary_pos, *replica_pos));
      if (!subset) return subset.error();
      caught_up = *subset == "1";
      if (!caught_up)
        behind.push_back("the primary's executed set is not a subset of the replica's");
    }
    outcome.evidence["caught_up"] = caught_up;
    double catch_up_ms = ms_between(start, Clock::now());
    outcome.outputs["catch_up_ms"] = fmt::format("{:.1f}", catch_up_ms);
    if (!caught_up) {
      return failed(
          outcome, Status::failed, "behind",
          fmt::format("mysql {}: behind the primary: {}", m_replica_name, join(behind, "; ")));
    }
    outcome.status = Status::ok;
    outcome.message =
        fmt::format("mysql {}: has every transaction of the {} (gtid {}){}", m_replica_name,
                    m_primary_name, *primary_pos,
                    m_spec.has(k_wait) ? fmt::format(", caught up in {:.1f} ms", catch_up_ms) : "");
    return outcome;
  }

  Outcome run_heartbeat(const AttemptContext& ctx) {
    const std::string table = m_spec.has(k_table) ? m_spec.str(k_table) : k_default_heartbeat_table;
    long long max_ms = m_spec.duration(k_max_lag).value_or(Millis(0)).count();
    auto primary = connect_primary();
    if (!primary) return primary.error();
    Outcome outcome;
    outcome.changed = Changed::no;
    outcome.evidence["table"] = table;
    auto server_id = scalar(**primary, m_primary_name, "SELECT @@server_id");
    if (!server_id) return server_id.error();
    // A stopped thread fails at once with its cause: no heartbeat can arrive, and an old row
    // would still look fresh for a while.
    if (auto failure = watch_threads(outcome, "")) return *failure;

    if (m_spec.boolean(k_write)) {
      // Write a fresh heartbeat on the primary and time its arrival on the replica, both on
      // this host's monotonic clock: a direct RPO measurement that no clock skew can distort.
      auto wrote = (*primary)->execute(
          fmt::format("REPLACE INTO {} (ts, server_id) VALUES (DATE_FORMAT(NOW(6), "
                      "'%Y-%m-%dT%H:%i:%s.%f'), @@server_id)",
                      table));
      auto written_at = Clock::now();
      if (!wrote) return query_failed(m_primary_name, wrote.error());
      auto marker =
          scalar(**primary, m_primary_name,
                 fmt::format("SELECT ts FROM {} WHERE server_id = {}", table, *server_id));
      if (!marker) return marker.error();
      outcome.evidence["marker"] = *marker;
      outcome.changed = Changed::yes;  // a heartbeat row, as pt-heartbeat writes
      auto threads_seen = Clock::now();
      while (true) {
        auto seen =
            scalar(*m_replica, m_replica_name,
                   fmt::format("SELECT ts FROM {} WHERE server_id = {}", table, *server_id));
        if (!seen) return seen.error();
        if (*seen >= *marker) break;
        if (ctx.expired() || ctx.cancelled()) {
          return failed(
              outcome, Status::timeout, "not_replicated",
              fmt::format("mysql {}: the heartbeat written on the {} did not arrive within {:.0f} "
                          "ms{}",
                          m_replica_name, m_primary_name, ms_between(written_at, Clock::now()),
                          m_status_readable ? replica_progress() : ""));
        }
        if (Clock::now() - threads_seen >= k_threads_every) {
          if (auto failure = watch_threads(outcome, " while waiting for the heartbeat"))
            return *failure;
          threads_seen = Clock::now();
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(2));
      }
      double lag_ms = ms_between(written_at, Clock::now());
      return lag_verdict(outcome, lag_ms, max_ms, "heartbeat written now");
    }

    // Read mode: the primary's pt-heartbeat row as the replica has it, against the primary's
    // clock. That needs the two clocks' skew: round-trip-corrected NOW(6) on each.
    auto offset = [&](SqlSession& session,
                      const std::string& who) -> tl::expected<double, Outcome> {
      auto before = std::chrono::system_clock::now();
      auto now = scalar(session, who, "SELECT UNIX_TIMESTAMP(NOW(6))");
      auto after = std::chrono::system_clock::now();
      if (!now) return tl::unexpected(now.error());
      double local_mid =
          std::chrono::duration<double>((before + (after - before) / 2).time_since_epoch()).count();
      return (std::stod(*now) - local_mid) * 1000.0;
    };
    auto primary_offset = offset(**primary, m_primary_name);
    if (!primary_offset) return primary_offset.error();
    auto replica_offset = offset(*m_replica, m_replica_name);
    if (!replica_offset) return replica_offset.error();
    double skew_ms = *primary_offset - *replica_offset;
    outcome.evidence["clock_skew_ms"] = skew_ms;
    if (std::abs(skew_ms) > max_ms / 4.0) {
      return failed(outcome, Status::failed, "clock_skew",
                    fmt::format("mysql {}: clock skew {:.1f} ms between primary and replica is "
                                "over a quarter of max_lag ({} ms): "
                                "lag cannot be measured by timestamps (use write: true)",
                                m_replica_name, skew_ms, max_ms));
    }
    auto rows = m_replica->query(
        fmt::format("SELECT UNIX_TIMESTAMP(NOW(6)) - UNIX_TIMESTAMP(STR_TO_DATE(ts, "
                    "'%Y-%m-%dT%H:%i:%s.%f')) AS age FROM {} WHERE server_id = {}",
                    table, *server_id));
    if (!rows) return query_failed(m_replica_name, rows.error());
    if (rows->empty() || !rows->front().at("age")) {
      return failed(
          outcome, Status::failed, "no_heartbeat",
          fmt::format(
              "mysql {}: no heartbeat row for server_id {} in {} (is pt-heartbeat running?)",
              m_replica_name, *server_id, table));
    }
    double lag_ms = std::stod(*rows->front().at("age")) * 1000.0 + skew_ms;
    return lag_verdict(outcome, lag_ms, max_ms, "heartbeat age");
  }

  // heartbeat: the replica's threads, read before the heartbeat is looked at and every
  // k_threads_every while it is awaited. A user without the privilege to read the replica's
  // status (SLAVE MONITOR) gets a warning once and the old behaviour: the wait until the timeout.
  std::optional<Outcome> watch_threads(Outcome& outcome, const char* when) {
    if (!m_status_readable) return std::nullopt;
    auto rows = replica_status_rows();
    if (!rows) {
      if (rows.error().code != k_er_specific_access_denied)
        return query_failed(m_replica_name, rows.error());
      m_status_readable = false;
      outcome.warnings.push_back(fmt::format(
          "cannot read the replica's status ({}: {}): grant SLAVE MONITOR (REPLICATION CLIENT on "
          "MySQL) so that a stopped replication thread fails the check at once instead of at its "
          "timeout",
          rows.error().code, one_line(rows.error().message)));
      return std::nullopt;
    }
    if (rows->empty()) return not_a_replica(outcome);
    return stopped(outcome, rows->front(), when);
  }

  // Why a heartbeat may be late although both threads run: " (replica threads running, SQL_Delay
  // 2 s, Seconds_Behind_Master 1, SQL thread: Waiting until MASTER_DELAY ...)".
  std::string replica_progress() {
    auto rows = replica_status_rows();
    if (!rows || rows->empty()) return "";
    const SqlRow& row = rows->front();
    std::vector<std::string> parts = {
        fmt::format("IO={} SQL={}", text(row, {"Slave_IO_Running", "Replica_IO_Running"}),
                    text(row, {"Slave_SQL_Running", "Replica_SQL_Running"}))};
    std::string delay = text(row, {"SQL_Delay"});
    if (!delay.empty() && delay != "0") parts.push_back(fmt::format("SQL_Delay {} s", delay));
    bool present = false;
    auto behind = column(row, {"Seconds_Behind_Master", "Seconds_Behind_Source"}, present);
    if (present) parts.push_back(fmt::format("Seconds_Behind_Master {}", behind.value_or("NULL")));
    std::string state = text(row, {"Slave_SQL_Running_State", "Replica_SQL_Running_State"});
    if (!state.empty()) parts.push_back("SQL thread: " + one_line(state));
    return " (replica: " + join(parts, ", ") + ")";
  }

  Outcome lag_verdict(Outcome outcome, double lag_ms, long long max_ms, const char* how) {
    outcome.evidence["lag_ms"] = lag_ms;
    outcome.outputs["lag_ms"] = fmt::format("{:.1f}", lag_ms);
    std::string summary =
        fmt::format("mysql {}: lag {:.1f} ms ({}), max {} ms", m_replica_name, lag_ms, how, max_ms);
    if (lag_ms > static_cast<double>(max_ms))
      return failed(outcome, Status::failed, "lagging", summary);
    outcome.status = Status::ok;
    outcome.message = summary;
    return outcome;
  }

  Spec m_spec;
  SqlClient* m_client = nullptr;
  std::unique_ptr<SqlSession> m_replica;
  std::string m_replica_name;
  std::string m_primary_name;
  std::future<tl::expected<std::unique_ptr<SqlSession>, Outcome>> m_primary_pending;
  bool m_status_readable = true;  // heartbeat: false once the replica's status was refused
};

class MysqlKind : public Kind {
 public:
  std::string_view name() const override { return "mysql"; }
  std::string_view summary() const override {
    return "The replica is replicating with lag under max_lag (MariaDB or MySQL).";
  }
  bool allowed_as(Role role) const override { return role == Role::check; }
  const Fields& fields() const override {
    static const Fields fields = with_fields(
        mysql_connection_fields(), {k_method, k_max_lag, k_connect_timeout, k_read_timeout,
                                    k_primary, k_wait, k_table, k_write, k_max_long_transaction});
    return fields;
  }
  std::vector<std::string> outputs() const override { return {"lag_ms", "catch_up_ms", "lost"}; }
  std::vector<SpecProblem> check_spec(const Spec& spec) const override {
    std::vector<SpecProblem> problems;
    std::string method = spec.str(k_method);
    if (spec.has(k_mysql_password_env) && spec.has(k_mysql_password_file))
      problems.push_back(
          {k_mysql_password_file.name, "give password_env or password_file, not both"});
    bool roles = method == "promotable" || method == "lost";
    if (method != "gtid" && !roles && !spec.has(k_max_lag))
      problems.push_back({"", fmt::format("method {} needs max_lag", method)});
    if (method != "replica_status" && !spec.has(k_primary))
      problems.push_back({"", fmt::format("method {} needs primary: {{...}}", method)});
    if (method != "gtid" && spec.has(k_wait))
      problems.push_back({k_wait.name, "wait goes with method: gtid"});
    if (method != "heartbeat" && (spec.has(k_table) || spec.boolean(k_write)))
      problems.push_back({"", "table and write go with method: heartbeat"});
    if (method != "promotable" && spec.has(k_max_long_transaction))
      problems.push_back(
          {k_max_long_transaction.name, "max_long_transaction goes with method: promotable"});
    if (method == "lost" && spec.has(k_max_lag))
      problems.push_back({k_max_lag.name, "method lost measures no lag"});
    if (spec.has(k_table)) {
      for (char c : spec.str(k_table)) {
        if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_' && c != '.') {
          problems.push_back({k_table.name, "a table name of letters, digits, '_' and one '.'"});
          break;
        }
      }
    }
    return problems;
  }
  std::string target(const Spec& spec) const override { return mysql_target(spec); }
  std::string describe(const Spec& spec) const override {
    std::string method = spec.str(k_method);
    if (method == "promotable") {
      return fmt::format("check that {} may be promoted in place of {}", target(spec),
                         mysql_target(spec.object(k_primary)));
    }
    if (method == "lost") {
      return fmt::format("name what {} has that {} lacks, and keep it read-only",
                         mysql_target(spec.object(k_primary)), target(spec));
    }
    return fmt::format("measure replication lag of {} by {}", target(spec), method);
  }
  bool mutates(const Spec&) const override { return false; }
  // write: true writes a heartbeat row on the primary (changing nothing anyone relies on);
  // method lost sets an old primary read-only when it is writable.
  bool writes(const Spec& spec) const override {
    return spec.boolean(k_write) || spec.str(k_method) == "lost";
  }
  std::unique_ptr<Operation> prepare(const Spec& spec) const override {
    return std::make_unique<MysqlOperation>(spec);
  }
};

}  // namespace

std::unique_ptr<Kind> make_mysql_kind() {
  return std::make_unique<MysqlKind>();
}

}  // namespace drctl
