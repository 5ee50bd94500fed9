#pragma once
// drctl serve's HTTP side (clients/http_server: cpp-httplib in the drctl-httpd module): the
// endpoints over the readiness monitor's cached results, the bearer token, and the limits a hostile
// client meets (docs/serve.md).
#include <memory>
#include <string>
#include <tl/expected.hpp>

#include "clients/http_server.hpp"
#include "engine/readiness_monitor.hpp"
#include "util/duration.hpp"

namespace drctl::cli {

struct ServeHttpOptions {
  std::string host = "127.0.0.1";
  int port = 0;                  // 0: any free port
  std::string token;             // "" = no token asked
  bool allow_trigger = false;    // POST /checks/NAME/run
  int max_connections = 16;      // connections served at once; more wait their turn
  Millis read_timeout{5'000};    // a client that sends nothing for this long is cut off
  Millis write_timeout{5'000};   // one that reads nothing for this long too
  std::size_t max_body = 4'096;  // a larger request body is refused (413)
  std::string tls_cert;          // --tls-cert, --tls-key: HTTPS
  std::string tls_key;
};

class ServeHttp {
 public:
  ServeHttp(ReadinessMonitor& monitor, ServeHttpOptions options);
  ~ServeHttp();
  // Loads the HTTP server module and binds the listening socket; the port bound, or why not.
  tl::expected<int, std::string> bind();
  // Serves until stop(); false when the server could not run.
  bool serve();
  void stop();

 private:
  ReadinessMonitor& m_monitor;
  ServeHttpOptions m_options;
  void handle(const HttpServerRequest& req, HttpServerResponse& res);
  std::unique_ptr<HttpServer> m_server;
};

// ADDR as --listen takes it: HOST:PORT, [IPv6]:PORT; PORT 0 picks a free one.
tl::expected<std::pair<std::string, int>, std::string> parse_listen(const std::string& address);

}  // namespace drctl::cli
