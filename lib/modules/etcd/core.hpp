#pragma once
// What a session and its watches share: one gRPC channel per endpoint, the auth token, and
// the rules for turning gRPC statuses into etcd error classes.
#include <grpcpp/grpcpp.h>

#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "clients/etcd.hpp"
#include "rpc.grpc.pb.h"

namespace drctl::etcd {

struct Endpoint {
  std::string address;  // host:port, as given
  std::shared_ptr<grpc::Channel> channel;
  std::unique_ptr<etcdserverpb::KV::Stub> kv;
  std::unique_ptr<etcdserverpb::Watch::Stub> watch;
  std::unique_ptr<etcdserverpb::Lease::Stub> lease;
  std::unique_ptr<etcdserverpb::Cluster::Stub> cluster;
  std::unique_ptr<etcdserverpb::Maintenance::Stub> maintenance;
  std::unique_ptr<etcdserverpb::Auth::Stub> auth;
};

class Core {
 public:
  // Fails only on unreadable TLS files; channels connect lazily.
  static tl::expected<std::shared_ptr<Core>, EtcdError> create(const EtcdConnection& connection);

  // Dials from the current endpoint on, each within dial_timeout; authenticates when a user is set.
  EtcdResult<void> dial(Deadline deadline);
  // Remembers that the current endpoint failed or stalled (for this session and every later one
  // in this process: they start at an endpoint that has not) and moves to the next.
  void fail_over();
  // The current endpoint answered: it is no longer avoided.
  void succeeded();
  // Leaves the current endpoint for the next one not avoided, when another session (the lock's
  // keep-alive, the journal, an earlier step) found it failed or stalled since.
  void avoid_failed();
  // The deadline of one attempt on the current endpoint, with `untried` endpoints (this one
  // included) left for the call: a slice of what remains, so that a member that accepts the
  // connection and never answers costs a part of the call's deadline, not all of it.
  static Deadline attempt_deadline(Deadline deadline, std::size_t untried);

  Endpoint& current();
  std::size_t current_index() const;
  std::size_t size() const { return m_endpoints.size(); }
  Endpoint& at(std::size_t index) { return *m_endpoints[index]; }

  // A context carrying the deadline and the auth token.
  std::unique_ptr<grpc::ClientContext> context(Deadline deadline) const;
  std::unique_ptr<grpc::ClientContext> stream_context() const;
  EtcdResult<void> authenticate(Endpoint& endpoint, Deadline deadline);
  const EtcdConnection& connection() const { return m_connection; }

 private:
  EtcdConnection m_connection;
  std::vector<std::unique_ptr<Endpoint>> m_endpoints;
  mutable std::mutex m_mutex;
  std::size_t m_current = 0;
  std::string m_token;
};

EtcdError error_from(const grpc::Status& status, const std::string& endpoint);
// Errors after which another endpoint may do better: the member cannot be reached, or has no
// leader.
bool worth_failing_over(const EtcdError& error);
// A timeout: the member may be stalled (another endpoint may do better), and a write sent to
// it may still have been applied (or be applied later).
bool stalled(const EtcdError& error);
std::chrono::system_clock::time_point to_system(Deadline deadline);

EtcdHeader header_from(const etcdserverpb::ResponseHeader& header);
EtcdKeyValue key_value_from(const mvccpb::KeyValue& kv);

}  // namespace drctl::etcd
