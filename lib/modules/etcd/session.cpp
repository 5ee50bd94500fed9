// EtcdSession over gRPC: every unary call goes to the current endpoint and, when that one is
// unreachable, has lost its leader or does not answer within its slice of the deadline, to the
// next, until one answers or the deadline passes. What a repeat after a timeout may do is each
// call's own (Repeat).
#include "session.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <thread>
#include <type_traits>

#include "watch.hpp"

namespace drctl::etcd {
namespace {
constexpr std::chrono::milliseconds k_round_pause{50};
}  // namespace

template <class Call>
auto Session::invoke(Deadline deadline, Repeat repeat, Call&& call) {
  bool reauthenticated = false;
  bool repeated = false;
  std::vector<std::string> earlier;  // "host:port: what failed", for the error when all fail
  const std::size_t endpoints = m_core->size();
  std::size_t tried = 0;           // endpoints that failed this call, in this round
  bool answered_in_round = false;  // one of them was up (no leader, timed out, ...)
  m_core->avoid_failed();
  while (true) {
    Endpoint& endpoint = m_core->current();
    auto attempt =
        repeat == Repeat::never ? deadline : Core::attempt_deadline(deadline, endpoints - tried);
    auto context = m_core->context(attempt);
    auto result = [&] {
      if constexpr (std::is_invocable_v<Call&, Endpoint&, grpc::ClientContext&, bool>)
        return call(endpoint, *context, repeated);
      else
        return call(endpoint, *context);
    }();
    if (result) {
      m_core->succeeded();
      return result;
    }
    EtcdError& error = result.error();
    if (error.kind == EtcdError::Class::auth && !reauthenticated &&
        !m_core->connection().user.empty() &&
        error.message.find("invalid auth token") != std::string::npos) {
      reauthenticated = true;  // simple tokens expire; get a fresh one once
      if (m_core->authenticate(endpoint, attempt)) continue;
    }
    const bool timed_out = stalled(error);
    if (!worth_failing_over(error) && !timed_out) return result;
    m_core->fail_over();  // this call's next attempt, and the next call, start elsewhere
    ++tried;
    answered_in_round = answered_in_round || error.kind != EtcdError::Class::unreachable;
    const bool refused_repeat = timed_out && repeat == Repeat::never;
    if (tried >= endpoints && answered_in_round && !refused_repeat &&
        std::chrono::steady_clock::now() + k_round_pause < deadline) {
      // Every endpoint failed once, but not all were down (an election in progress just after
      // the leader was killed): go round again after a short pause, until one answers or the
      // deadline passes. A cluster that is down everywhere fails at once.
      std::this_thread::sleep_for(k_round_pause);
      tried = 0;
      answered_in_round = false;
      if (earlier.size() > endpoints) earlier.erase(earlier.begin(), earlier.end() - endpoints);
    }
    const bool last =
        tried >= endpoints || std::chrono::steady_clock::now() >= deadline || refused_repeat;
    if (last) {
      if (!earlier.empty()) error.message += fmt::format(" (after {})", fmt::join(earlier, ", "));
      if (timed_out && repeat == Repeat::never && tried < endpoints)
        error.message += "; not repeated on another endpoint: it may have been applied";
      return result;
    }
    earlier.push_back(fmt::format("{}: {}", endpoint.address, error.message));
    repeated = true;  // the failed attempt may still have been applied
    if (!m_core->connection().user.empty())
      m_core->authenticate(m_core->current(), Core::attempt_deadline(deadline, endpoints - tried));
  }
}

EtcdResult<EtcdRange> Session::range(const EtcdRangeRequest& request, Deadline deadline) {
  etcdserverpb::RangeRequest message;
  message.set_key(request.key);
  message.set_range_end(request.range_end);
  message.set_revision(request.revision);
  message.set_limit(request.limit);
  message.set_serializable(request.serializable);
  message.set_keys_only(request.keys_only);
  message.set_count_only(request.count_only);
  return invoke(deadline, Repeat::harmless,
                [&](Endpoint& endpoint, grpc::ClientContext& context) -> EtcdResult<EtcdRange> {
                  etcdserverpb::RangeResponse response;
                  auto status = endpoint.kv->Range(&context, message, &response);
                  if (!status.ok()) return tl::unexpected(error_from(status, endpoint.address));
                  EtcdRange range;
                  range.header = header_from(response.header());
                  range.more = response.more();
                  range.count = response.count();
                  range.kvs.reserve(response.kvs_size());
                  for (const auto& kv : response.kvs()) range.kvs.push_back(key_value_from(kv));
                  return range;
                });
}

void Session::fence_writes(const std::string& key, std::int64_t mod_revision) {
  m_fence.emplace(key, mod_revision);
}

void Session::add_fence(etcdserverpb::TxnRequest& message) const {
  if (!m_fence) return;
  auto* compare = message.add_compare();
  compare->set_key(m_fence->first);
  compare->set_target(etcdserverpb::Compare::MOD);
  compare->set_result(etcdserverpb::Compare::EQUAL);
  compare->set_mod_revision(m_fence->second);
  message.add_failure()->mutable_request_range()->set_key(m_fence->first);
}

std::optional<EtcdError> Session::fence_refusal(const etcdserverpb::TxnResponse& response,
                                                const std::string& endpoint) const {
  if (!m_fence || response.succeeded() || response.responses_size() == 0) return std::nullopt;
  const auto& last = response.responses(response.responses_size() - 1);
  if (!last.has_response_range()) return std::nullopt;
  const auto& kvs = last.response_range().kvs();
  if (kvs.size() > 0 && kvs[0].mod_revision() == m_fence->second) return std::nullopt;
  std::string now = kvs.empty() ? "is gone"
                                : fmt::format(
                                      "was written again at revision {} (another run "
                                      "holds it)",
                                      kvs[0].mod_revision());
  return EtcdError{EtcdError::Class::fenced, 0,
                   fmt::format("run lock {} {}: this run's fencing token {} is void, so etcd "
                               "refused the write; nothing was written",
                               m_fence->first, now, m_fence->second),
                   endpoint};
}

std::optional<EtcdResult<EtcdPutResult>> Session::applied_before(Endpoint& endpoint,
                                                                 const grpc::ClientContext& attempt,
                                                                 const std::string& key,
                                                                 const std::string& value,
                                                                 std::int64_t lease) const {
  auto context = m_core->stream_context();
  context->set_deadline(attempt.deadline());
  etcdserverpb::RangeRequest request;
  request.set_key(key);
  etcdserverpb::RangeResponse response;
  auto status = endpoint.kv->Range(context.get(), request, &response);
  if (!status.ok()) return tl::unexpected(error_from(status, endpoint.address));
  if (response.kvs_size() == 0 || response.kvs(0).value() != value ||
      response.kvs(0).lease() != lease)
    return std::nullopt;
  EtcdPutResult result;
  result.header = header_from(response.header());
  result.header.revision = response.kvs(0).mod_revision();
  return result;
}

// A transaction (fenced when the session is: add_fence), so the run lock can guard it; the
// result carries the previous value.
EtcdResult<EtcdPutResult> Session::put(const std::string& key, const std::string& value,
                                       std::int64_t lease, Deadline deadline) {
  etcdserverpb::TxnRequest message;
  auto* put = message.add_success()->mutable_request_put();
  put->set_key(key);
  put->set_value(value);
  put->set_lease(lease);
  put->set_prev_kv(true);
  add_fence(message);
  return invoke(deadline, Repeat::detected,
                [&](Endpoint& endpoint, grpc::ClientContext& context,
                    bool repeated) -> EtcdResult<EtcdPutResult> {
                  if (repeated) {
                    if (auto applied = applied_before(endpoint, context, key, value, lease))
                      return *applied;
                  }
                  etcdserverpb::TxnResponse response;
                  auto status = endpoint.kv->Txn(&context, message, &response);
                  if (!status.ok()) return tl::unexpected(error_from(status, endpoint.address));
                  if (auto refused = fence_refusal(response, endpoint.address))
                    return tl::unexpected(*refused);
                  EtcdPutResult result;
                  result.header = header_from(response.header());
                  if (response.responses_size() > 0) {
                    const auto& done = response.responses(0);
                    if (done.has_response_put() && done.response_put().has_prev_kv())
                      result.previous = key_value_from(done.response_put().prev_kv());
                  }
                  return result;
                });
}

EtcdResult<EtcdTxnPutResult> Session::put_if(const std::string& key, const std::string& value,
                                             const EtcdPutCondition& condition, std::int64_t lease,
                                             Deadline deadline) {
  etcdserverpb::TxnRequest message;
  if (condition.value) {
    auto* compare = message.add_compare();
    compare->set_key(key);
    compare->set_target(etcdserverpb::Compare::VALUE);
    compare->set_result(etcdserverpb::Compare::EQUAL);
    compare->set_value(*condition.value);
  }
  if (condition.mod_revision) {
    auto* compare = message.add_compare();
    compare->set_key(key);
    compare->set_target(etcdserverpb::Compare::MOD);
    compare->set_result(etcdserverpb::Compare::EQUAL);
    compare->set_mod_revision(*condition.mod_revision);
  }
  auto* put = message.add_success()->mutable_request_put();
  put->set_key(key);
  put->set_value(value);
  put->set_lease(lease);
  put->set_prev_kv(true);
  message.add_failure()->mutable_request_range()->set_key(key);  // what the key holds instead
  add_fence(message);
  return invoke(
      deadline, Repeat::detected,
      [&](Endpoint& endpoint, grpc::ClientContext& context,
          bool repeated) -> EtcdResult<EtcdTxnPutResult> {
        etcdserverpb::TxnResponse response;
        auto status = endpoint.kv->Txn(&context, message, &response);
        if (!status.ok()) return tl::unexpected(error_from(status, endpoint.address));
        if (auto refused = fence_refusal(response, endpoint.address))
          return tl::unexpected(*refused);
        EtcdTxnPutResult result;
        result.header = header_from(response.header());
        result.succeeded = response.succeeded();
        if (response.responses_size() > 0) {
          const auto& op = response.responses(0);
          if (op.has_response_put() && op.response_put().has_prev_kv())
            result.previous = key_value_from(op.response_put().prev_kv());
          if (op.has_response_range() && op.response_range().kvs_size() > 0)
            result.previous = key_value_from(op.response_range().kvs(0));
        }
        // A repeat whose compare failed because the attempt that failed was applied: the
        // key holds our value with our lease, written after the revision compared. Taken as
        // our write (its revision is the key's; the value it replaced is not known).
        if (!result.succeeded && repeated && result.previous && result.previous->value == value &&
            result.previous->lease == lease && (!condition.value || *condition.value != value) &&
            (!condition.mod_revision || result.previous->mod_revision > *condition.mod_revision)) {
          result.succeeded = true;
          result.header.revision = result.previous->mod_revision;
          result.previous.reset();
        }
        return result;
      });
}

EtcdResult<EtcdHeader> Session::put_all(
    const std::vector<std::pair<std::string, std::string>>& pairs, Deadline deadline) {
  etcdserverpb::TxnRequest message;  // no compare: the success branch always runs
  for (const auto& [key, value] : pairs) {
    auto* put = message.add_success()->mutable_request_put();
    put->set_key(key);
    put->set_value(value);
  }
  add_fence(message);
  // Repeating it after a failover is harmless: the same keys get the same values.
  return invoke(deadline, Repeat::harmless,
                [&](Endpoint& endpoint, grpc::ClientContext& context) -> EtcdResult<EtcdHeader> {
                  etcdserverpb::TxnResponse response;
                  auto status = endpoint.kv->Txn(&context, message, &response);
                  if (!status.ok()) return tl::unexpected(error_from(status, endpoint.address));
                  if (auto refused = fence_refusal(response, endpoint.address))
                    return tl::unexpected(*refused);
                  return header_from(response.header());
                });
}

EtcdResult<bool> Session::erase_if(const std::string& key, std::int64_t mod_revision,
                                   Deadline deadline) {
  etcdserverpb::TxnRequest message;
  auto* compare = message.add_compare();
  compare->set_key(key);
  compare->set_target(etcdserverpb::Compare::MOD);
  compare->set_result(etcdserverpb::Compare::EQUAL);
  compare->set_mod_revision(mod_revision);
  message.add_success()->mutable_request_delete_range()->set_key(key);
  message.add_failure()->mutable_request_range()->set_key(key);  // what the key holds instead
  add_fence(message);
  return invoke(
      deadline, Repeat::detected,
      [&](Endpoint& endpoint, grpc::ClientContext& context, bool repeated) -> EtcdResult<bool> {
        etcdserverpb::TxnResponse response;
        auto status = endpoint.kv->Txn(&context, message, &response);
        if (!status.ok()) return tl::unexpected(error_from(status, endpoint.address));
        if (auto refused = fence_refusal(response, endpoint.address))
          return tl::unexpected(*refused);
        if (response.succeeded()) return true;
        // A repeat that finds the key gone after an attempt that failed: that
        // attempt deleted it (or another writer did): the revision is gone either way.
        return repeated && response.responses_size() > 0 &&
               response.responses(0).response_range().kvs_size() == 0;
      });
}

// Repeated after an attempt that failed: the range ends up deleted either way; the previous
// key-values are then only those the repeat deleted, and a key another writer put there in
// between is deleted too (its one caller deletes its own canary key).
EtcdResult<std::vector<EtcdKeyValue>> Session::erase(const std::string& key,
                                                     const std::string& range_end,
                                                     Deadline deadline) {
  etcdserverpb::TxnRequest message;  // a transaction, so a fence can guard it (add_fence)
  auto* erase = message.add_success()->mutable_request_delete_range();
  erase->set_key(key);
  erase->set_range_end(range_end);
  erase->set_prev_kv(true);
  add_fence(message);
  return invoke(deadline, Repeat::harmless,
                [&](Endpoint& endpoint,
                    grpc::ClientContext& context) -> EtcdResult<std::vector<EtcdKeyValue>> {
                  etcdserverpb::TxnResponse response;
                  auto status = endpoint.kv->Txn(&context, message, &response);
                  if (!status.ok()) return tl::unexpected(error_from(status, endpoint.address));
                  if (auto refused = fence_refusal(response, endpoint.address))
                    return tl::unexpected(*refused);
                  std::vector<EtcdKeyValue> previous;
                  if (response.succeeded() && response.responses_size() > 0) {
                    for (const auto& kv : response.responses(0).response_delete_range().prev_kvs())
                      previous.push_back(key_value_from(kv));
                  }
                  return previous;
                });
}

// Repeated after an attempt that failed: what is left of the ranges is deleted; the count is
// then only the repeat's.
EtcdResult<std::int64_t> Session::erase_ranges(
    const std::vector<std::pair<std::string, std::string>>& ranges, Deadline deadline) {
  etcdserverpb::TxnRequest message;
  for (const auto& [key, range_end] : ranges) {
    auto* erase = message.add_success()->mutable_request_delete_range();
    erase->set_key(key);
    erase->set_range_end(range_end);
  }
  add_fence(message);
  return invoke(deadline, Repeat::harmless,
                [&](Endpoint& endpoint, grpc::ClientContext& context) -> EtcdResult<std::int64_t> {
                  etcdserverpb::TxnResponse response;
                  auto status = endpoint.kv->Txn(&context, message, &response);
                  if (!status.ok()) return tl::unexpected(error_from(status, endpoint.address));
                  if (auto refused = fence_refusal(response, endpoint.address))
                    return tl::unexpected(*refused);
                  std::int64_t deleted = 0;
                  for (const auto& one : response.responses())
                    deleted += one.response_delete_range().deleted();
                  return deleted;
                });
}

EtcdResult<EtcdStatus> Session::status(Deadline deadline) {
  return invoke(deadline, Repeat::harmless,
                [&](Endpoint& endpoint, grpc::ClientContext& context) -> EtcdResult<EtcdStatus> {
                  etcdserverpb::StatusResponse response;
                  auto status = endpoint.maintenance->Status(
                      &context, etcdserverpb::StatusRequest(), &response);
                  if (!status.ok()) return tl::unexpected(error_from(status, endpoint.address));
                  EtcdStatus result;
                  result.header = header_from(response.header());
                  result.version = response.version();
                  result.db_size = response.dbsize();
                  result.db_size_in_use = response.dbsizeinuse();
                  result.leader = response.leader();
                  result.raft_index = response.raftindex();
                  result.raft_term = response.raftterm();
                  result.raft_applied_index = response.raftappliedindex();
                  result.errors.assign(response.errors().begin(), response.errors().end());
                  result.is_learner = response.islearner();
                  return result;
                });
}

EtcdResult<std::vector<EtcdMember>> Session::members(Deadline deadline) {
  return invoke(
      deadline, Repeat::harmless,

      [&](Endpoint& endpoint, grpc::ClientContext& context) -> EtcdResult<std::vector<EtcdMember>> {
        etcdserverpb::MemberListResponse response;
        auto status =
            endpoint.cluster->MemberList(&context, etcdserverpb::MemberListRequest(), &response);
        if (!status.ok()) return tl::unexpected(error_from(status, endpoint.address));
        std::vector<EtcdMember> members;
        for (const auto& m : response.members()) {
          members.push_back({m.id(),
                             m.name(),
                             {m.peerurls().begin(), m.peerurls().end()},
                             {m.clienturls().begin(), m.clienturls().end()},
                             m.islearner()});
        }
        return members;
      });
}

EtcdResult<std::vector<EtcdAlarm>> Session::alarms(Deadline deadline) {
  return invoke(
      deadline, Repeat::harmless,

      [&](Endpoint& endpoint, grpc::ClientContext& context) -> EtcdResult<std::vector<EtcdAlarm>> {
        etcdserverpb::AlarmRequest request;
        request.set_action(etcdserverpb::AlarmRequest::GET);
        etcdserverpb::AlarmResponse response;
        auto status = endpoint.maintenance->Alarm(&context, request, &response);
        if (!status.ok()) return tl::unexpected(error_from(status, endpoint.address));
        std::vector<EtcdAlarm> alarms;
        for (const auto& alarm : response.alarms()) {
          if (alarm.alarm() == etcdserverpb::NONE) continue;
          alarms.push_back({alarm.memberid(), etcdserverpb::AlarmType_Name(alarm.alarm())});
        }
        return alarms;
      });
}

EtcdResult<void> Session::move_leader(std::uint64_t target_member, Deadline deadline) {
  etcdserverpb::MoveLeaderRequest request;
  request.set_targetid(target_member);
  return invoke(deadline, Repeat::never,
                [&](Endpoint& endpoint, grpc::ClientContext& context) -> EtcdResult<void> {
                  etcdserverpb::MoveLeaderResponse response;
                  auto status = endpoint.maintenance->MoveLeader(&context, request, &response);
                  if (!status.ok()) return tl::unexpected(error_from(status, endpoint.address));
                  return {};
                });
}

EtcdResult<EtcdLease> Session::grant_lease(std::int64_t ttl_seconds, Deadline deadline) {
  etcdserverpb::LeaseGrantRequest request;
  request.set_ttl(ttl_seconds);
  return invoke(deadline, Repeat::harmless,
                [&](Endpoint& endpoint, grpc::ClientContext& context) -> EtcdResult<EtcdLease> {
                  etcdserverpb::LeaseGrantResponse response;
                  auto status = endpoint.lease->LeaseGrant(&context, request, &response);
                  if (!status.ok()) return tl::unexpected(error_from(status, endpoint.address));
                  if (!response.error().empty())
                    return tl::unexpected(
                        EtcdError{EtcdError::Class::other, 0, response.error(), endpoint.address});
                  return EtcdLease{response.id(), response.ttl()};
                });
}

EtcdResult<EtcdLease> Session::keep_alive(std::int64_t lease, Deadline deadline) {
  return invoke(
      deadline, Repeat::harmless,
      [&](Endpoint& endpoint, grpc::ClientContext& context) -> EtcdResult<EtcdLease> {
        auto stream = endpoint.lease->LeaseKeepAlive(&context);
        etcdserverpb::LeaseKeepAliveRequest request;
        request.set_id(lease);
        etcdserverpb::LeaseKeepAliveResponse response;
        bool answered = stream->Write(request) && stream->Read(&response);
        stream->WritesDone();
        if (answered) {
          context.TryCancel();  // one renewal per call; do not wait for the server to close
          stream->Finish();
          return EtcdLease{response.id(), response.ttl()};
        }
        auto status = stream->Finish();
        return tl::unexpected(error_from(
            status.ok() ? grpc::Status(grpc::StatusCode::UNAVAILABLE, "keep-alive stream closed")
                        : status,
            endpoint.address));
      });
}

EtcdResult<void> Session::revoke_lease(std::int64_t lease, Deadline deadline) {
  etcdserverpb::LeaseRevokeRequest request;
  request.set_id(lease);
  return invoke(
      deadline, Repeat::detected,
      [&](Endpoint& endpoint, grpc::ClientContext& context, bool repeated) -> EtcdResult<void> {
        etcdserverpb::LeaseRevokeResponse response;
        auto status = endpoint.lease->LeaseRevoke(&context, request, &response);
        // "lease not found" on a repeat: the attempt that failed revoked it.
        if (status.ok() || (repeated && status.error_code() == grpc::StatusCode::NOT_FOUND))
          return {};
        return tl::unexpected(error_from(status, endpoint.address));
      });
}

EtcdResult<EtcdLease> Session::lease_ttl(std::int64_t lease, Deadline deadline) {
  etcdserverpb::LeaseTimeToLiveRequest request;
  request.set_id(lease);
  return invoke(deadline, Repeat::harmless,
                [&](Endpoint& endpoint, grpc::ClientContext& context) -> EtcdResult<EtcdLease> {
                  etcdserverpb::LeaseTimeToLiveResponse response;
                  auto status = endpoint.lease->LeaseTimeToLive(&context, request, &response);
                  if (!status.ok()) return tl::unexpected(error_from(status, endpoint.address));
                  return EtcdLease{response.id(), response.ttl()};
                });
}

EtcdResult<std::unique_ptr<EtcdWatch>> Session::watch(const std::string& key,
                                                      const std::string& range_end,
                                                      std::int64_t start_revision,
                                                      Deadline deadline) {
  return open_watch(m_core, key, range_end, start_revision, deadline);
}

std::string Session::endpoint() const {
  return m_core->current().address;
}

}  // namespace drctl::etcd
