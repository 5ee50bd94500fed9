// The gRPC module (drctl-grpc.so): gRPC clients, loaded by the core on first use.
#include <fmt/format.h>
#include <grpcpp/grpcpp.h>
#include <grpcpp/security/tls_credentials_options.h>

#include <fstream>
#include <sstream>

#include "clients/grpc_health.hpp"
#include "grpc_health.grpc.pb.h"

namespace drctl {
namespace {

using Clock = std::chrono::steady_clock;

std::optional<std::string> read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  std::ostringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

// gRPC takes only system_clock deadlines; drctl's are monotonic. Converted at the last moment.
std::chrono::system_clock::time_point wall(Clock::time_point when) {
  return std::chrono::system_clock::now() + std::chrono::duration_cast<std::chrono::system_clock::duration>(when - Clock::now());
}

double ms_since(Clock::time_point start) {
  return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

tl::expected<std::shared_ptr<grpc::ChannelCredentials>, std::string> credentials_for(const GrpcTarget& target) {
  if (!target.tls) return grpc::InsecureChannelCredentials();
  if (target.insecure) {
    grpc::experimental::TlsChannelCredentialsOptions options;
    options.set_verify_server_certs(false);
    options.set_check_call_host(false);
    return grpc::experimental::TlsCredentials(options);
  }
  grpc::SslCredentialsOptions options;
  for (auto [path, slot] : {std::pair{&target.ca, &options.pem_root_certs}, std::pair{&target.cert, &options.pem_cert_chain},
                            std::pair{&target.key, &options.pem_private_key}}) {
    if (path->empty()) continue;
    auto content = read_file(*path);
    if (!content) return tl::unexpected(fmt::format("cannot read {}", *path));
    *slot = *content;
  }
  return grpc::SslCredentials(options);
}

class ModuleGrpcHealthClient : public GrpcHealthClient {
 public:
  GrpcHealthAnswer check(const GrpcTarget& target, Clock::time_point deadline) override {
    using R = GrpcHealthAnswer::Result;
    GrpcHealthAnswer answer;
    auto credentials = credentials_for(target);
    if (!credentials) return {R::config, credentials.error()};
    grpc::ChannelArguments args;
    if (!target.server_name.empty()) args.SetSslTargetNameOverride(target.server_name);
    if (!target.user_agent.empty()) args.SetUserAgentPrefix(target.user_agent);
    args.SetInt(GRPC_ARG_ENABLE_RETRIES, 0);  // drctl's own retries are the only ones
    auto channel = grpc::CreateCustomChannel(target.address, *credentials, args);

    auto start = Clock::now();
    auto connect_by = std::min(deadline, start + target.connect_timeout);
    // Watch the channel rather than WaitForConnected(): a refused port must fail at once, not
    // after connect_timeout (gRPC would keep retrying until then).
    auto state = channel->GetState(true);
    while (state != GRPC_CHANNEL_READY) {
      if (state == GRPC_CHANNEL_TRANSIENT_FAILURE || state == GRPC_CHANNEL_SHUTDOWN) {
        answer.connect_ms = ms_since(start);
        answer.result = R::connect_failed;
        answer.detail = "connection failed (refused, reset or TLS handshake)";
        return answer;
      }
      if (!channel->WaitForStateChange(state, wall(connect_by))) {
        answer.connect_ms = ms_since(start);
        answer.result = R::connect_timeout;
        answer.detail = fmt::format("still connecting after {:.0f} ms", answer.connect_ms);
        return answer;
      }
      state = channel->GetState(true);
    }
    answer.connect_ms = ms_since(start);

    auto stub = grpc::health::v1::Health::NewStub(channel);
    grpc::ClientContext context;
    context.set_deadline(wall(std::min(deadline, Clock::now() + target.rpc_timeout)));
    for (const auto& [k, v] : target.metadata) context.AddMetadata(k, v);
    grpc::health::v1::HealthCheckRequest request;
    request.set_service(target.service);
    grpc::health::v1::HealthCheckResponse response;
    auto rpc_start = Clock::now();
    grpc::Status status = stub->Check(&context, request, &response);
    answer.rpc_ms = ms_since(rpc_start);
    answer.detail = status.error_message();
    switch (status.error_code()) {
      case grpc::StatusCode::OK:
        switch (response.status()) {
          case grpc::health::v1::HealthCheckResponse::SERVING: answer.result = R::serving; break;
          case grpc::health::v1::HealthCheckResponse::NOT_SERVING: answer.result = R::not_serving; break;
          case grpc::health::v1::HealthCheckResponse::SERVICE_UNKNOWN: answer.result = R::service_unknown; break;
          default: answer.result = R::unknown; break;
        }
        break;
      case grpc::StatusCode::NOT_FOUND: answer.result = R::not_found; break;
      case grpc::StatusCode::UNIMPLEMENTED: answer.result = R::unimplemented; break;
      case grpc::StatusCode::DEADLINE_EXCEEDED: answer.result = R::deadline; break;
      default:
        answer.result = R::rpc_failed;
        answer.detail = fmt::format("{} (code {})", status.error_message(), static_cast<int>(status.error_code()));
    }
    return answer;
  }
};

}  // namespace
}  // namespace drctl

extern "C" drctl::GrpcHealthClient* drctl_grpc_health_client_v1() {
  static drctl::ModuleGrpcHealthClient client;
  return &client;
}
