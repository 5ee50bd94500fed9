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

// Recovery (rollback, resume) of a run whose own lock is still held, because its process was
// killed before it could release it: the lock is taken over (the old key deleted, its lease
// revoked, a new key and fencing token) when the holder is one of `runs` and provably gone:
// its journal ended (`ended`), or it ran on this host and its pid is dead (or is no drctl).
struct LockTakeover {
  std::vector<std::string> runs;
  std::vector<std::string> ended;
};

class RunLock {
 public:
  // Takes the lock or says who has it. `holder` is this run's identity (run id, host, user, ...).
  static tl::expected<std::unique_ptr<RunLock>, LockRefusal> acquire(
      const LockSpec& spec, const nlohmann::json& holder, const LockTakeover* takeover = nullptr);
  ~RunLock();  // releases
  // Who holds the lock now, read and never taken (a dry run, `plan --live`): "run lock K is
  // held by run R on host H ... ; its lease expires in N s", nullopt when free; the error says
  // why it could not be read.
  static tl::expected<std::optional<std::string>, std::string> holder_now(const LockSpec& spec);

  std::int64_t fencing_token() const { return m_token; }
  // The etcd cluster the lock lives in: writes a step makes to it are fenced by the token.
  std::uint64_t cluster_id() const { return m_cluster_id; }
  // False once the lease could not be renewed before it expired: no further step may start.
  bool held() const { return !m_lost.load(); }
  // Asks etcd, now, whether the lease is still alive (renewing it): false, and the lock is lost,
  // when it expired or was revoked (a process paused past its ttl), or when etcd cannot say
  // before the lease would have expired. Called before each step starts.
  bool confirm();
  std::string lost_reason() const;
  // "took over the lock of run R (pid P on host H is gone)", or "" when taken normally.
  const std::string& takeover() const { return m_takeover; }
  void release();
  nlohmann::json to_json() const;

 private:
  RunLock() = default;
  void keep_alive();

  LockSpec m_spec;
  std::unique_ptr<EtcdSession> m_session;
  void lose(const std::string& why);
  std::int64_t m_lease = 0, m_token = 0;
  std::uint64_t m_cluster_id = 0;
  std::string m_takeover;
  std::atomic<std::int64_t> m_renewed_ns{0};  // steady clock of the last renewal
  std::atomic<bool> m_lost{false};
  mutable std::mutex m_mutex;
  std::mutex m_call_mutex;  // one etcd call at a time on the session (renewer and confirm())
  std::string m_lost_reason;
  CancelToken m_stop;
  std::thread m_thread;
  bool m_released = false;
};

}  // namespace drctl
