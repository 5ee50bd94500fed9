#pragma once
// gRPC's wire format for grpc.health.v1.Health/Check, as pure functions: the request frame,
// the response message, and what the grpc-status / grpc-message trailers say.
#include <optional>
#include <string>

#include "clients/grpc_health.hpp"

namespace drctl {

// HealthCheckRequest{service} in a gRPC frame: flag 0 (uncompressed), 4-byte length, message.
std::string health_request_frame(const std::string& service);
// HealthCheckResponse.status (field 1, varint) from a gRPC frame; nullopt when malformed,
// compressed or cut short. An absent field is 0 (UNKNOWN), as proto3 says.
std::optional<int> health_response_status(const std::string& body);
// grpc-message is percent-encoded.
std::string percent_decode(const std::string& text);
// The result that a grpc-status trailer, its grpc-message and the response body make.
GrpcHealthAnswer answer_from_trailers(int grpc_status, const std::string& grpc_message,
                                      const std::string& body);

}  // namespace drctl
