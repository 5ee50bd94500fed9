#include "order_store.hpp"

#include <cppconn/exception.h>
#include <cppconn/prepared_statement.h>
#include <cppconn/resultset.h>
#include <cppconn/statement.h>
#include <mysql_connection.h>
#include <mysql_driver.h>

#include <chrono>
#include <iostream>
#include <memory>
#include <mutex>
#include <utility>

namespace {

sql::mysql::MySQL_Driver* driver() {
  // get_mysql_driver_instance() is not safe to race, and every worker's first request calls it.
  static std::mutex mutex;
  std::lock_guard lock(mutex);
  return sql::mysql::get_mysql_driver_instance();
}

// The calling thread's connection: httplib runs each request on one of its pool's threads.
struct ThreadConnection {
  const void* owner = nullptr;
  bool thread_initialised = false;
  std::unique_ptr<sql::Connection> connection;
  ~ThreadConnection() {
    connection.reset();
    if (thread_initialised) driver()->threadEnd();
  }
};
thread_local ThreadConnection t_connection;

StoreFailure failure_of(const sql::SQLException& e) {
  StoreFailure failure;
  failure.code = e.getErrorCode();
  failure.message = e.what();
  switch (failure.code) {
    case 1290:  // ER_OPTION_PREVENTS_STATEMENT: "running with the --read-only option"
    case 1836:  // ER_READ_ONLY_MODE
      failure.kind = StoreFailure::Kind::read_only;
      break;
    case 0:     // the connector's own, e.g. "Connection is closed"
    case 1040:  // too many connections
    case 1053:  // server shutdown in progress
    case 1927:  // connection was killed
      failure.kind = StoreFailure::Kind::unreachable;
      break;
    default:  // 2000-2999, the client library's: can't connect, lost connection, gone away
      failure.kind = failure.code >= 2000 && failure.code < 3000 ? StoreFailure::Kind::unreachable
                                                                 : StoreFailure::Kind::failed;
  }
  return failure;
}

std::unique_ptr<sql::Connection> connect(const DbTarget& target) {
  sql::ConnectOptionsMap options;
  options["hostName"] = sql::SQLString(target.host);
  options["port"] = target.port;
  options["userName"] = sql::SQLString(target.user);
  options["password"] = sql::SQLString(target.password);
  // Short, so a dead or hung database answers the HTTP request within ~2 s.
  options["OPT_CONNECT_TIMEOUT"] = 1;
  options["OPT_READ_TIMEOUT"] = 2;
  options["OPT_WRITE_TIMEOUT"] = 2;
  return std::unique_ptr<sql::Connection>(driver()->connect(options));
}

std::vector<OrderRow> rows_with(sql::Connection& db, const std::string& key) {
  std::unique_ptr<sql::PreparedStatement> select(
      db.prepareStatement("SELECT id, seq, site FROM lab.orders WHERE idem_key = ? ORDER BY id"));
  select->setString(1, key);
  std::unique_ptr<sql::ResultSet> result(select->executeQuery());
  std::vector<OrderRow> rows;
  while (result->next()) {
    rows.push_back({result->getInt64(1), result->getInt64(2), std::string(result->getString(3))});
  }
  return rows;
}

}  // namespace

OrderStore::OrderStore(DbTarget target, std::string site)
    : m_target(std::move(target)), m_site(std::move(site)) {}

// Set once this thread's INSERT left for the server: a failure after it leaves the outcome
// unknown (the row may be committed), never "failed".
thread_local bool t_insert_sent = false;

template <class Work>
auto OrderStore::with_connection(Work&& work) {
  using Result = decltype(work(std::declval<sql::Connection&>()));
  ThreadConnection& mine = t_connection;
  if (mine.owner != this) {
    mine.connection.reset();
    mine.owner = this;
  }
  for (int attempt = 0;; ++attempt) {
    bool reused = mine.connection != nullptr;
    auto started = std::chrono::steady_clock::now();
    t_insert_sent = false;
    try {
      if (!mine.connection) {
        if (!mine.thread_initialised) {
          driver()->threadInit();
          mine.thread_initialised = true;
        }
        mine.connection = connect(m_target);
      }
      Result result = work(*mine.connection);
      note(nullptr);
      return result;
    } catch (const sql::SQLException& e) {
      StoreFailure failure = failure_of(e);
      if (failure.kind == StoreFailure::Kind::unreachable) {
        mine.connection.reset();
        // A kept connection that failed at once may have died with a server that is back since:
        // one fresh try (not after a timeout: a hung server would be waited for twice). It starts
        // over (SELECT, then INSERT), so an INSERT that committed before the connection dropped
        // is found and answered as a replay, not written twice.
        bool at_once = std::chrono::steady_clock::now() - started < std::chrono::milliseconds(500);
        if (reused && attempt == 0 && at_once) continue;
      }
      if (t_insert_sent && failure.kind != StoreFailure::Kind::read_only)
        failure.kind = StoreFailure::Kind::unknown;
      note(&failure);
      return Result(tl::unexpected(std::move(failure)));
    }
  }
}

void OrderStore::note(const StoreFailure* failure) {
  int state = failure ? 1 + static_cast<int>(failure->kind) : 0;
  if (m_state.exchange(state) == state) return;  // the log shows changes, not every request
  std::string line = "orders: site " + m_site + "'s database at " + address();
  if (!failure)
    line += " answers\n";
  else
    line += std::string(failure->kind == StoreFailure::Kind::read_only     ? " is read-only"
                        : failure->kind == StoreFailure::Kind::unreachable ? " is unreachable"
                        : failure->kind == StoreFailure::Kind::unknown ? " lost an INSERT's answer"
                                                                       : " failed") +
            " (" + std::to_string(failure->code) + ": " + failure->message + ")\n";
  std::cerr << line << std::flush;
}

tl::expected<Placed, StoreFailure> OrderStore::place(const std::string& key, long long seq) {
  return with_connection([&](sql::Connection& db) -> tl::expected<Placed, StoreFailure> {
    if (auto existing = rows_with(db, key); !existing.empty()) return Placed{false, existing[0]};
    std::unique_ptr<sql::PreparedStatement> insert(
        db.prepareStatement("INSERT INTO lab.orders (idem_key, seq, site) VALUES (?, ?, ?)"));
    insert->setString(1, key);
    insert->setInt64(2, seq);
    insert->setString(3, m_site);
    t_insert_sent = true;
    insert->executeUpdate();  // autocommit: committed once it returns
    std::unique_ptr<sql::Statement> statement(db.createStatement());
    std::unique_ptr<sql::ResultSet> id(statement->executeQuery("SELECT LAST_INSERT_ID()"));
    id->next();
    return Placed{true, OrderRow{id->getInt64(1), seq, m_site}};
  });
}

tl::expected<std::vector<OrderRow>, StoreFailure> OrderStore::find(const std::string& key) {
  return with_connection(
      [&](sql::Connection& db) -> tl::expected<std::vector<OrderRow>, StoreFailure> {
        return rows_with(db, key);
      });
}
