#include "engine/run_lock.hpp"

#include <fmt/format.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <fstream>

#include "clients/etcd_connection.hpp"
#include "engine/approval_inbox.hpp"
#include "engine/etcd_journal.hpp"
#include "util/json_dump.hpp"
#include "util/json_fields.hpp"
#include "util/secrets.hpp"

namespace drctl {
namespace {
using Clock = std::chrono::steady_clock;
constexpr Millis k_call_limit{5'000};

std::string this_host() {
  char host[256] = {};
  ::gethostname(host, sizeof host - 1);
  return host;
}

bool contains(const std::vector<std::string>& list, const std::string& item) {
  return std::find(list.begin(), list.end(), item) != list.end();
}

// Why the holder is provably gone, or "" when it may still be running.
std::string holder_gone(const nlohmann::json& holder, const LockTakeover& takeover) {
  const std::string run = holder.value("run_id", "");
  if (!contains(takeover.runs, run)) return "";
  if (contains(takeover.ended, run)) return fmt::format("run {}'s journal has its end", run);
  const std::string host = holder.value("host", "");
  const long long pid = holder.value("pid", 0LL);
  if (host != this_host() || pid <= 0) return "";
  if (::kill(static_cast<pid_t>(pid), 0) != 0 && errno == ESRCH)
    return fmt::format("its process {} on this host is gone", pid);
  std::ifstream comm(fmt::format("/proc/{}/comm", pid));
  std::string name;
  if (comm && std::getline(comm, name) && name != "drctl")
    return fmt::format("pid {} on this host is now '{}', not drctl", pid, name);
  return "";
}

std::string describe_holder(const std::string& value) {
  auto other = nlohmann::json::parse(value, nullptr, false);
  if (!other.is_object()) return fmt::format("'{}'", value.substr(0, 200));
  return fmt::format("run {} on host {} as user {} (pid {}) since {}", other.value("run_id", "?"),
                     other.value("host", "?"), other.value("user", "?"), other.value("pid", 0LL),
                     other.value("started_at", "?"));
}

// What the holder waits for is a hint: read within a second, and never in the last second of
// the lock's own deadline (the refusal still revokes the lease it granted).
Deadline approval_read_deadline(Deadline lock_deadline) {
  return std::min(lock_deadline - Millis(1'000), Clock::now() + Millis(1'000));
}

// A holder that waits for an approval holds the lock on purpose, for as long as the approval
// takes: say so, and how to decide, from its journal's etcd copy beside the lock ("" when it
// does not wait, or its journal cannot be read by `deadline`).
std::string approval_wait_of(EtcdSession& session, const LockSpec& spec, const std::string& value,
                             Deadline deadline) {
  auto holder = nlohmann::json::parse(value, nullptr, false);
  const std::string run = holder.is_object() ? json_text(holder, "run_id") : "";
  if (run.empty()) return "";
  auto lines = read_etcd_journal(session, spec, run, deadline);
  if (!lines) return "";
  auto waiting = approval_waiting_in(*lines);
  if (!waiting) return "";
  // From another machine, --playbook finds the run through etcd.
  return fmt::format(
      "; that run waits for approval at {} '{}' since {}: drctl approve {} {} [--playbook FILE] "
      "(or drctl reject)",
      waiting->phase == "rollback" ? "rollback" : "step", waiting->step, waiting->since, run,
      waiting->step);
}

}  // namespace

tl::expected<std::unique_ptr<RunLock>, LockRefusal> RunLock::acquire(const LockSpec& spec,
                                                                     const nlohmann::json& holder,
                                                                     const LockTakeover* takeover) {
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
  auto refuse = [&](LockRefusal refusal) {
    lock->m_session->revoke_lease(lease->id, deadline);
    lock->m_released = true;
    return tl::unexpected(std::move(refusal));
  };
  // Created only if absent (mod_revision 0), bound to the lease.
  EtcdPutCondition absent;
  absent.mod_revision = 0;
  auto put = lock->m_session->put_if(spec.key, dump_json(holder), absent, lease->id, deadline);
  if (put && !put->succeeded && put->previous && takeover != nullptr) {
    // The dead run being recovered still holds it: delete exactly that key (not one a third
    // run may have taken since), revoke its lease, and take the lock as usual.
    const EtcdKeyValue dead = *put->previous;
    auto other = nlohmann::json::parse(dead.value, nullptr, false);
    std::string why = other.is_object() ? holder_gone(other, *takeover) : "";
    if (!why.empty()) {
      auto erased = lock->m_session->erase_if(spec.key, dead.mod_revision, deadline);
      if (erased && *erased) {
        if (dead.lease != 0) lock->m_session->revoke_lease(dead.lease, deadline);
        lock->m_takeover =
            fmt::format("took over run lock {} from run {} ({}; its fencing token {} is void)",
                        spec.key, other.value("run_id", "?"), why, dead.mod_revision);
        put = lock->m_session->put_if(spec.key, dump_json(holder), absent, lease->id, deadline);
      }
    }
  }
  if (!put) return refuse(LockRefusal{false, "run lock: " + put.error().to_string()});
  if (!put->succeeded) {
    std::string who = put->previous ? describe_holder(put->previous->value) : "an unknown holder";
    std::string expiry;
    if (put->previous && put->previous->lease != 0) {
      auto left = lock->m_session->lease_ttl(put->previous->lease, deadline);
      if (left && left->ttl > 0)
        expiry = fmt::format(
            "; its lease expires in {} s unless its process renews it (look at that process, or "
            "`etcdctl lease timetolive {:x}`)",
            left->ttl, put->previous->lease);
    }
    // A holder whose process is gone on this host: its own recovery need not wait.
    auto other = put->previous ? nlohmann::json::parse(put->previous->value, nullptr, false)
                               : nlohmann::json();
    if (other.is_object()) {
      LockTakeover itself{{other.value("run_id", "")}, {}};
      if (std::string gone = holder_gone(other, itself); !gone.empty()) {
        expiry += fmt::format(
            "; {}: drctl rollback {} or drctl run PLAYBOOK --resume {} takes the lock over at once",
            gone, other.value("run_id", "?"), other.value("run_id", "?"));
      } else {
        who += approval_wait_of(*lock->m_session, spec, put->previous->value,
                                approval_read_deadline(deadline));
      }
    }
    return refuse(LockRefusal{
        true, fmt::format("run lock {} is held by {}{}", spec.key, redact(who), expiry)});
  }
  lock->m_token = put->header.revision;
  lock->m_cluster_id = put->header.cluster_id;
  lock->m_renewed_ns = Clock::now().time_since_epoch().count();
  lock->m_thread = std::thread([raw = lock.get()] { raw->keep_alive(); });
  return lock;
}

tl::expected<std::optional<std::string>, std::string> RunLock::holder_now(const LockSpec& spec) {
  auto deadline = Clock::now() + k_call_limit;
  auto session = etcd_connect(Spec(spec.etcd), deadline, "lock");
  if (!session) return tl::unexpected("run lock: " + session.error().message);
  auto read = (*session)->range(EtcdRangeRequest{spec.key, ""}, deadline);
  if (!read) return tl::unexpected("run lock: " + read.error().to_string());
  if (read->kvs.empty()) return std::nullopt;
  const EtcdKeyValue& held = read->kvs.front();
  std::string expiry;
  if (held.lease != 0) {
    if (auto left = (*session)->lease_ttl(held.lease, deadline); left && left->ttl > 0)
      expiry = fmt::format("; its lease expires in {} s unless its process renews it", left->ttl);
  }
  return redact(fmt::format(
      "run lock {} is held by {}{}{}", spec.key, describe_holder(held.value),
      approval_wait_of(**session, spec, held.value, approval_read_deadline(deadline)), expiry));
}

void RunLock::keep_alive() {
  // Renew at a third of the ttl; give up (the lock is lost) once the lease must have expired.
  // A renewal gets the interval, and a stalled member a slice of it before the session fails
  // over; one that failed is tried again at once (on the next endpoint), not an interval later.
  auto interval = std::max<Millis>(Millis(200), m_spec.ttl / 3);
  auto next = Clock::now() + interval;
  while (m_stop.sleep_until(next) && !m_lost) {
    EtcdResult<EtcdLease> answer = tl::unexpected(EtcdError{});
    {
      std::lock_guard calls(m_call_mutex);
      answer = m_session->keep_alive(m_lease, Clock::now() + interval);
    }
    if (answer && answer->ttl > 0) {
      m_renewed_ns = Clock::now().time_since_epoch().count();
      next = Clock::now() + interval;
      continue;
    }
    auto renewed = Clock::time_point(Clock::duration(m_renewed_ns.load()));
    next = Clock::now() + Millis(50);
    if (!answer && Clock::now() - renewed < m_spec.ttl)
      continue;  // try again while the lease may still live
    lose(answer ? "the lease was revoked or has expired" : answer.error().to_string());
    return;
  }
}

bool RunLock::confirm() {
  if (m_lost) return false;
  auto renewed = Clock::time_point(Clock::duration(m_renewed_ns.load()));
  // Until the lease would expire, counted from the last renewal we know of, and no longer:
  // a process that was paused finds that moment already past and asks once, briefly.
  auto deadline = std::max(renewed + m_spec.ttl, Clock::now() + Millis(500));
  EtcdResult<EtcdLease> answer = tl::unexpected(EtcdError{});
  {
    std::lock_guard calls(m_call_mutex);
    answer = m_session->lease_ttl(m_lease, deadline);  // one unary call, no stream to open
  }
  if (answer && answer->ttl > 0) return true;
  lose(answer ? "the lease has expired or was revoked (was this process paused?)"
              : "its lease could not be confirmed: " + answer.error().to_string());
  return false;
}

void RunLock::lose(const std::string& why) {
  std::lock_guard lock(m_mutex);
  if (m_lost) return;
  m_lost_reason = fmt::format("run lock {} lost: {}", m_spec.key, why);
  m_lost = true;
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
  // Deletes our key with it; revoking a lease that expired, or that a takeover revoked, does
  // nothing (another run's key has its own lease).
  m_session->revoke_lease(m_lease, Clock::now() + k_call_limit);
}

RunLock::~RunLock() {
  release();
}

nlohmann::json RunLock::to_json() const {
  nlohmann::json out = {{"key", m_spec.key},
                        {"fencing_token", m_token},
                        {"lease", fmt::format("{:x}", m_lease)},
                        {"ttl_ms", m_spec.ttl.count()},
                        {"lost", m_lost.load()}};
  if (!m_takeover.empty()) out["took_over"] = m_takeover;
  return out;
}

}  // namespace drctl
