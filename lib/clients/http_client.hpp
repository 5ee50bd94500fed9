#pragma once
// One HTTP request over libcurl, bounded by an attempt's deadline and cancellable. Failures
// keep their own classes (refused, timeout, TLS, garbage); kinds map them to a status.
#include <string>
#include <tl/expected.hpp>
#include <utility>
#include <vector>

#include "core/cancel.hpp"
#include "util/duration.hpp"

namespace drctl {

struct TlsOptions {
  std::string ca;
  std::string cert;
  std::string key;
  bool insecure = false;
};

struct HttpRequest {
  std::string method = "GET";
  std::string url;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  TlsOptions tls;
  Millis connect_timeout{5'000};
  std::size_t max_body = 1 << 20;  // larger bodies are cut, and marked truncated
  // Open a new connection and do not keep it (what a new client sees, e.g. after a proxy
  // reload); otherwise a pooled connection is reused when one is open (curl_connection_pool).
  bool fresh_connection = false;
};

struct HttpResponse {
  long status = 0;
  std::vector<std::pair<std::string, std::string>> headers;  // names lower-cased
  std::string body;
  bool truncated = false;
  double connect_ms = 0;  // 0 when a pooled connection was reused
  double tls_ms = 0;      // TLS handshake done (0 without TLS or when reused)
  bool reused = false;
  double first_byte_ms = 0;
  double total_ms = 0;

  // The first header with this (lower-case) name, or "".
  std::string header(std::string_view name) const;
};

struct HttpError {
  enum class Class { refused, resolve, timeout, tls, garbage, cancelled, other };
  Class kind = Class::other;
  std::string message;  // "connection refused", "timed out after 2000 ms", ...
};

// Gives up at `deadline` (a timeout) and as soon as `cancel` (may be null) is cancelled.
tl::expected<HttpResponse, HttpError> http_request(const HttpRequest& request, Deadline deadline,
                                                   const CancelToken* cancel);

}  // namespace drctl
