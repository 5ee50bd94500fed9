#pragma once
// One MySQL/MariaDB server as the mysql kinds see it: the connection keys they share, a session
// whose every failure is already an Outcome naming the server, and the statements whose text
// differs between MariaDB and MySQL 8.
#include <memory>
#include <optional>
#include <string>
#include <tl/expected.hpp>
#include <vector>

#include "clients/sql.hpp"
#include "core/field.hpp"
#include "core/outcome.hpp"
#include "core/spec.hpp"
#include "kinds/gtid.hpp"
#include "kinds/tls_fields.hpp"

namespace drctl {

// A server's connection keys. Inline, so that the kinds' own namespace-scope Fields may be
// built from them (they are initialized first, as in tls_fields.hpp).
inline const Field k_mysql_host = Field::string("host", "Server host.").defaults_to("127.0.0.1");
inline const Field k_mysql_port =
    Field::integer("port", "Server port.").range(1, 65535).defaults_to(3306);
inline const Field k_mysql_socket =
    Field::string("socket", "Unix socket, instead of host and port.");
inline const Field k_mysql_user = Field::string("user", "User name.").mandatory();
inline const Field k_mysql_password_env =
    Field::string("password_env", "Environment variable holding the password.");
inline const Field k_mysql_password_file =
    Field::string("password_file", "File holding the password.");

// host, port, socket, user, password_env, password_file and TLS.
inline Fields mysql_connection_fields() {
  return with_fields({k_mysql_host, k_mysql_port, k_mysql_socket, k_mysql_user,
                      k_mysql_password_env, k_mysql_password_file},
                     tls_client_fields(false));
}

// The endpoint a connection spec names, its password read from its *_env or *_file.
tl::expected<SqlEndpoint, std::string> mysql_endpoint(const Spec& connection,
                                                      Millis connect_timeout, Millis read_timeout);
// "127.0.0.1:3306" or the socket: a connection spec's target for plans.
std::string mysql_target(const Spec& connection);

// An SqlError as an outcome: refused -> unreachable, timeout -> timeout, else failed; the
// message names the server (`who`: "primary 127.0.0.1:3306") and the server's error text,
// which for a missing privilege names it ("you need ... the READ_ONLY ADMIN privilege").
Outcome sql_failure(const SqlError& error, const std::string& who, const std::string& doing);

// A string literal for SQL text: quoted, quotes and backslashes escaped.
std::string sql_literal(const std::string& text);

// The first present column of several names (MariaDB/MySQL 5.7 and MySQL 8.0.22+ differ);
// "" when absent or NULL.
std::string sql_text(const SqlRow& row, std::initializer_list<const char*> names);

// A connected server. Every call returns its failure as an Outcome (changed: no) that names
// the server.
class MysqlServer {
 public:
  static tl::expected<std::unique_ptr<MysqlServer>, Outcome> open(SqlClient& client,
                                                                  const SqlEndpoint& endpoint,
                                                                  std::string role);

  const std::string& name() const { return m_name; }  // "primary 127.0.0.1:3306"
  const SqlEndpoint& endpoint() const { return m_endpoint; }
  bool mariadb() const { return m_mariadb; }
  long long connection_id() const { return m_connection_id; }
  SqlSession& session() { return *m_session; }

  tl::expected<std::vector<SqlRow>, Outcome> rows(const std::string& sql);
  tl::expected<std::string, Outcome> scalar(const std::string& sql);  // "" for no row or NULL
  tl::expected<void, Outcome> exec(const std::string& sql);
  // exec for a statement that carries a secret: a failure gives the server's error code and
  // `what`, never the server's message (which may quote the statement).
  tl::expected<void, Outcome> exec_secret(const std::string& sql, const std::string& what);

  // SHOW REPLICA STATUS (or SHOW SLAVE STATUS); nullopt when it is not a replica.
  tl::expected<std::optional<SqlRow>, Outcome> replica_status();
  // @@read_only (MariaDB) / @@super_read_only (MySQL) as a bool.
  tl::expected<bool, Outcome> read_only();
  const char* read_only_variable() const { return m_mariadb ? "read_only" : "super_read_only"; }
  // The transactions it has executed: MariaDB @@gtid_binlog_state (per domain and server),
  // MySQL @@gtid_executed (a set, as text).
  tl::expected<std::string, Outcome> executed_gtids();
  // The last transaction it wrote to its binlog per domain (MariaDB @@gtid_binlog_pos), or
  // @@gtid_executed (MySQL): a primary's position.
  tl::expected<std::string, Outcome> written_position();
  // The last transaction it applied from its source per domain (MariaDB @@gtid_slave_pos), or
  // @@gtid_executed (MySQL): a replica's position.
  tl::expected<std::string, Outcome> applied_position();
  long long server_id() const { return m_server_id; }

 private:
  MysqlServer() = default;
  tl::expected<std::string, Outcome> position(const std::string& sql);  // one line
  std::unique_ptr<SqlSession> m_session;
  SqlEndpoint m_endpoint;
  std::string m_name;
  bool m_mariadb = true;
  long long m_connection_id = 0;
  long long m_server_id = 0;
};

// Parses a MariaDB GTID list, or fails naming the server and the text.
tl::expected<std::vector<Gtid>, Outcome> gtid_list(const MysqlServer& server,
                                                   const std::string& text);

}  // namespace drctl
