#pragma once
// The order service's rows in its own site's MariaDB (lab.orders), over mysql-connector-c++:
// one connection per calling thread, made on first use and made again after it was lost, so a
// database that was killed or restarted is met with an answer, not a hang.
#include <atomic>
#include <string>
#include <tl/expected.hpp>
#include <vector>

struct DbTarget {
  std::string host = "127.0.0.1";
  int port = 0;
  std::string user;
  std::string password;
};

struct OrderRow {
  long long id = 0;
  long long seq = 0;
  std::string site;
};

struct StoreFailure {
  // unknown: the INSERT was sent and no answer came back: it may have committed (504).
  enum class Kind { read_only, unreachable, failed, unknown } kind = Kind::failed;
  int code = 0;         // MariaDB's error number (0 when the connector gave none)
  std::string message;  // the connector's words; they never hold the password
};

struct Placed {
  bool created = false;  // false: the key was there already (an idempotent replay)
  OrderRow row;
};

class OrderStore {
 public:
  OrderStore(DbTarget target, std::string site);

  // The order with `key`: the first row with that key when there is one (nothing written),
  // else a new row, acknowledged only once its autocommit INSERT returned.
  tl::expected<Placed, StoreFailure> place(const std::string& key, long long seq);
  // Every row with `key`, oldest first (more than one: a failover duplicated the order).
  tl::expected<std::vector<OrderRow>, StoreFailure> find(const std::string& key);

  std::string address() const { return m_target.host + ":" + std::to_string(m_target.port); }

 private:
  template <class Work>
  auto with_connection(Work&& work);
  void note(const StoreFailure* failure);  // nullptr: the database answered

  DbTarget m_target;
  std::string m_site;
  std::atomic<int> m_state{-1};  // what the last request met: logged when it changes
};
