// The HTTP server module (drctl-httpd.so): clients/http_server.hpp over cpp-httplib (Debian's
// compiled libcpp-httplib), loaded by `drctl serve` only.
// The Debian library is built with OpenSSL: the same declarations as it was compiled with.
#define CPPHTTPLIB_OPENSSL_SUPPORT
#include <httplib.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "clients/http_server.hpp"
#include "connection_reaper.hpp"

namespace drctl {
namespace {

// cpp-httplib's pool, with each connection handed to the reaper as it is queued.
class ReapingPool : public httplib::ThreadPool {
 public:
  ReapingPool(std::size_t threads, std::shared_ptr<ConnectionReaper> reaper)
      : httplib::ThreadPool(threads), m_reaper(std::move(reaper)) {}
  void enqueue(std::function<void()> serve) override {
    const int fd = m_reaper->adopt();  // on the accepting thread, right after accept(2)
    httplib::ThreadPool::enqueue([serve = std::move(serve), fd, reaper = m_reaper] {
      serve();  // reads, answers, closes
      if (fd >= 0) reaper->forget(fd);
    });
  }

 private:
  std::shared_ptr<ConnectionReaper> m_reaper;
};

class HttplibServer : public HttpServer {
 public:
  HttplibServer(const HttpServerOptions& options, HttpServerHandler handler)
      : m_handler(std::move(handler)),
        m_reaper(std::make_shared<ConnectionReaper>(
            options.request_timeout, static_cast<std::size_t>(std::max(1, options.threads) +
                                                              std::max(0, options.max_waiting)))),
        m_server(options.tls_cert.empty()
                     ? std::make_unique<httplib::Server>()
                     : std::make_unique<httplib::SSLServer>(options.tls_cert.c_str(),
                                                            options.tls_key.c_str())) {
    if (!m_server->is_valid())
      m_error = "cannot load the TLS certificate " + options.tls_cert + " with the key " +
                options.tls_key;
    m_server->set_tcp_nodelay(true);
    // SO_REUSEADDR only: cpp-httplib's default adds SO_REUSEPORT, with which a second server
    // (another drctl serve, any cpp-httplib server) binds the same port and takes half of its
    // connections instead of failing.
    m_server->set_socket_options([](socket_t sock) {
      int yes = 1;
      ::setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
    });
    m_server->set_read_timeout(
        std::chrono::duration_cast<std::chrono::microseconds>(options.read_timeout));
    m_server->set_write_timeout(
        std::chrono::duration_cast<std::chrono::microseconds>(options.write_timeout));
    m_server->set_keep_alive_timeout(5);
    m_server->set_keep_alive_max_count(100);
    m_server->set_payload_max_length(options.max_body);
    const int threads = std::max(1, options.threads);
    m_server->new_task_queue = [threads, reaper = m_reaper] {
      return new ReapingPool(static_cast<std::size_t>(threads), reaper);
    };

    httplib::Server::Handler handle = [this](const httplib::Request& req, httplib::Response& res) {
      m_reaper->request_read(req.remote_addr, req.remote_port);
      HttpServerRequest request;
      request.method = req.method;
      request.path = req.path;
      for (const auto& [key, value] : req.headers) request.headers.emplace_back(key, value);
      request.body = req.body;
      HttpServerResponse response;
      m_handler(request, response);
      res.status = response.status;
      for (const auto& [key, value] : response.headers) res.set_header(key, value);
      res.set_content(response.body, response.content_type);
    };
    // A POST without a body and without Content-Length (curl -X POST, most clients' empty
    // POST) is answered here: cpp-httplib would refuse it as 400 before routing. With a length,
    // the body is read by the routing below, within set_payload_max_length.
    m_server->set_pre_routing_handler(
        [handle](const httplib::Request& req, httplib::Response& res) {
          if (req.method == "GET" || req.method == "HEAD" || req.has_header("Content-Length") ||
              req.has_header("Transfer-Encoding"))
            return httplib::Server::HandlerResponse::Unhandled;
          handle(req, res);
          return httplib::Server::HandlerResponse::Handled;
        });
    // One handler for every method, so a known path with the wrong method can be 405.
    m_server->Get(".*", handle);
    m_server->Post(".*", handle);
    m_server->Put(".*", handle);
    m_server->Patch(".*", handle);
    m_server->Delete(".*", handle);
    m_server->Options(".*", handle);
    // Errors cpp-httplib answers itself (a body too large, a malformed request): a short body,
    // no echo of what was sent.
    m_server->set_error_handler([](const httplib::Request&, httplib::Response& res) {
      if (res.body.empty())
        res.set_content("HTTP " + std::to_string(res.status) + "\n", "text/plain");
    });
    m_server->set_exception_handler(
        [](const httplib::Request&, httplib::Response& res, std::exception_ptr) {
          res.status = 500;
          res.set_content("internal error\n", "text/plain");
        });
  }

  tl::expected<int, std::string> bind(const std::string& host, int port) override {
    if (!m_error.empty()) return tl::unexpected(m_error);
    errno = 0;
    if (port == 0) {
      int bound = m_server->bind_to_any_port(host);
      if (bound > 0) {
        m_reaper->set_port(bound);
        return bound;
      }
    } else if (m_server->bind_to_port(host, port)) {
      m_reaper->set_port(port);
      return port;
    }
    return tl::unexpected(std::string("cannot listen on ") + host + ":" + std::to_string(port) +
                          (errno != 0 ? std::string(": ") + std::strerror(errno) : ""));
  }
  bool listen() override { return m_server->listen_after_bind(); }
  void stop() override {
    m_server->stop();     // no new connection
    m_reaper->cut_all();  // the workers end theirs now, not at the next timeout
  }

 private:
  HttpServerHandler m_handler;
  std::shared_ptr<ConnectionReaper> m_reaper;
  std::unique_ptr<httplib::Server> m_server;
  std::string m_error;
};

}  // namespace
}  // namespace drctl

extern "C" drctl::HttpServer* drctl_http_server_v1(const drctl::HttpServerOptions& options,
                                                   drctl::HttpServerHandler handler) {
  return new drctl::HttplibServer(options, std::move(handler));
}
