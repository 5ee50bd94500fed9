#include "clients/grpc_health.hpp"

#include "clients/module.hpp"

namespace drctl {

tl::expected<GrpcHealthClient*, std::string> grpc_health_client() {
  auto symbol = module_symbol("grpc", "drctl_grpc_health_client_v1");
  if (!symbol) return tl::unexpected(symbol.error());
  auto factory = reinterpret_cast<GrpcHealthClient* (*)()>(*symbol);
  return factory();
}

std::string_view grpc_result_name(GrpcHealthAnswer::Result result) {
  using R = GrpcHealthAnswer::Result;
  switch (result) {
    case R::serving: return "SERVING";
    case R::not_serving: return "NOT_SERVING";
    case R::unknown: return "UNKNOWN";
    case R::service_unknown: return "SERVICE_UNKNOWN";
    case R::not_found: return "NOT_FOUND";
    case R::unimplemented: return "UNIMPLEMENTED";
    case R::connect_failed: return "CONNECT_FAILED";
    case R::connect_timeout: return "CONNECT_TIMEOUT";
    case R::deadline: return "DEADLINE_EXCEEDED";
    case R::rpc_failed: return "RPC_FAILED";
    case R::config: return "CONFIG";
  }
  return "?";
}

}  // namespace drctl
