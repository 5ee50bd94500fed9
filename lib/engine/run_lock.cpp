#include "engine/run_lock.hpp"

#include <fmt/format.h>

#include "clients/etcd_connection.hpp"
#include "util/json_dump.hpp"
#include "util/secrets.hpp"

namespace drctl {
namespace {
using Clock = std::chrono::steady_clock;
constexpr Millis k_call_limit{5'000};
}  // namespace

tl::expected<std::unique_ptr<RunLock>, LockRefusal> RunLock::acquire(const LockSpec& spec,
                                                                     const nlohmann::json& holder) {
  auto deadline = Clock::now() + k_call_limit;
  auto session = etcd_connect(Spec(spec.etcd), deadline, "lock");
  if (!session) return tl::unexpected(LockRefusal{false, "run lock: " + session.error().message});
  std::unique_ptr<RunLock> lock(new RunLock());
  lock->m_spec = spec;
  lock->m_session = std::move(*session);
  auto ttl_seconds =
      std::max<std::int64_t>(1, std::chrono::duration_cast<std::chrono::seconds>(spec.ttl).count());
  auto lease = lock->m_session->grant_lease(ttl_seconds, deadline);
  if (!lease)
    return tl::unexpected(
        LockRefusal{false, "run lock: granting a lease: " + lease.error().to_string()});
  lock->m_lease = lease->id;
  // Created only if absent (mod_revision 0), bound to the lease.
  EtcdPutCondition absent;
  absent.mod_revision = 0;
  auto put = lock->m_session->put_if(spec.key, dump_json(holder), absent, lease->id, deadline);
  if (!put) {
    lock->m_session->revoke_lease(lease->id, deadline);
    return tl::unexpected(LockRefusal{false, "run lock: " + put.error().to_string()});
  }
  if (!put->succeeded) {
    lock->m_session->revoke_lease(lease->id, deadline);
    lock->m_released = true;
    std::string who = "an unknown holder";
    if (put->previous) {
      auto other = nlohmann::json::parse(put->previous->value, nullptr, false);
      if (other.is_object()) {
        who = fmt::format("run {} on host {} as user {} (pid {}) since {}",
                          other.value("run_id", "?"), other.value("host", "?"),
                          other.value("user", "?"), other.value("pid", 0),
                          other.value("started_at", "?"));
      } else {
        who = fmt::format("'{}'", put->previous->value.substr(0, 200));
      }
    }
    return tl::unexpected(
        LockRefusal{true, fmt::format("run lock {} is held by {}", spec.key, who)});
  }
  lock->m_token = put->header.revision;
  lock->m_thread = std::thread([raw = lock.get()] { raw->keep_alive(); });
  return lock;
}

void RunLock::keep_alive() {
  // Renew at a third of the ttl; give up (the lock is lost) once the lease must have expired.
  auto interval = std::max<Millis>(Millis(200), m_spec.ttl / 3);
  auto renewed = Clock::now();
  while (m_stop.sleep_until(Clock::now() + interval)) {
    auto answer = m_session->keep_alive(m_lease, Clock::now() + interval);
    if (answer && answer->ttl > 0) {
      renewed = Clock::now();
      continue;
    }
    std::string why = answer ? "the lease was revoked or has expired" : answer.error().to_string();
    if (!answer && Clock::now() - renewed < m_spec.ttl)
      continue;  // try again while the lease may still live
    std::lock_guard lock(m_mutex);
    m_lost_reason = fmt::format("run lock {} lost: {}", m_spec.key, why);
    m_lost = true;
    return;
  }
}

std::string RunLock::lost_reason() const {
  std::lock_guard lock(m_mutex);
  return m_lost_reason;
}

void RunLock::release() {
  if (m_released) return;
  m_released = true;
  m_stop.cancel();
  if (m_thread.joinable()) m_thread.join();
  m_session->revoke_lease(m_lease, Clock::now() + k_call_limit);  // deletes the key with it
}

RunLock::~RunLock() {
  release();
}

nlohmann::json RunLock::to_json() const {
  return {{"key", m_spec.key},
          {"fencing_token", m_token},
          {"lease", fmt::format("{:x}", m_lease)},
          {"ttl_ms", m_spec.ttl.count()},
          {"lost", m_lost.load()}};
}

}  // namespace drctl
