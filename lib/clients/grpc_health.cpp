#include "clients/grpc_health.hpp"

#include <fmt/format.h>

#include <cctype>

#include "clients/curl_api.hpp"
#include "clients/grpc_wire.hpp"
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

// What one exchange measured, from curl_easy_getinfo.
struct Transfer {
  CURLcode code = CURLE_OK;
  double connect_s = 0, app_connect_s = 0, total_s = 0;
  long http_version = 0, http_status = 0;
  std::string error;  // curl's own words
};

// The time a check may take: the connection, then the RPC, both capped by the deadline.
struct Limits {
  long connect_ms = 0, total_ms = 0;
};

class Http2GrpcHealthClient : public GrpcHealthClient {
 public:
  GrpcHealthAnswer check(const GrpcTarget& target, Clock::time_point deadline) override {
    const CurlApi& api = curl_api();
    if (!api.error.empty()) return {R::config, api.error};
    auto colon = target.address.rfind(':');
    if (colon == std::string::npos)
      return {R::config, fmt::format("address '{}' is not host:port", target.address)};
    auto left = std::chrono::duration_cast<Millis>(deadline - Clock::now());
    if (left.count() <= 0) return {R::deadline, "no time left"};
    Limits limits{
        static_cast<long>(std::min(left, target.connect_timeout).count()),
        static_cast<long>(std::min(left, target.connect_timeout + target.rpc_timeout).count())};

    CurlEasy curl;
    if (curl.get() == nullptr) return {R::config, "curl_easy_init failed"};
    CurlList headers, connect_to;
    Exchange exchange;
    const std::string frame = health_request_frame(target.service);
    prepare(curl, target, limits, frame, headers, connect_to, exchange);
    Transfer transfer = perform(curl);

    double handshake_s = target.tls ? transfer.app_connect_s : transfer.connect_s;
    double connect_ms = handshake_s * 1000;
    double rpc_ms = std::max(0.0, transfer.total_s - handshake_s) * 1000;
    GrpcHealthAnswer answer = classify(transfer, exchange, handshake_s, limits);
    answer.connect_ms = connect_ms;
    answer.rpc_ms = rpc_ms;
    return answer;
  }

 private:
  // Sets every option of one Check call.
  static void prepare(const CurlEasy& curl, const GrpcTarget& target, const Limits& limits,
                      const std::string& frame, CurlList& headers, CurlList& connect_to,
                      Exchange& exchange) {
    const CurlApi& api = curl_api();
    auto colon = target.address.rfind(':');
    const std::string host = target.address.substr(0, colon);
    const std::string port = target.address.substr(colon + 1);
    const std::string authority =
        target.server_name.empty() ? target.address : target.server_name + ":" + port;
    std::string url = fmt::format("{}://{}/grpc.health.v1.Health/Check",
                                  target.tls ? "https" : "http", authority);
    headers.append("content-type: application/grpc");
    headers.append("te: trailers");
    headers.append("grpc-accept-encoding: identity");
    headers.append(fmt::format("grpc-timeout: {}m", target.rpc_timeout.count()));
    for (const auto& [k, v] : target.metadata) headers.append(fmt::format("{}: {}", k, v));
    CURL* handle = curl.get();
    if (!target.server_name.empty()) {
      // Dial the address but speak to (SNI, verification, :authority) the given name.
      connect_to.append(fmt::format("{}:{}:{}:{}", target.server_name, port, host, port));
      api.easy_setopt(handle, CURLOPT_CONNECT_TO, connect_to.get());
    }
    // libcurl copies string options (not POSTFIELDS: `frame` outlives the call).
    const std::string user_agent =
        target.user_agent.empty() ? "drctl/0.1" : target.user_agent + " drctl/0.1";
    api.easy_setopt(handle, CURLOPT_URL, url.c_str());
    api.easy_setopt(handle, CURLOPT_HTTP_VERSION,
                    target.tls ? CURL_HTTP_VERSION_2TLS : CURL_HTTP_VERSION_2_PRIOR_KNOWLEDGE);
    // A connection of its own every time: libcurl 7.88 fails ("Error in the HTTP2 framing layer")
    // when an HTTP/2 connection left in the shared pool by one thread's handle is reused by
    // another's (the lab's grpc check, then prewarm, showed it). Health checks are rare; a
    // loopback or LAN connect costs well under a millisecond.
    api.easy_setopt(handle, CURLOPT_FRESH_CONNECT, 1L);
    api.easy_setopt(handle, CURLOPT_FORBID_REUSE, 1L);
    api.easy_setopt(handle, CURLOPT_POST, 1L);
    api.easy_setopt(handle, CURLOPT_POSTFIELDS, frame.data());
    api.easy_setopt(handle, CURLOPT_POSTFIELDSIZE, static_cast<long>(frame.size()));
    api.easy_setopt(handle, CURLOPT_HTTPHEADER, headers.get());
    api.easy_setopt(handle, CURLOPT_USERAGENT, user_agent.c_str());
    api.easy_setopt(handle, CURLOPT_NOSIGNAL, 1L);
    api.easy_setopt(handle, CURLOPT_CONNECTTIMEOUT_MS, std::max(1L, limits.connect_ms));
    api.easy_setopt(handle, CURLOPT_TIMEOUT_MS, std::max(1L, limits.total_ms));
    api.easy_setopt(handle, CURLOPT_WRITEFUNCTION, on_body);
    api.easy_setopt(handle, CURLOPT_WRITEDATA, &exchange);
    api.easy_setopt(handle, CURLOPT_HEADERFUNCTION, on_header);
    api.easy_setopt(handle, CURLOPT_HEADERDATA, &exchange);
    if (target.tls) {
      if (!target.ca.empty()) api.easy_setopt(handle, CURLOPT_CAINFO, target.ca.c_str());
      if (!target.cert.empty()) api.easy_setopt(handle, CURLOPT_SSLCERT, target.cert.c_str());
      if (!target.key.empty()) api.easy_setopt(handle, CURLOPT_SSLKEY, target.key.c_str());
      if (target.insecure) {
        api.easy_setopt(handle, CURLOPT_SSL_VERIFYPEER, 0L);
        api.easy_setopt(handle, CURLOPT_SSL_VERIFYHOST, 0L);
      }
    }
  }

  static Transfer perform(const CurlEasy& curl) {
    const CurlApi& api = curl_api();
    char error_buffer[CURL_ERROR_SIZE] = {0};
    api.easy_setopt(curl.get(), CURLOPT_ERRORBUFFER, error_buffer);
    Transfer t;
    t.code = api.easy_perform(curl.get());
    api.easy_getinfo(curl.get(), CURLINFO_CONNECT_TIME, &t.connect_s);
    api.easy_getinfo(curl.get(), CURLINFO_APPCONNECT_TIME, &t.app_connect_s);
    api.easy_getinfo(curl.get(), CURLINFO_TOTAL_TIME, &t.total_s);
    api.easy_getinfo(curl.get(), CURLINFO_HTTP_VERSION, &t.http_version);
    api.easy_getinfo(curl.get(), CURLINFO_RESPONSE_CODE, &t.http_status);
    api.easy_setopt(curl.get(), CURLOPT_ERRORBUFFER, nullptr);
    t.error = error_buffer[0] != '\0' ? one_line(error_buffer) : api.easy_strerror(t.code);
    return t;
  }

  // What the exchange came to: a transport failure, or the answer its trailers give.
  static GrpcHealthAnswer classify(const Transfer& t, Exchange& exchange, double handshake_s,
                                   const Limits& limits) {
    bool answered = exchange.headers.count("grpc-status") != 0;
    if (t.code == CURLE_HTTP2_STREAM && !answered && handshake_s > 0) {
      // Connected, then the stream was reset before an answer reached us. A server without the
      // health service answers UNIMPLEMENTED at once and resets the stream while the request is
      // still arriving; curl 7.88 then drops that answer (RFC 9113 8.1 says keep it). So the
      // status is unknown: reported as what was seen, not guessed.
      return {R::stream_reset,
              "the server reset the stream before an answer arrived (a server without "
              "grpc.health.v1 does this)"};
    }
    if (t.code != CURLE_OK && !answered) return transport_failure(t, handshake_s, limits);
    if (!answered && t.http_version != CURL_HTTP_VERSION_2_0)
      return {R::connect_failed, "the server did not speak HTTP/2"};
    if (!answered && t.http_status != 200)
      return {R::rpc_failed, fmt::format("HTTP status {}", t.http_status)};
    auto grpc_status = exchange.headers.find("grpc-status");
    if (grpc_status == exchange.headers.end())
      return {R::rpc_failed, "no grpc-status in the answer"};
    return answer_from_trailers(std::atoi(grpc_status->second.c_str()),
                                exchange.headers["grpc-message"], exchange.body);
  }

  static GrpcHealthAnswer transport_failure(const Transfer& t, double handshake_s,
                                            const Limits& limits) {
    if (t.code == CURLE_OPERATION_TIMEDOUT) {
      // gRPC counts a connection as made once HTTP/2 answers; a peer that accepted TCP but
      // sent nothing back is still "connecting" (as grpc_health_probe reports it).
      if (handshake_s > 0 && t.http_status != 0) return {R::deadline, t.error};
      return {R::connect_timeout,
              handshake_s == 0
                  ? fmt::format("still connecting after {} ms", limits.connect_ms)
                  : fmt::format("connected, but no HTTP/2 answer within {} ms", limits.total_ms)};
    }
    // Refused, reset, TLS handshake failed, or a peer that is not HTTP/2 at all.
    if (t.http_status == 0) return {R::connect_failed, t.error};
    return {R::rpc_failed, t.error};
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
