#include "clients/grpc_wire.hpp"

#include <fmt/format.h>

#include <cctype>
#include <cstdint>

namespace drctl {
namespace {

using R = GrpcHealthAnswer::Result;

// gRPC status codes used here (grpc/include/grpc/status.h).
constexpr int k_grpc_ok = 0;
constexpr int k_grpc_deadline_exceeded = 4;
constexpr int k_grpc_not_found = 5;
constexpr int k_grpc_unimplemented = 12;

void put_varint(std::string& out, std::uint64_t value) {
  while (value >= 0x80) {
    out += static_cast<char>((value & 0x7f) | 0x80);
    value >>= 7;
  }
  out += static_cast<char>(value);
}

}  // namespace

std::string health_request_frame(const std::string& service) {
  std::string message;
  if (!service.empty()) {
    message += '\x0a';  // field 1, length-delimited
    put_varint(message, service.size());
    message += service;
  }
  std::string frame(1, '\0');
  for (int shift = 24; shift >= 0; shift -= 8)
    frame += static_cast<char>((message.size() >> shift) & 0xff);
  return frame + message;
}

std::optional<int> health_response_status(const std::string& body) {
  if (body.size() < 5 || body[0] != 0) return std::nullopt;  // too short, or compressed
  std::size_t length = 0;
  for (int i = 1; i <= 4; ++i) length = (length << 8) | static_cast<unsigned char>(body[i]);
  if (body.size() < 5 + length) return std::nullopt;
  int status = 0;  // proto3: an absent field is 0 (UNKNOWN)
  std::size_t i = 5;
  while (i < 5 + length) {
    unsigned char key = static_cast<unsigned char>(body[i++]);
    std::uint64_t value = 0;
    int shift = 0;
    if ((key & 7) != 0) return std::nullopt;  // only varint fields are expected
    while (i < 5 + length) {
      unsigned char byte = static_cast<unsigned char>(body[i++]);
      value |= static_cast<std::uint64_t>(byte & 0x7f) << shift;
      shift += 7;
      if ((byte & 0x80) == 0) break;
    }
    if ((key >> 3) == 1) status = static_cast<int>(value);
  }
  return status;
}

std::string percent_decode(const std::string& text) {
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '%' && i + 2 < text.size() &&
        std::isxdigit(static_cast<unsigned char>(text[i + 1])) &&
        std::isxdigit(static_cast<unsigned char>(text[i + 2]))) {
      out += static_cast<char>(std::stoi(text.substr(i + 1, 2), nullptr, 16));
      i += 2;
    } else {
      out += text[i];
    }
  }
  return out;
}

GrpcHealthAnswer answer_from_trailers(int grpc_status, const std::string& grpc_message,
                                      const std::string& body) {
  GrpcHealthAnswer answer;
  answer.detail = percent_decode(grpc_message);
  switch (grpc_status) {
    case k_grpc_ok: {
      auto serving = health_response_status(body);
      if (!serving) return {R::rpc_failed, "malformed HealthCheckResponse"};
      answer.result = *serving == 1   ? R::serving
                      : *serving == 2 ? R::not_serving
                      : *serving == 3 ? R::service_unknown
                                      : R::unknown;
      return answer;
    }
    case k_grpc_not_found:
      answer.result = R::not_found;
      return answer;
    case k_grpc_unimplemented:
      answer.result = R::unimplemented;
      return answer;
    case k_grpc_deadline_exceeded:
      answer.result = R::deadline;
      return answer;
    default:
      answer.result = R::rpc_failed;
      answer.detail = fmt::format("{} (code {})", answer.detail, grpc_status);
      return answer;
  }
}

}  // namespace drctl
