#include "clients/http_client.hpp"

#include <curl/curl.h>
#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <mutex>

#include "clients/curl_api.hpp"
#include "util/strings.hpp"

namespace drctl {
namespace {

struct Transfer {
  HttpResponse* response;
  std::size_t max_body;
  const CancelToken* cancel;
};

std::size_t on_body(char* data, std::size_t size, std::size_t count, void* user) {
  auto* t = static_cast<Transfer*>(user);
  std::size_t bytes = size * count;
  std::size_t room =
      t->max_body > t->response->body.size() ? t->max_body - t->response->body.size() : 0;
  if (bytes > room) t->response->truncated = true;
  t->response->body.append(data, std::min(bytes, room));
  return bytes;
}

std::size_t on_header(char* data, std::size_t size, std::size_t count, void* user) {
  auto* t = static_cast<Transfer*>(user);
  std::string_view line(data, size * count);
  auto colon = line.find(':');
  if (line.rfind("HTTP/", 0) == 0)
    t->response->headers.clear();  // a new response (after 100 or a redirect)
  if (colon != std::string_view::npos) {
    std::string name(line.substr(0, colon));
    std::transform(name.begin(), name.end(), name.begin(),
                   [](unsigned char c) { return std::tolower(c); });
    t->response->headers.emplace_back(name, trim(line.substr(colon + 1)));
  }
  return size * count;
}

int on_progress(void* user, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
  auto* t = static_cast<Transfer*>(user);
  return t->cancel != nullptr && t->cancel->cancelled() ? 1 : 0;
}

HttpError classify(CURLcode code, const char* detail, long timeout_ms) {
  std::string text = detail[0] != '\0' ? one_line(detail) : curl_api().easy_strerror(code);
  switch (code) {
    case CURLE_COULDNT_CONNECT:
      return {HttpError::Class::refused, fmt::format("connection failed: {}", text)};
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
      return {HttpError::Class::resolve, fmt::format("cannot resolve host: {}", text)};
    case CURLE_OPERATION_TIMEDOUT:
      return {HttpError::Class::timeout,
              fmt::format("timed out after {} ms: {}", timeout_ms, text)};
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_CIPHER:
      return {HttpError::Class::tls, fmt::format("TLS: {}", text)};
    case CURLE_GOT_NOTHING:
    case CURLE_WEIRD_SERVER_REPLY:
    case CURLE_RECV_ERROR:
    case CURLE_PARTIAL_FILE:
      return {HttpError::Class::garbage, fmt::format("bad answer: {}", text)};
    case CURLE_ABORTED_BY_CALLBACK:
      return {HttpError::Class::cancelled, "cancelled"};
    default:
      return {HttpError::Class::other, text};
  }
}

}  // namespace

std::string HttpResponse::header(std::string_view name) const {
  for (const auto& [k, v] : headers) {
    if (k == name) return v;
  }
  return "";
}

tl::expected<HttpResponse, HttpError> http_request(const HttpRequest& request, Deadline deadline,
                                                   const CancelToken* cancel) {
  const CurlApi& api = curl_api();
  if (!api.error.empty()) return tl::unexpected(HttpError{HttpError::Class::other, api.error});
  auto remaining = std::chrono::duration_cast<Millis>(deadline - std::chrono::steady_clock::now());
  long timeout_ms = std::max<long>(1, static_cast<long>(remaining.count()));
  if (remaining.count() <= 0)
    return tl::unexpected(HttpError{HttpError::Class::timeout, "no time left before the request"});

  // One handle per thread, reset between requests: no setup per request (the availability
  // probe makes 50 a second). Connections live in the shared pool, not in the handle.
  struct Handle {
    CURL* curl = nullptr;
    ~Handle() {
      if (curl != nullptr) curl_api().easy_cleanup(curl);
    }
  };
  thread_local Handle handle;
  if (handle.curl == nullptr)
    handle.curl = api.easy_init();
  else
    api.easy_reset(handle.curl);
  CURL* curl = handle.curl;
  if (curl == nullptr)
    return tl::unexpected(HttpError{HttpError::Class::other, "curl_easy_init failed"});
  HttpResponse response;
  Transfer transfer{&response, request.max_body, cancel};
  char error_buffer[CURL_ERROR_SIZE] = {0};
  curl_slist* headers = nullptr;
  for (const auto& [name, value] : request.headers) {
    headers = api.slist_append(headers, fmt::format("{}: {}", name, value).c_str());
  }

  api.easy_setopt(curl, CURLOPT_URL, request.url.c_str());
  api.easy_setopt(curl, CURLOPT_CUSTOMREQUEST, request.method.c_str());
  if (request.method == "HEAD") api.easy_setopt(curl, CURLOPT_NOBODY, 1L);
  // A POST, PUT or PATCH always sends a body, even an empty one (Content-Length: 0): servers
  // wait for a length that never comes otherwise.
  bool sends_body =
      request.method == "POST" || request.method == "PUT" || request.method == "PATCH";
  if (!request.body.empty() || sends_body) {
    api.easy_setopt(curl, CURLOPT_POSTFIELDS, request.body.c_str());
    api.easy_setopt(curl, CURLOPT_POSTFIELDSIZE, static_cast<long>(request.body.size()));
  }
  api.easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
  api.easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);  // threads: no SIGALRM-based DNS timeouts
  api.easy_setopt(curl, CURLOPT_TIMEOUT_MS, timeout_ms);
  api.easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS,
                  std::min<long>(timeout_ms, static_cast<long>(request.connect_timeout.count())));
  api.easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_body);
  api.easy_setopt(curl, CURLOPT_WRITEDATA, &transfer);
  api.easy_setopt(curl, CURLOPT_HEADERFUNCTION, on_header);
  api.easy_setopt(curl, CURLOPT_HEADERDATA, &transfer);
  api.easy_setopt(curl, CURLOPT_XFERINFOFUNCTION, on_progress);
  api.easy_setopt(curl, CURLOPT_XFERINFODATA, &transfer);
  api.easy_setopt(curl, CURLOPT_NOPROGRESS, 0L);
  api.easy_setopt(curl, CURLOPT_ERRORBUFFER, error_buffer);
  api.easy_setopt(curl, CURLOPT_USERAGENT, "drctl/0.1");
  if (request.fresh_connection) {
    api.easy_setopt(curl, CURLOPT_FRESH_CONNECT, 1L);
    api.easy_setopt(curl, CURLOPT_FORBID_REUSE, 1L);
  } else if (CURLSH* pool = curl_connection_pool()) {
    api.easy_setopt(curl, CURLOPT_SHARE, pool);
  }
  if (!request.tls.ca.empty()) api.easy_setopt(curl, CURLOPT_CAINFO, request.tls.ca.c_str());
  if (!request.tls.cert.empty()) api.easy_setopt(curl, CURLOPT_SSLCERT, request.tls.cert.c_str());
  if (!request.tls.key.empty()) api.easy_setopt(curl, CURLOPT_SSLKEY, request.tls.key.c_str());
  if (request.tls.insecure) {
    api.easy_setopt(curl, CURLOPT_SSL_VERIFYPEER, 0L);
    api.easy_setopt(curl, CURLOPT_SSL_VERIFYHOST, 0L);
  }

  CURLcode code = api.easy_perform(curl);
  double connect_s = 0, tls_s = 0, first_byte_s = 0, total_s = 0;
  long new_connections = 0;
  api.easy_getinfo(curl, CURLINFO_CONNECT_TIME, &connect_s);
  api.easy_getinfo(curl, CURLINFO_APPCONNECT_TIME, &tls_s);
  api.easy_getinfo(curl, CURLINFO_NUM_CONNECTS, &new_connections);
  response.reused = code == CURLE_OK && new_connections == 0;
  response.tls_ms = tls_s * 1000;
  api.easy_getinfo(curl, CURLINFO_STARTTRANSFER_TIME, &first_byte_s);
  api.easy_getinfo(curl, CURLINFO_TOTAL_TIME, &total_s);
  api.easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &response.status);
  response.connect_ms = connect_s * 1000;
  response.first_byte_ms = first_byte_s * 1000;
  response.total_ms = total_s * 1000;
  api.slist_free_all(headers);
  if (code != CURLE_OK) return tl::unexpected(classify(code, error_buffer, timeout_ms));
  return response;
}

}  // namespace drctl
