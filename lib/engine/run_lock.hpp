#pragma once
// The run lock (`lock:` in the playbook): one etcd key held with a lease for as long as the run
// lasts, so two operators never switch the same system at once. The key's revision is the
// fencing token. A killed process's lock frees itself when its lease expires (ttl).
#include <atomic>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <tl/expected.hpp>

#include "clients/etcd.hpp"
#include "core/cancel.hpp"
#include "core/model.hpp"

namespace drctl {

struct LockRefusal {
  bool held = false;    // true: someone else holds it (exit 5); false: the lock could not be tried
  std::string message;  // names the holder (run id, host, user, since) or the error
};

class RunLock {
 public:
  // Takes the lock or says who has it. `holder` is this run's identity (run id, host, user, ...).
  static tl::expected<std::unique_ptr<RunLock>, LockRefusal> acquire(const LockSpec& spec,
                                                                     const nlohmann::json& holder);
  ~RunLock();  // releases

  std::int64_t fencing_token() const { return m_token; }
  // False once the lease could not be renewed before it expired: no further step may start.
  bool held() const { return !m_lost.load(); }
  std::string lost_reason() const;
  void release();
  nlohmann::json to_json() const;

 private:
  RunLock() = default;
  void keep_alive();

  LockSpec m_spec;
  std::unique_ptr<EtcdSession> m_session;
  std::int64_t m_lease = 0, m_token = 0;
  std::atomic<bool> m_lost{false};
  mutable std::mutex m_mutex;
  std::string m_lost_reason;
  CancelToken m_stop;
  std::thread m_thread;
  bool m_released = false;
};

}  // namespace drctl
