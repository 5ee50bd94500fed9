#pragma once
// A minimal SQL session (MySQL/MariaDB protocol). The implementation lives in the mysql module
// (lib/modules/mysql_module.cpp, mysql-connector-c++), loaded on first use.
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <tl/expected.hpp>
#include <vector>

#include "util/duration.hpp"

namespace drctl {

struct SqlEndpoint {
  std::string host = "127.0.0.1";
  int port = 3306;
  std::string socket;  // used instead of host:port when set
  std::string user;
  std::string password;  // already read from its *_env / *_file; never printed
  Millis connect_timeout{5'000};
  Millis read_timeout{5'000};
  std::string ca, cert, key;  // TLS (PEM files)

  std::string describe() const {
    return socket.empty() ? host + ":" + std::to_string(port) : socket;
  }
};

// One row: column name -> value, nullopt for SQL NULL.
using SqlRow = std::map<std::string, std::optional<std::string>>;

struct SqlError {
  enum class Class { refused, timeout, auth, query, other };
  Class kind = Class::other;
  int code = 0;  // the server's or client's error number (2002, 2013, 1045, ...)
  std::string message;
};

class SqlSession {
 public:
  virtual ~SqlSession() = default;
  virtual tl::expected<std::vector<SqlRow>, SqlError> query(const std::string& sql) = 0;
  virtual tl::expected<void, SqlError> execute(const std::string& sql) = 0;
};

class SqlClient {
 public:
  virtual ~SqlClient() = default;
  virtual tl::expected<std::unique_ptr<SqlSession>, SqlError> connect(
      const SqlEndpoint& endpoint) = 0;
};

// The module's client; an error when the module cannot be loaded.
tl::expected<SqlClient*, std::string> sql_client();

}  // namespace drctl
