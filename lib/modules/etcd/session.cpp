// EtcdSession over gRPC: every unary call goes to the current endpoint and, when that one is
// unreachable or has lost its leader, to the next, until one answers or the deadline passes.
#include "session.hpp"

#include <fmt/format.h>

#include "watch.hpp"

namespace drctl::etcd {

template <class Call>
auto Session::invoke(Deadline deadline, Call&& call)
    -> decltype(call(std::declval<Endpoint&>(), std::declval<grpc::ClientContext&>())) {
  bool reauthenticated = false;
  while (true) {
    Endpoint& endpoint = m_core->current();
    auto context = m_core->context(deadline);
    auto result = call(endpoint, *context);
    if (result) {
      m_core->succeeded();
      return result;
    }
    const EtcdError& error = result.error();
    if (error.kind == EtcdError::Class::auth && !reauthenticated &&
        !m_core->connection().user.empty() &&
        error.message.find("invalid auth token") != std::string::npos) {
      reauthenticated = true;  // simple tokens expire; get a fresh one once
      if (m_core->authenticate(endpoint, deadline)) continue;
    }
    if (!worth_failing_over(error) || std::chrono::steady_clock::now() >= deadline ||
        !m_core->fail_over())
      return result;
    if (!m_core->connection().user.empty()) m_core->authenticate(m_core->current(), deadline);
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
  return invoke(deadline,
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

// A put or delete as one fenced transaction; the result carries the previous value.
EtcdResult<EtcdPutResult> Session::fenced_put(etcdserverpb::RequestOp op, Deadline deadline) {
  etcdserverpb::TxnRequest message;
  *message.add_success() = std::move(op);
  add_fence(message);
  return invoke(deadline,
                [&](Endpoint& endpoint, grpc::ClientContext& context) -> EtcdResult<EtcdPutResult> {
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

EtcdResult<EtcdPutResult> Session::put(const std::string& key, const std::string& value,
                                       std::int64_t lease, Deadline deadline) {
  if (m_fence) {
    etcdserverpb::RequestOp op;
    auto* put = op.mutable_request_put();
    put->set_key(key);
    put->set_value(value);
    put->set_lease(lease);
    put->set_prev_kv(true);
    return fenced_put(std::move(op), deadline);
  }
  etcdserverpb::PutRequest message;
  message.set_key(key);
  message.set_value(value);
  message.set_lease(lease);
  message.set_prev_kv(true);
  return invoke(deadline,
                [&](Endpoint& endpoint, grpc::ClientContext& context) -> EtcdResult<EtcdPutResult> {
                  etcdserverpb::PutResponse response;
                  auto status = endpoint.kv->Put(&context, message, &response);
                  if (!status.ok()) return tl::unexpected(error_from(status, endpoint.address));
                  EtcdPutResult result;
                  result.header = header_from(response.header());
                  if (response.has_prev_kv()) result.previous = key_value_from(response.prev_kv());
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
      deadline,
      [&](Endpoint& endpoint, grpc::ClientContext& context) -> EtcdResult<EtcdTxnPutResult> {
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
  return invoke(deadline,
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
  add_fence(message);
  return invoke(deadline,
                [&](Endpoint& endpoint, grpc::ClientContext& context) -> EtcdResult<bool> {
                  etcdserverpb::TxnResponse response;
                  auto status = endpoint.kv->Txn(&context, message, &response);
                  if (!status.ok()) return tl::unexpected(error_from(status, endpoint.address));
                  if (auto refused = fence_refusal(response, endpoint.address))
                    return tl::unexpected(*refused);
                  return response.succeeded();
                });
}

EtcdResult<std::vector<EtcdKeyValue>> Session::erase(const std::string& key,
                                                     const std::string& range_end,
                                                     Deadline deadline) {
  if (m_fence) {
    etcdserverpb::RequestOp op;
    auto* erase = op.mutable_request_delete_range();
    erase->set_key(key);
    erase->set_range_end(range_end);
    erase->set_prev_kv(true);
    etcdserverpb::TxnRequest message;
    *message.add_success() = std::move(op);
    add_fence(message);
    return invoke(deadline,
                  [&](Endpoint& endpoint,
                      grpc::ClientContext& context) -> EtcdResult<std::vector<EtcdKeyValue>> {
                    etcdserverpb::TxnResponse response;
                    auto status = endpoint.kv->Txn(&context, message, &response);
                    if (!status.ok()) return tl::unexpected(error_from(status, endpoint.address));
                    if (auto refused = fence_refusal(response, endpoint.address))
                      return tl::unexpected(*refused);
                    std::vector<EtcdKeyValue> previous;
                    for (const auto& kv : response.responses(0).response_delete_range().prev_kvs())
                      previous.push_back(key_value_from(kv));
                    return previous;
                  });
  }
  etcdserverpb::DeleteRangeRequest message;
  message.set_key(key);
  message.set_range_end(range_end);
  message.set_prev_kv(true);
  return invoke(deadline,
                [&](Endpoint& endpoint,
                    grpc::ClientContext& context) -> EtcdResult<std::vector<EtcdKeyValue>> {
                  etcdserverpb::DeleteRangeResponse response;
                  auto status = endpoint.kv->DeleteRange(&context, message, &response);
                  if (!status.ok()) return tl::unexpected(error_from(status, endpoint.address));
                  std::vector<EtcdKeyValue> previous;
                  for (const auto& kv : response.prev_kvs()) previous.push_back(key_value_from(kv));
                  return previous;
                });
}

EtcdResult<EtcdStatus> Session::status(Deadline deadline) {
  return invoke(
      deadline, [&](Endpoint& endpoint, grpc::ClientContext& context) -> EtcdResult<EtcdStatus> {
        etcdserverpb::StatusResponse response;
        auto status =
            endpoint.maintenance->Status(&context, etcdserverpb::StatusRequest(), &response);
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
      deadline,
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
      deadline,
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
  return invoke(deadline,
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
  return invoke(deadline,
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
      deadline, [&](Endpoint& endpoint, grpc::ClientContext& context) -> EtcdResult<EtcdLease> {
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
  return invoke(deadline,
                [&](Endpoint& endpoint, grpc::ClientContext& context) -> EtcdResult<void> {
                  etcdserverpb::LeaseRevokeResponse response;
                  auto status = endpoint.lease->LeaseRevoke(&context, request, &response);
                  if (!status.ok()) return tl::unexpected(error_from(status, endpoint.address));
                  return {};
                });
}

EtcdResult<EtcdLease> Session::lease_ttl(std::int64_t lease, Deadline deadline) {
  etcdserverpb::LeaseTimeToLiveRequest request;
  request.set_id(lease);
  return invoke(deadline,
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
