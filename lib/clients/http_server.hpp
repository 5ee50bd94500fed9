#pragma once
// A small embedded HTTP/1.1 server (for `drctl serve`), as plain C++ types. The implementation
// (cpp-httplib, which links OpenSSL, zlib and brotli: ~4 ms of library loading at every start)
// lives in the module drctl-httpd.so, loaded only when a server is made.
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <tl/expected.hpp>
#include <utility>
#include <vector>

namespace drctl {

struct HttpServerRequest {
  std::string method;  // HEAD is given as HEAD; answer it as GET (the body is dropped)
  std::string path;    // decoded, without the query
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  // The first header of that name (case-insensitive), or "".
  std::string header(const std::string& name) const;
};

struct HttpServerResponse {
  int status = 200;
  std::string body;
  std::string content_type = "text/plain; charset=utf-8";
  std::vector<std::pair<std::string, std::string>> headers;
};

using HttpServerHandler = std::function<void(const HttpServerRequest&, HttpServerResponse&)>;

struct HttpServerOptions {
  int threads = 16;      // connections served at once; more wait for a free one
  int max_waiting = 64;  // connections waiting for one; more are closed at once
  std::chrono::milliseconds read_timeout{5'000};   // a client that sends nothing is cut off
  std::chrono::milliseconds write_timeout{5'000};  // one that reads nothing too
  // From a connection's start, or its previous request, to the next request's end: a client
  // that trickles its request (a header line every few seconds) is cut off at this deadline.
  std::chrono::milliseconds request_timeout{10'000};
  std::size_t max_body = 4'096;  // larger request bodies: 413
  std::string tls_cert;          // PEM files: HTTPS when both are set
  std::string tls_key;
};

class HttpServer {
 public:
  virtual ~HttpServer() = default;
  // Binds HOST:PORT (port 0: a free one; never shared with another socket, no SO_REUSEPORT);
  // the port bound, or why not.
  virtual tl::expected<int, std::string> bind(const std::string& host, int port) = 0;
  // Serves every request, of any method, through the handler until stop(); false when it could
  // not run.
  virtual bool listen() = 0;
  virtual void stop() = 0;
};

// A server that answers through `handler`; an error when the module cannot be loaded.
tl::expected<std::unique_ptr<HttpServer>, std::string> make_http_server(
    const HttpServerOptions& options, HttpServerHandler handler);

// What drctl-httpd.so exports (its symbol drctl_http_server_v1).
using MakeHttpServerFn = HttpServer* (*)(const HttpServerOptions&, HttpServerHandler);

}  // namespace drctl
