#include "kinds/mysql_server.hpp"

#include <fmt/format.h>

#include "kinds/failure.hpp"
#include "util/strings.hpp"

namespace drctl {
namespace {

Status status_of(const SqlError& error) {
  switch (error.kind) {
    case SqlError::Class::refused:
      return Status::unreachable;
    case SqlError::Class::timeout:
      return Status::timeout;
    default:
      return Status::failed;
  }
}

long long whole_number(const std::string& text) {
  try {
    return text.empty() ? 0 : std::stoll(text);
  } catch (const std::exception&) {
    return 0;
  }
}

const char* class_name(const SqlError& error) {
  switch (error.kind) {
    case SqlError::Class::refused:
      return "refused";
    case SqlError::Class::timeout:
      return "timeout";
    case SqlError::Class::auth:
      return "auth";
    case SqlError::Class::query:
      return "query";
    default:
      return "other";
  }
}

}  // namespace

tl::expected<SqlEndpoint, std::string> mysql_endpoint(const Spec& spec, Millis connect_timeout,
                                                      Millis read_timeout) {
  SqlEndpoint e;
  e.host = spec.str(k_mysql_host);
  e.port = static_cast<int>(spec.integer(k_mysql_port));
  e.socket = spec.str(k_mysql_socket);
  e.user = spec.str(k_mysql_user);
  e.ca = spec.str(k_tls_ca);
  e.cert = spec.str(k_tls_cert);
  e.key = spec.str(k_tls_key);
  e.connect_timeout = connect_timeout;
  e.read_timeout = read_timeout;
  auto password = spec.secret("password");
  if (!password)
    return tl::unexpected(fmt::format("mysql {}: password: {}", e.describe(), password.error()));
  e.password = *password;
  return e;
}

std::string mysql_target(const Spec& spec) {
  return spec.has(k_mysql_socket)
             ? spec.str(k_mysql_socket)
             : fmt::format("{}:{}", spec.str(k_mysql_host), spec.integer(k_mysql_port));
}

Outcome sql_failure(const SqlError& error, const std::string& who, const std::string& doing) {
  return failed(
      status_of(error), class_name(error),
      fmt::format("mysql {}: {} ({}): {}", who, doing, error.code, one_line(error.message)));
}

std::string sql_literal(const std::string& text) {
  std::string out = "'";
  for (char c : text) {
    if (c == '\'' || c == '\\') out += '\\';
    out += c;
  }
  return out + "'";
}

std::string sql_text(const SqlRow& row, std::initializer_list<const char*> names) {
  for (const char* name : names) {
    auto it = row.find(name);
    if (it != row.end()) return it->second.value_or("");
  }
  return "";
}

tl::expected<std::unique_ptr<MysqlServer>, Outcome> MysqlServer::open(SqlClient& client,
                                                                      const SqlEndpoint& endpoint,
                                                                      std::string role) {
  std::unique_ptr<MysqlServer> server(new MysqlServer());
  server->m_endpoint = endpoint;
  server->m_endpoint.password.clear();  // kept by the session only
  server->m_name = role + " " + endpoint.describe();
  auto session = client.connect(endpoint);
  if (!session) {
    const auto& error = session.error();
    return tl::unexpected(sql_failure(
        error, server->m_name,
        error.kind == SqlError::Class::auth ? "authentication failed" : "cannot connect"));
  }
  server->m_session = std::move(*session);
  auto rows = server->rows("SELECT VERSION() AS v, CONNECTION_ID() AS id, @@server_id AS sid");
  if (!rows) return tl::unexpected(rows.error());
  if (rows->empty()) {
    return tl::unexpected(failed(Status::invalid_answer, "bad_answer",
                                 "mysql " + server->m_name + ": no answer to SELECT VERSION()"));
  }
  server->m_mariadb = sql_text(rows->front(), {"v"}).find("MariaDB") != std::string::npos;
  server->m_connection_id = whole_number(sql_text(rows->front(), {"id"}));
  server->m_server_id = whole_number(sql_text(rows->front(), {"sid"}));
  // String literals are escaped with backslashes (sql_literal): a server whose sql_mode has
  // NO_BACKSLASH_ESCAPES would end a password's literal at its first quote.
  if (auto plain = server->exec("SET SESSION sql_mode = REPLACE(@@sql_mode, "
                                "'NO_BACKSLASH_ESCAPES', '')");
      !plain)
    return tl::unexpected(plain.error());
  return server;
}

tl::expected<std::vector<SqlRow>, Outcome> MysqlServer::rows(const std::string& sql) {
  auto rows = m_session->query(sql);
  if (!rows) return tl::unexpected(sql_failure(rows.error(), m_name, "query failed"));
  return std::move(*rows);
}

tl::expected<std::string, Outcome> MysqlServer::scalar(const std::string& sql) {
  auto rows = this->rows(sql);
  if (!rows) return tl::unexpected(rows.error());
  if (rows->empty() || rows->front().empty() || !rows->front().begin()->second) return "";
  return *rows->front().begin()->second;
}

tl::expected<void, Outcome> MysqlServer::exec_secret(const std::string& sql,
                                                     const std::string& what) {
  auto done = m_session->execute(sql);
  if (done) return {};
  // The server's message may quote the statement, password included: only its code.
  SqlError error = done.error();
  error.message = "the server's message is withheld: the statement carries a password";
  return tl::unexpected(sql_failure(error, m_name, what + " failed"));
}

tl::expected<void, Outcome> MysqlServer::exec(const std::string& sql) {
  auto done = m_session->execute(sql);
  if (!done) {
    // The statement's verb names what failed: "SET GLOBAL read_only=1 failed (1227): ...".
    std::string verb = sql.substr(0, std::min<std::size_t>(sql.find_first_of("(='"), 40));
    return tl::unexpected(sql_failure(done.error(), m_name, trim(verb) + " failed"));
  }
  return {};
}

tl::expected<std::optional<SqlRow>, Outcome> MysqlServer::replica_status() {
  auto rows = m_session->query("SHOW REPLICA STATUS");
  if (!rows) rows = m_session->query("SHOW SLAVE STATUS");
  if (!rows) return tl::unexpected(sql_failure(rows.error(), m_name, "reading replica status"));
  if (rows->empty()) return std::nullopt;
  return rows->front();
}

tl::expected<bool, Outcome> MysqlServer::read_only() {
  auto value = scalar(fmt::format("SELECT @@global.{}", read_only_variable()));
  if (!value) return tl::unexpected(value.error());
  return *value == "1" || *value == "ON";
}

tl::expected<std::string, Outcome> MysqlServer::executed_gtids() {
  if (!m_mariadb) return position("SELECT @@global.gtid_executed");
  // A replica without log_slave_updates has applied transactions that are not in its binlog:
  // its slave position names them.
  auto rows = this->rows("SELECT @@global.gtid_binlog_state AS b, @@global.gtid_slave_pos AS s");
  if (!rows) return tl::unexpected(rows.error());
  if (rows->empty()) return "";
  std::string binlog = one_line(sql_text(rows->front(), {"b"}));
  std::string slave = one_line(sql_text(rows->front(), {"s"}));
  return binlog.empty() ? slave : slave.empty() ? binlog : binlog + "," + slave;
}

tl::expected<std::string, Outcome> MysqlServer::written_position() {
  return position(m_mariadb ? "SELECT @@global.gtid_binlog_pos" : "SELECT @@global.gtid_executed");
}

tl::expected<std::string, Outcome> MysqlServer::applied_position() {
  return position(m_mariadb ? "SELECT @@global.gtid_slave_pos" : "SELECT @@global.gtid_executed");
}

tl::expected<std::string, Outcome> MysqlServer::position(const std::string& sql) {
  // Long sets come with newlines (MySQL's gtid_executed): messages stay one line.
  auto text = scalar(sql);
  if (!text) return text;
  std::string flat;
  for (char c : *text) {
    if (c != '\n' && c != '\r') flat += c;
  }
  return flat;
}

tl::expected<std::vector<Gtid>, Outcome> gtid_list(const MysqlServer& server,
                                                   const std::string& text) {
  auto list = parse_gtid_list(text);
  if (!list) {
    return tl::unexpected(failed(Status::invalid_answer, "bad_gtid",
                                 fmt::format("mysql {}: cannot read the GTID list '{}'",
                                             server.name(), text.substr(0, 200))));
  }
  return *list;
}

}  // namespace drctl
