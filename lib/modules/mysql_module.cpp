// The mysql module (drctl-mysql.so): SQL sessions over mysql-connector-c++ (Debian's
// libmysqlcppconn, legacy API), loaded by the core on first use.
#include <cppconn/exception.h>
#include <cppconn/resultset.h>
#include <cppconn/resultset_metadata.h>
#include <cppconn/statement.h>
#include <mysql_connection.h>
#include <mysql_driver.h>

#include <mutex>

#include "clients/sql.hpp"

namespace drctl {
namespace {

SqlError error_of(const sql::SQLException& e) {
  SqlError error;
  error.code = e.getErrorCode();
  error.message = e.what();
  switch (error.code) {
    case 2002:  // can't connect through socket / to host
    case 2003:
    case 2005:  // unknown host
      error.kind = SqlError::Class::refused;
      break;
    case 2013:  // lost connection (read timeout, or the peer never answered the handshake)
    case 2006:
      error.kind = SqlError::Class::timeout;
      break;
    case 1045:  // access denied
    case 1044:
    case 1698:
      error.kind = SqlError::Class::auth;
      break;
    default:
      error.kind =
          error.code >= 1000 && error.code < 2000 ? SqlError::Class::query : SqlError::Class::other;
  }
  return error;
}

int whole_seconds(Millis value) {
  return std::max<int>(1, static_cast<int>((value.count() + 999) / 1000));
}

class ConnectorSession : public SqlSession {
 public:
  explicit ConnectorSession(std::unique_ptr<sql::Connection> connection)
      : m_connection(std::move(connection)) {}

  tl::expected<std::vector<SqlRow>, SqlError> query(const std::string& text) override {
    try {
      std::unique_ptr<sql::Statement> statement(m_connection->createStatement());
      std::unique_ptr<sql::ResultSet> result(statement->executeQuery(text));
      std::vector<SqlRow> rows;
      sql::ResultSetMetaData* meta = result->getMetaData();
      unsigned int columns = meta->getColumnCount();
      while (result->next()) {
        SqlRow row;
        for (unsigned int c = 1; c <= columns; ++c) {
          std::string name = meta->getColumnLabel(c);
          row[name] = result->isNull(c)
                          ? std::nullopt
                          : std::optional<std::string>(std::string(result->getString(c)));
        }
        rows.push_back(std::move(row));
      }
      return rows;
    } catch (const sql::SQLException& e) {
      return tl::unexpected(error_of(e));
    }
  }

  tl::expected<void, SqlError> execute(const std::string& text) override {
    try {
      std::unique_ptr<sql::Statement> statement(m_connection->createStatement());
      statement->execute(text);
      return {};
    } catch (const sql::SQLException& e) {
      return tl::unexpected(error_of(e));
    }
  }

 private:
  std::unique_ptr<sql::Connection> m_connection;
};

class ConnectorClient : public SqlClient {
 public:
  tl::expected<std::unique_ptr<SqlSession>, SqlError> connect(
      const SqlEndpoint& endpoint) override {
    sql::ConnectOptionsMap options;
    if (!endpoint.socket.empty()) {
      options["hostName"] = sql::SQLString("localhost");
      options["socket"] = sql::SQLString(endpoint.socket);
    } else {
      options["hostName"] = sql::SQLString(endpoint.host);
      options["port"] = endpoint.port;
    }
    options["userName"] = sql::SQLString(endpoint.user);
    options["password"] = sql::SQLString(endpoint.password);
    // The connector takes whole seconds: a sub-second deadline rounds up to 1 s.
    options["OPT_CONNECT_TIMEOUT"] = whole_seconds(endpoint.connect_timeout);
    options["OPT_READ_TIMEOUT"] = whole_seconds(endpoint.read_timeout);
    options["OPT_WRITE_TIMEOUT"] = whole_seconds(endpoint.read_timeout);
    if (!endpoint.ca.empty()) options["sslCA"] = sql::SQLString(endpoint.ca);
    if (!endpoint.cert.empty()) options["sslCert"] = sql::SQLString(endpoint.cert);
    if (!endpoint.key.empty()) options["sslKey"] = sql::SQLString(endpoint.key);
    try {
      sql::mysql::MySQL_Driver* driver = nullptr;
      {
        // get_mysql_driver_instance() is not safe to race; checks may run concurrently.
        static std::mutex mutex;
        std::lock_guard lock(mutex);
        driver = sql::mysql::get_mysql_driver_instance();
        driver->threadInit();
      }
      std::unique_ptr<sql::Connection> connection(driver->connect(options));
      return std::make_unique<ConnectorSession>(std::move(connection));
    } catch (const sql::SQLException& e) {
      return tl::unexpected(error_of(e));
    }
  }
};

}  // namespace
}  // namespace drctl

extern "C" drctl::SqlClient* drctl_sql_client_v1() {
  static drctl::ConnectorClient client;
  return &client;
}
