#include "core.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <climits>
#include <fstream>
#include <map>
#include <mutex>
#include <set>
#include <sstream>

namespace drctl::etcd {
namespace {

std::string strip_scheme(const std::string& endpoint, bool& tls) {
  for (std::string scheme : {"https://", "http://"}) {
    if (endpoint.rfind(scheme, 0) == 0) {
      tls = scheme == "https://";
      return endpoint.substr(scheme.size());
    }
  }
  return endpoint;
}

tl::expected<std::string, EtcdError> read_pem(const std::string& path, const std::string& what) {
  std::ifstream in(path);
  if (!in)
    return tl::unexpected(
        EtcdError{EtcdError::Class::other, 0, fmt::format("cannot read {} {}", what, path), ""});
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// Endpoints that failed or stalled in this process, until one answers again: a session starts
// at the first of its endpoints not among them, so a member that accepts connections and never
// answers costs one attempt per process, not one per step.
class Avoided {
 public:
  void add(const std::string& address) {
    std::lock_guard lock(m_mutex);
    m_addresses.insert(address);
  }
  void remove(const std::string& address) {
    std::lock_guard lock(m_mutex);
    m_addresses.erase(address);
  }
  bool contains(const std::string& address) const {
    std::lock_guard lock(m_mutex);
    return m_addresses.count(address) > 0;
  }

 private:
  mutable std::mutex m_mutex;
  std::set<std::string> m_addresses;
};

Avoided& avoided() {
  static Avoided instance;
  return instance;
}

// No attempt gets less than this (unless less remains): a short deadline split between three
// endpoints still leaves a healthy member time to answer.
constexpr std::chrono::milliseconds k_attempt_floor{250};

}  // namespace

// One channel per endpoint and credentials for the whole process: a session opened later (by a
// later step, or after a `prewarm` step) reuses a connection that is already up.
std::shared_ptr<grpc::Channel> shared_channel(
    const std::string& address, const std::string& identity,
    const std::shared_ptr<grpc::ChannelCredentials>& credentials,
    const grpc::ChannelArguments& args) {
  static std::mutex mutex;
  static std::map<std::string, std::shared_ptr<grpc::Channel>> channels;
  std::lock_guard lock(mutex);
  auto& channel = channels[address + "|" + identity];
  if (!channel) channel = grpc::CreateCustomChannel(address, credentials, args);
  return channel;
}

std::chrono::system_clock::time_point to_system(Deadline deadline) {
  // gRPC deadlines are on the system clock.
  return std::chrono::system_clock::now() +
         std::chrono::duration_cast<std::chrono::system_clock::duration>(
             deadline - std::chrono::steady_clock::now());
}

tl::expected<std::shared_ptr<Core>, EtcdError> Core::create(const EtcdConnection& connection) {
  auto core = std::make_shared<Core>();
  core->m_connection = connection;
  bool any_tls_file = !connection.ca.empty() || !connection.cert.empty();
  grpc::SslCredentialsOptions ssl;
  if (!connection.ca.empty()) {
    auto pem = read_pem(connection.ca, "ca");
    if (!pem) return tl::unexpected(pem.error());
    ssl.pem_root_certs = *pem;
  }
  if (!connection.cert.empty()) {
    auto cert = read_pem(connection.cert, "cert");
    if (!cert) return tl::unexpected(cert.error());
    auto key = read_pem(connection.key, "key");
    if (!key) return tl::unexpected(key.error());
    ssl.pem_cert_chain = *cert;
    ssl.pem_private_key = *key;
  }
  grpc::ChannelArguments args;
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 100);
  args.SetInt(GRPC_ARG_MIN_RECONNECT_BACKOFF_MS, 100);
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 1000);
  args.SetMaxReceiveMessageSize(INT_MAX);  // pages are bounded by key count, not bytes
  for (const auto& given : connection.endpoints) {
    bool tls = false;
    std::string address = strip_scheme(given, tls);
    auto credentials =
        (tls || any_tls_file) ? grpc::SslCredentials(ssl) : grpc::InsecureChannelCredentials();
    auto endpoint = std::make_unique<Endpoint>();
    endpoint->address = address;
    std::string identity = (tls || any_tls_file) ? "tls|" + connection.ca + "|" + connection.cert +
                                                       "|" + connection.key
                                                 : "plain";
    endpoint->channel = shared_channel(address, identity, credentials, args);
    endpoint->kv = etcdserverpb::KV::NewStub(endpoint->channel);
    endpoint->watch = etcdserverpb::Watch::NewStub(endpoint->channel);
    endpoint->lease = etcdserverpb::Lease::NewStub(endpoint->channel);
    endpoint->cluster = etcdserverpb::Cluster::NewStub(endpoint->channel);
    endpoint->maintenance = etcdserverpb::Maintenance::NewStub(endpoint->channel);
    endpoint->auth = etcdserverpb::Auth::NewStub(endpoint->channel);
    core->m_endpoints.push_back(std::move(endpoint));
  }
  for (std::size_t i = 0; i < core->m_endpoints.size(); ++i) {
    if (!avoided().contains(core->m_endpoints[i]->address)) {
      core->m_current = i;
      break;
    }
  }
  return core;
}

EtcdResult<void> Core::dial(Deadline deadline) {
  if (m_endpoints.empty())
    return tl::unexpected(EtcdError{EtcdError::Class::other, 0, "no endpoints", ""});
  std::vector<std::string> failures;
  for (std::size_t tried = 0; tried < m_endpoints.size(); ++tried) {
    Endpoint& endpoint = current();
    auto dial_deadline =
        std::min(deadline, std::chrono::steady_clock::now() + m_connection.dial_timeout);
    if (endpoint.channel->WaitForConnected(to_system(dial_deadline))) {
      if (!m_connection.user.empty()) {
        auto authenticated = authenticate(endpoint, deadline);
        if (!authenticated) return authenticated;
      }
      succeeded();
      return {};
    }
    failures.push_back(endpoint.address);
    fail_over();
    if (std::chrono::steady_clock::now() >= deadline) break;
  }
  return tl::unexpected(
      EtcdError{EtcdError::Class::unreachable, GRPC_STATUS_UNAVAILABLE,
                fmt::format("no connection within dial_timeout {}ms to {}",
                            m_connection.dial_timeout.count(), fmt::join(failures, ", ")),
                fmt::format("{}", fmt::join(m_connection.endpoints, ","))});
}

void Core::fail_over() {
  std::lock_guard lock(m_mutex);
  avoided().add(m_endpoints[m_current]->address);
  m_current = (m_current + 1) % m_endpoints.size();
}

void Core::succeeded() {
  avoided().remove(current().address);
}

void Core::avoid_failed() {
  std::lock_guard lock(m_mutex);
  for (std::size_t step = 0; step < m_endpoints.size(); ++step) {
    std::size_t index = (m_current + step) % m_endpoints.size();
    if (!avoided().contains(m_endpoints[index]->address)) {
      m_current = index;
      return;
    }
  }
}

// Why a slice and not a fixed cap per attempt: the deadlines drctl's callers give range from a
// lock keep-alive's ttl/3 (hundreds of ms) to a paged read's step timeout (minutes), and one
// cap cannot suit both; a third of a 5 s journal write or of a 60 s read is time enough for a
// healthy member and leaves the rest for the others. The last endpoint gets all that is left.
Deadline Core::attempt_deadline(Deadline deadline, std::size_t untried) {
  auto now = std::chrono::steady_clock::now();
  if (untried <= 1 || deadline <= now) return deadline;
  auto left = deadline - now;
  auto slice = std::max<std::chrono::steady_clock::duration>(k_attempt_floor, left / untried);
  return slice >= left ? deadline : now + slice;
}

Endpoint& Core::current() {
  std::lock_guard lock(m_mutex);
  return *m_endpoints[m_current];
}

std::size_t Core::current_index() const {
  std::lock_guard lock(m_mutex);
  return m_current;
}

std::unique_ptr<grpc::ClientContext> Core::context(Deadline deadline) const {
  auto context = stream_context();
  context->set_deadline(to_system(deadline));
  return context;
}

std::unique_ptr<grpc::ClientContext> Core::stream_context() const {
  auto context = std::make_unique<grpc::ClientContext>();
  std::lock_guard lock(m_mutex);
  if (!m_token.empty()) context->AddMetadata("token", m_token);
  return context;
}

EtcdResult<void> Core::authenticate(Endpoint& endpoint, Deadline deadline) {
  grpc::ClientContext context;
  context.set_deadline(to_system(deadline));
  etcdserverpb::AuthenticateRequest request;
  request.set_name(m_connection.user);
  request.set_password(m_connection.password);
  etcdserverpb::AuthenticateResponse response;
  auto status = endpoint.auth->Authenticate(&context, request, &response);
  if (!status.ok()) {
    auto error = error_from(status, endpoint.address);
    if (error.kind == EtcdError::Class::other) error.kind = EtcdError::Class::auth;
    error.message = fmt::format("authenticating as {}: {}", m_connection.user, error.message);
    return tl::unexpected(error);
  }
  std::lock_guard lock(m_mutex);
  m_token = response.token();
  return {};
}

EtcdError error_from(const grpc::Status& status, const std::string& endpoint) {
  const std::string& message = status.error_message();
  auto contains = [&](const char* text) { return message.find(text) != std::string::npos; };
  EtcdError error{EtcdError::Class::other, static_cast<int>(status.error_code()), message,
                  endpoint};
  switch (status.error_code()) {
    case grpc::StatusCode::UNAVAILABLE:
      if (contains("no leader"))
        error.kind = EtcdError::Class::no_leader;
      else if (contains("request timed out") || contains("leader changed"))
        error.kind = EtcdError::Class::timeout;
      else
        error.kind = EtcdError::Class::unreachable;
      break;
    case grpc::StatusCode::DEADLINE_EXCEEDED:
      error.kind = EtcdError::Class::timeout;
      break;
    case grpc::StatusCode::UNAUTHENTICATED:
    case grpc::StatusCode::PERMISSION_DENIED:
      error.kind = EtcdError::Class::auth;
      break;
    case grpc::StatusCode::INVALID_ARGUMENT:
      if (contains("authentication failed") || contains("user name") || contains("auth token"))
        error.kind = EtcdError::Class::auth;
      break;
    case grpc::StatusCode::OUT_OF_RANGE:
      if (contains("compacted")) error.kind = EtcdError::Class::compacted;
      break;
    case grpc::StatusCode::FAILED_PRECONDITION:
      error.kind = EtcdError::Class::precondition;
      break;
    default:
      break;
  }
  return error;
}

bool worth_failing_over(const EtcdError& error) {
  return error.kind == EtcdError::Class::unreachable || error.kind == EtcdError::Class::no_leader;
}

bool stalled(const EtcdError& error) {
  return error.kind == EtcdError::Class::timeout;
}

EtcdHeader header_from(const etcdserverpb::ResponseHeader& header) {
  return {header.cluster_id(), header.member_id(), header.revision(), header.raft_term()};
}

EtcdKeyValue key_value_from(const mvccpb::KeyValue& kv) {
  return {kv.key(), kv.value(), kv.create_revision(), kv.mod_revision(), kv.version(), kv.lease()};
}

}  // namespace drctl::etcd
