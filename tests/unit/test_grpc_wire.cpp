// gRPC's wire format for grpc.health.v1.Health/Check: the request frame, the response message
// and the trailers, byte for byte.
#include <doctest/doctest.h>

#include <initializer_list>

#include "clients/grpc_wire.hpp"

using namespace drctl;
using Result = GrpcHealthAnswer::Result;

namespace {

std::string bytes(std::initializer_list<int> values) {
  std::string out;
  for (int v : values) out += static_cast<char>(v);
  return out;
}

// A HealthCheckResponse frame whose message is `message`.
std::string frame(const std::string& message) {
  return bytes({0, 0, 0, 0, static_cast<int>(message.size())}) + message;
}

const std::string k_serving = bytes({0x00, 0x00, 0x00, 0x00, 0x02, 0x08, 0x01});
const std::string k_not_serving = bytes({0x00, 0x00, 0x00, 0x00, 0x02, 0x08, 0x02});

}  // namespace

TEST_CASE("the request for the whole server is an empty message in an uncompressed frame") {
  CHECK(health_request_frame("") == bytes({0x00, 0x00, 0x00, 0x00, 0x00}));
}

TEST_CASE("the request for a service is field 1 with its length, after a big-endian length") {
  CHECK(health_request_frame("order.Order") ==
        bytes({0x00, 0x00, 0x00, 0x00, 0x0d, 0x0a, 0x0b}) + "order.Order");
}

TEST_CASE("a service name longer than 127 bytes has a two-byte varint length") {
  const std::string service(300, 's');
  // 300 = 0b10'0101100: varint AC 02. Message: 1 + 2 + 300 = 303 = 0x012F bytes.
  const std::string expected = bytes({0x00, 0x00, 0x00, 0x01, 0x2f, 0x0a, 0xac, 0x02}) + service;
  CHECK(health_request_frame(service) == expected);
  const std::string exactly_128(128, 'x');  // 128: varint 80 01; message 131 = 0x83 bytes
  CHECK(health_request_frame(exactly_128) ==
        bytes({0x00, 0x00, 0x00, 0x00, 0x83, 0x0a, 0x80, 0x01}) + exactly_128);
  const std::string exactly_127(127, 'x');  // still one byte: 7F; message 129 = 0x81 bytes
  CHECK(health_request_frame(exactly_127) ==
        bytes({0x00, 0x00, 0x00, 0x00, 0x81, 0x0a, 0x7f}) + exactly_127);
}

TEST_CASE("the response's status field is read from the frame") {
  CHECK(health_response_status(k_serving) == 1);
  CHECK(health_response_status(k_not_serving) == 2);
  CHECK(health_response_status(frame(bytes({0x08, 0x03}))) == 3);  // SERVICE_UNKNOWN
  // Another varint field before it is skipped.
  CHECK(health_response_status(frame(bytes({0x10, 0x05, 0x08, 0x01}))) == 1);
}

TEST_CASE("an empty response message is status 0, UNKNOWN, as proto3 leaves absent fields") {
  CHECK(health_response_status(bytes({0x00, 0x00, 0x00, 0x00, 0x00})) == 0);
}

TEST_CASE("malformed responses have no status") {
  CHECK_FALSE(health_response_status("").has_value());
  CHECK_FALSE(health_response_status(bytes({0x00, 0x00, 0x00, 0x00})).has_value());  // cut
  // The compressed flag: drctl asks for no compression and cannot read it.
  CHECK_FALSE(
      health_response_status(bytes({0x01, 0x00, 0x00, 0x00, 0x02, 0x08, 0x01})).has_value());
  // The length says 5 bytes; 2 follow.
  CHECK_FALSE(
      health_response_status(bytes({0x00, 0x00, 0x00, 0x00, 0x05, 0x08, 0x01})).has_value());
  CHECK_FALSE(
      health_response_status(bytes({0x00, 0x00, 0x00, 0x01, 0x00, 0x08, 0x01})).has_value());
  // Field 1 as length-delimited (wire type 2), not a varint.
  CHECK_FALSE(health_response_status(frame(bytes({0x0a, 0x01, 0x01}))).has_value());
  // A fixed32 field (wire type 5) before a valid status still makes it malformed.
  CHECK_FALSE(health_response_status(frame(bytes({0x15, 0, 0, 0, 0, 0x08, 0x01}))).has_value());
}

TEST_CASE("percent_decode decodes %XX and leaves anything else as written") {
  CHECK(percent_decode("a%20b%2Fc") == "a b/c");
  CHECK(percent_decode("a%2fc") == "a/c");  // lower-case hex too
  CHECK(percent_decode("x%41") == "xA");    // at the very end
  CHECK(percent_decode("100%") == "100%");
  CHECK(percent_decode("a%2") == "a%2");
  CHECK(percent_decode("%zz") == "%zz");
  CHECK(percent_decode("%%41") == "%A");
  CHECK(percent_decode("") == "");
}

TEST_CASE("grpc-status 0 takes its answer from the response body") {
  auto serving = answer_from_trailers(0, "", k_serving);
  CHECK(serving.result == Result::serving);
  CHECK(serving.detail == "");
  CHECK(answer_from_trailers(0, "", k_not_serving).result == Result::not_serving);
  CHECK(answer_from_trailers(0, "", frame(bytes({0x08, 0x03}))).result == Result::service_unknown);
  CHECK(answer_from_trailers(0, "", frame("")).result == Result::unknown);
  CHECK(answer_from_trailers(0, "", frame(bytes({0x08, 0x07}))).result == Result::unknown);
}

TEST_CASE("grpc-status 0 with a malformed body is a failed RPC, not an answer") {
  for (const std::string& body :
       {std::string(), bytes({0x01, 0x00, 0x00, 0x00, 0x02, 0x08, 0x01}),
        bytes({0x00, 0x00, 0x00, 0x00, 0x05, 0x08, 0x01}), frame(bytes({0x0a, 0x01, 0x01}))}) {
    auto answer = answer_from_trailers(0, "", body);
    CHECK(answer.result == Result::rpc_failed);
    CHECK(answer.detail == "malformed HealthCheckResponse");
  }
}

TEST_CASE("grpc-status codes with a meaning of their own") {
  auto not_found = answer_from_trailers(5, "unknown%20service", "");
  CHECK(not_found.result == Result::not_found);
  CHECK(not_found.detail == "unknown service");
  CHECK(answer_from_trailers(12, "", "").result == Result::unimplemented);
  CHECK(answer_from_trailers(4, "Deadline%20Exceeded", "").result == Result::deadline);
  // A not-OK status never reads the body, even a SERVING one.
  CHECK(answer_from_trailers(5, "", k_serving).result == Result::not_found);
}

TEST_CASE("any other grpc-status is a failed RPC whose detail names the code") {
  auto unavailable = answer_from_trailers(14, "connections%20to%20all%20backends%20failing", "");
  CHECK(unavailable.result == Result::rpc_failed);
  CHECK(unavailable.detail == "connections to all backends failing (code 14)");
  auto internal = answer_from_trailers(13, "", k_serving);
  CHECK(internal.result == Result::rpc_failed);
  CHECK(internal.detail.find("(code 13)") != std::string::npos);
}
