#pragma once
#include "core.hpp"

namespace drctl::etcd {

class Session : public EtcdSession {
 public:
  explicit Session(std::shared_ptr<Core> core) : m_core(std::move(core)) {}

  EtcdResult<EtcdRange> range(const EtcdRangeRequest& request, Deadline deadline) override;
  EtcdResult<EtcdPutResult> put(const std::string& key, const std::string& value,
                                std::int64_t lease, Deadline deadline) override;
  EtcdResult<EtcdTxnPutResult> put_if(const std::string& key, const std::string& value,
                                      const EtcdPutCondition& condition, std::int64_t lease,
                                      Deadline deadline) override;
  EtcdResult<EtcdHeader> put_all(const std::vector<std::pair<std::string, std::string>>& pairs,
                                 Deadline deadline) override;
  EtcdResult<bool> erase_if(const std::string& key, std::int64_t mod_revision,
                            Deadline deadline) override;
  EtcdResult<std::vector<EtcdKeyValue>> erase(const std::string& key, const std::string& range_end,
                                              Deadline deadline) override;
  EtcdResult<std::int64_t> erase_ranges(
      const std::vector<std::pair<std::string, std::string>>& ranges, Deadline deadline) override;
  EtcdResult<EtcdStatus> status(Deadline deadline) override;
  EtcdResult<std::vector<EtcdMember>> members(Deadline deadline) override;
  EtcdResult<std::vector<EtcdAlarm>> alarms(Deadline deadline) override;
  EtcdResult<void> move_leader(std::uint64_t target_member, Deadline deadline) override;
  EtcdResult<EtcdLease> grant_lease(std::int64_t ttl_seconds, Deadline deadline) override;
  EtcdResult<EtcdLease> keep_alive(std::int64_t lease, Deadline deadline) override;
  EtcdResult<void> revoke_lease(std::int64_t lease, Deadline deadline) override;
  EtcdResult<EtcdLease> lease_ttl(std::int64_t lease, Deadline deadline) override;
  void fence_writes(const std::string& key, std::int64_t mod_revision) override;
  EtcdResult<std::unique_ptr<EtcdWatch>> watch(const std::string& key, const std::string& range_end,
                                               std::int64_t start_revision,
                                               Deadline deadline) override;
  std::string endpoint() const override;

 private:
  // What sending a call again to the next endpoint does after an attempt that failed (one that
  // timed out may have been applied, or may still be applied when a stalled member resumes).
  enum class Repeat {
    harmless,  // reads, keep-alives, put_all (the same keys get the same values), lease
               // grants (a lease granted twice expires unused), erase (see there), erase_ranges
    detected,  // put, put_if, erase_if, revoke: the repeat tells its own earlier attempt's
               // effect from another writer's (a put reads the key first)
    never,     // move_leader: one attempt gets the whole deadline
  };

  // Sends the call to the current endpoint and, when that one is unreachable, has no leader or
  // does not answer within its slice of the deadline (Core::attempt_deadline), to the next,
  // each endpoint at most once, all within `deadline`. A call taking a third argument is told
  // whether this is a repeat after a failed attempt (Repeat::detected).
  template <class Call>
  auto invoke(Deadline deadline, Repeat repeat, Call&& call);

  // The run lock's compare on a write transaction, with the lock key read in the failure
  // branch (last) so that a refusal can tell the fence from the write's own condition.
  void add_fence(etcdserverpb::TxnRequest& message) const;
  // The error when a failed transaction failed on the fence.
  std::optional<EtcdError> fence_refusal(const etcdserverpb::TxnResponse& response,
                                         const std::string& endpoint) const;
  // A put repeated after a failed attempt reads the key first (within the attempt's
  // deadline): holding this value and lease, it was applied (or another writer wrote the
  // same), and is not sent again; the result then has the key's revision, no previous value.
  std::optional<EtcdResult<EtcdPutResult>> applied_before(Endpoint& endpoint,
                                                          const grpc::ClientContext& attempt,
                                                          const std::string& key,
                                                          const std::string& value,
                                                          std::int64_t lease) const;

  std::shared_ptr<Core> m_core;
  std::optional<std::pair<std::string, std::int64_t>> m_fence;  // lock key, fencing token
};

}  // namespace drctl::etcd
