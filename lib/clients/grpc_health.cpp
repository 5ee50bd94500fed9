#include "clients/grpc_health.hpp"

#include <fmt/format.h>

#include <cctype>

#include "clients/curl_api.hpp"
#include "util/strings.hpp"

// grpc.health.v1.Health/Check spoken directly over libcurl's HTTP/2 (gRPC's wire protocol:
// a POST with a length-prefixed protobuf, the status in the grpc-status trailer). A unary
// health check needs nothing more, and this way it costs no gRPC library load (~12 ms per
// process) and a much cheaper connection (docs/performance.md). Interoperability is tested
// against a real grpc++ server and etcd (tests/cli/cli_grpc.sh).

namespace drctl {
namespace {

using Clock = std::chrono::steady_clock;
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

// HealthCheckRequest{service = 1} in a gRPC frame: flag 0 (uncompressed), 4-byte length.
std::string request_frame(const std::string& service) {
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

// HealthCheckResponse.status (field 1, varint) from a gRPC frame; nullopt when malformed.
std::optional<int> response_status(const std::string& body) {
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

// grpc-message is percent-encoded.
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

struct Exchange {
  std::string body;
  std::map<std::string, std::string> headers;  // headers and trailers, names lower-cased
};

std::size_t on_body(char* data, std::size_t size, std::size_t count, void* user) {
  auto* exchange = static_cast<Exchange*>(user);
  if (exchange->body.size() < 65536) exchange->body.append(data, size * count);
  return size * count;
}

std::size_t on_header(char* data, std::size_t size, std::size_t count, void* user) {
  auto* exchange = static_cast<Exchange*>(user);
  std::string_view line(data, size * count);
  auto colon = line.find(':');
  if (colon != std::string_view::npos) {
    std::string name(line.substr(0, colon));
    for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    exchange->headers[name] = trim(line.substr(colon + 1));
  }
  return size * count;
}

class Http2GrpcHealthClient : public GrpcHealthClient {
 public:
  GrpcHealthAnswer check(const GrpcTarget& target, Clock::time_point deadline) override {
    const CurlApi& api = curl_api();
    if (!api.error.empty()) return {R::config, api.error};
    auto colon = target.address.rfind(':');
    if (colon == std::string::npos)
      return {R::config, fmt::format("address '{}' is not host:port", target.address)};
    const std::string host = target.address.substr(0, colon);
    const std::string port = target.address.substr(colon + 1);
    const std::string authority =
        target.server_name.empty() ? target.address : target.server_name + ":" + port;
    const std::string url = fmt::format("{}://{}/grpc.health.v1.Health/Check",
                                        target.tls ? "https" : "http", authority);

    auto left = std::chrono::duration_cast<Millis>(deadline - Clock::now());
    if (left.count() <= 0) return {R::deadline, "no time left"};
    long connect_ms = static_cast<long>(std::min(left, target.connect_timeout).count());
    long total_ms =
        static_cast<long>(std::min(left, target.connect_timeout + target.rpc_timeout).count());
    std::string frame = request_frame(target.service);
    Exchange exchange;

    CURL* curl = api.easy_init();
    if (curl == nullptr) return {R::config, "curl_easy_init failed"};
    curl_slist* headers = nullptr;
    headers = api.slist_append(headers, "content-type: application/grpc");
    headers = api.slist_append(headers, "te: trailers");
    headers = api.slist_append(headers, "grpc-accept-encoding: identity");
    headers = api.slist_append(
        headers, fmt::format("grpc-timeout: {}m", target.rpc_timeout.count()).c_str());
    for (const auto& [k, v] : target.metadata)
      headers = api.slist_append(headers, fmt::format("{}: {}", k, v).c_str());
    curl_slist* connect_to = nullptr;
    if (!target.server_name.empty()) {
      // Dial the address but speak to (SNI, verification, :authority) the given name.
      connect_to = api.slist_append(
          connect_to, fmt::format("{}:{}:{}:{}", target.server_name, port, host, port).c_str());
      api.easy_setopt(curl, CURLOPT_CONNECT_TO, connect_to);
    }
    std::string user_agent =
        target.user_agent.empty() ? "drctl/0.1" : target.user_agent + " drctl/0.1";
    api.easy_setopt(curl, CURLOPT_URL, url.c_str());
    api.easy_setopt(curl, CURLOPT_HTTP_VERSION,
                    target.tls ? CURL_HTTP_VERSION_2TLS : CURL_HTTP_VERSION_2_PRIOR_KNOWLEDGE);
    // A connection of its own every time: libcurl 7.88 fails ("Error in the HTTP2 framing layer")
    // when an HTTP/2 connection left in the shared pool by one thread's handle is reused by
    // another's (the lab's grpc check, then prewarm, showed it). Health checks are rare; a
    // loopback or LAN connect costs well under a millisecond.
    api.easy_setopt(curl, CURLOPT_FRESH_CONNECT, 1L);
    api.easy_setopt(curl, CURLOPT_FORBID_REUSE, 1L);
    api.easy_setopt(curl, CURLOPT_POST, 1L);
    api.easy_setopt(curl, CURLOPT_POSTFIELDS, frame.data());
    api.easy_setopt(curl, CURLOPT_POSTFIELDSIZE, static_cast<long>(frame.size()));
    api.easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
    api.easy_setopt(curl, CURLOPT_USERAGENT, user_agent.c_str());
    api.easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    api.easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, std::max(1L, connect_ms));
    api.easy_setopt(curl, CURLOPT_TIMEOUT_MS, std::max(1L, total_ms));
    api.easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_body);
    api.easy_setopt(curl, CURLOPT_WRITEDATA, &exchange);
    api.easy_setopt(curl, CURLOPT_HEADERFUNCTION, on_header);
    api.easy_setopt(curl, CURLOPT_HEADERDATA, &exchange);
    if (target.tls) {
      if (!target.ca.empty()) api.easy_setopt(curl, CURLOPT_CAINFO, target.ca.c_str());
      if (!target.cert.empty()) api.easy_setopt(curl, CURLOPT_SSLCERT, target.cert.c_str());
      if (!target.key.empty()) api.easy_setopt(curl, CURLOPT_SSLKEY, target.key.c_str());
      if (target.insecure) {
        api.easy_setopt(curl, CURLOPT_SSL_VERIFYPEER, 0L);
        api.easy_setopt(curl, CURLOPT_SSL_VERIFYHOST, 0L);
      }
    }
    char error_buffer[CURL_ERROR_SIZE] = {0};
    api.easy_setopt(curl, CURLOPT_ERRORBUFFER, error_buffer);

    CURLcode code = api.easy_perform(curl);
    double connect_s = 0, app_connect_s = 0, total_s = 0;
    long http_version = 0, http_status = 0;
    api.easy_getinfo(curl, CURLINFO_CONNECT_TIME, &connect_s);
    api.easy_getinfo(curl, CURLINFO_APPCONNECT_TIME, &app_connect_s);
    api.easy_getinfo(curl, CURLINFO_TOTAL_TIME, &total_s);
    api.easy_getinfo(curl, CURLINFO_HTTP_VERSION, &http_version);
    api.easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &http_status);
    api.slist_free_all(headers);
    api.slist_free_all(connect_to);
    api.easy_cleanup(curl);

    GrpcHealthAnswer answer;
    double handshake_s = target.tls ? app_connect_s : connect_s;
    answer.connect_ms = handshake_s * 1000;
    answer.rpc_ms = std::max(0.0, total_s - handshake_s) * 1000;
    std::string detail = error_buffer[0] != '\0' ? one_line(error_buffer) : api.easy_strerror(code);
    bool answered = exchange.headers.count("grpc-status") != 0;
    if (code == CURLE_HTTP2_STREAM && !answered && handshake_s > 0) {
      // Connected, then the stream was reset before an answer reached us. A server without the
      // health service answers UNIMPLEMENTED at once and resets the stream while the request is
      // still arriving; curl 7.88 then drops that answer (RFC 9113 8.1 says keep it). So the
      // status is unknown: reported as what was seen, not guessed.
      answer.result = R::stream_reset;
      answer.detail =
          "the server reset the stream before an answer arrived (a server without grpc.health.v1 "
          "does this)";
      return answer;
    }
    if (code != CURLE_OK && !answered) {
      answer.detail = detail;
      if (code == CURLE_OPERATION_TIMEDOUT) {
        // gRPC counts a connection as made once HTTP/2 answers; a peer that accepted TCP but
        // sent nothing back is still "connecting" (as grpc_health_probe reports it).
        bool answered = http_status != 0;
        answer.result = handshake_s > 0 && answered ? R::deadline : R::connect_timeout;
        if (answer.result == R::connect_timeout) {
          answer.detail =
              handshake_s == 0
                  ? fmt::format("still connecting after {} ms", connect_ms)
                  : fmt::format("connected, but no HTTP/2 answer within {} ms", total_ms);
        }
      } else if (http_status == 0) {
        // Refused, reset, TLS handshake failed, or a peer that is not HTTP/2 at all.
        answer.result = R::connect_failed;
      } else {
        answer.result = R::rpc_failed;
      }
      return answer;
    }
    if (!answered && http_version != CURL_HTTP_VERSION_2_0)
      return {R::connect_failed, "the server did not speak HTTP/2", answer.connect_ms,
              answer.rpc_ms};
    if (!answered && http_status != 200)
      return {R::rpc_failed, fmt::format("HTTP status {}", http_status), answer.connect_ms,
              answer.rpc_ms};
    auto grpc_status = exchange.headers.find("grpc-status");
    if (grpc_status == exchange.headers.end())
      return {R::rpc_failed, "no grpc-status in the answer", answer.connect_ms, answer.rpc_ms};
    int status = std::atoi(grpc_status->second.c_str());
    answer.detail = percent_decode(
        exchange.headers.count("grpc-message") ? exchange.headers["grpc-message"] : "");
    switch (status) {
      case k_grpc_ok: {
        auto serving = response_status(exchange.body);
        if (!serving)
          return {R::rpc_failed, "malformed HealthCheckResponse", answer.connect_ms, answer.rpc_ms};
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
        answer.detail = fmt::format("{} (code {})", answer.detail, status);
        return answer;
    }
  }
};

}  // namespace

tl::expected<GrpcHealthClient*, std::string> grpc_health_client() {
  static Http2GrpcHealthClient client;
  if (const auto& error = curl_api().error; !error.empty()) return tl::unexpected(error);
  return &client;
}

std::string_view grpc_result_name(GrpcHealthAnswer::Result result) {
  switch (result) {
    case R::serving:
      return "SERVING";
    case R::not_serving:
      return "NOT_SERVING";
    case R::unknown:
      return "UNKNOWN";
    case R::service_unknown:
      return "SERVICE_UNKNOWN";
    case R::not_found:
      return "NOT_FOUND";
    case R::unimplemented:
      return "UNIMPLEMENTED";
    case R::stream_reset:
      return "STREAM_RESET";
    case R::connect_failed:
      return "CONNECT_FAILED";
    case R::connect_timeout:
      return "CONNECT_TIMEOUT";
    case R::deadline:
      return "DEADLINE_EXCEEDED";
    case R::rpc_failed:
      return "RPC_FAILED";
    case R::config:
      return "CONFIG";
  }
  return "?";
}

}  // namespace drctl
