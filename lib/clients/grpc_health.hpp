#pragma once
// grpc.health.v1.Health/Check against one address, over libcurl's HTTP/2 (grpc_health.cpp).
#include <chrono>
#include <map>
#include <string>
#include <tl/expected.hpp>

#include "util/duration.hpp"

namespace drctl {

struct GrpcTarget {
  std::string address;  // host:port
  std::string service;  // "" asks for the server as a whole
  Millis connect_timeout{1'000};
  Millis rpc_timeout{1'000};
  bool tls = false;
  std::string ca, cert, key;  // PEM files
  std::string server_name;    // TLS name to verify instead of the host
  bool insecure = false;      // TLS without verifying the server
  std::map<std::string, std::string> metadata;
  std::string user_agent;
};

struct GrpcHealthAnswer {
  // The classes grpc_health_probe distinguishes, and then some.
  enum class Result {
    serving,
    not_serving,
    unknown,
    service_unknown,  // an answer
    not_found,        // NOT_FOUND: the server does not know that service name
    unimplemented,    // UNIMPLEMENTED: the server has no health service
    stream_reset,     // connected, but the stream was reset before any answer
    connect_failed,   // refused, reset, TLS handshake failed
    connect_timeout,  // still connecting at connect_timeout
    deadline,         // the RPC did not answer within rpc_timeout
    rpc_failed,       // any other RPC error
    config,           // a TLS file could not be read
  };
  Result result = Result::rpc_failed;
  std::string detail;  // the gRPC status message, or what went wrong
  double connect_ms = 0;
  double rpc_ms = 0;
};

class GrpcHealthClient {
 public:
  virtual ~GrpcHealthClient() = default;
  // Stops by `deadline` at the latest (connect and RPC timeouts are capped by it).
  virtual GrpcHealthAnswer check(const GrpcTarget& target,
                                 std::chrono::steady_clock::time_point deadline) = 0;
};

// The client; an error when libcurl cannot be loaded.
tl::expected<GrpcHealthClient*, std::string> grpc_health_client();

std::string_view grpc_result_name(GrpcHealthAnswer::Result result);

}  // namespace drctl
