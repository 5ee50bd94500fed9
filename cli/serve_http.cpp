#include "serve_http.hpp"

#include <fmt/format.h>
#include <httplib.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "report/readiness_exposition.hpp"
#include "util/json_dump.hpp"
#include "util/secrets.hpp"

namespace drctl::cli {
namespace {

// Compares without stopping at the first difference, so timing says nothing about the token.
bool same_secret(const std::string& given, const std::string& expected) {
  if (expected.empty() || given.size() != expected.size()) return false;
  unsigned char diff = 0;
  for (std::size_t i = 0; i < given.size(); ++i)
    diff |= static_cast<unsigned char>(given[i] ^ expected[i]);
  return diff == 0;
}

void answer(httplib::Response& res, int status, const std::string& body,
            const char* type = "text/plain; charset=utf-8") {
  res.status = status;
  res.set_header("Cache-Control", "no-store");
  res.set_content(redact(body), type);
}

void answer_json(httplib::Response& res, int status, const nlohmann::json& body) {
  answer(res, status, dump_json(redact_json(body), 2) + "\n", "application/json");
}

void error(httplib::Response& res, int status, const std::string& message) {
  answer_json(res, status, {{"error", message}});
}

// The method is one the path answers to; else 405 with Allow.
bool method_is(const httplib::Request& req, httplib::Response& res, const char* allowed) {
  const std::string method = req.method == "HEAD" ? "GET" : req.method;
  if (method == allowed) return true;
  res.set_header("Allow", std::string(allowed) == "GET" ? "GET, HEAD" : allowed);
  error(res, 405, fmt::format("{} {}: method not allowed (use {})", req.method, req.path, allowed));
  return false;
}

bool wants_text(const httplib::Request& req) {
  const std::string accept = req.get_header_value("Accept");
  return accept.find("text/plain") != std::string::npos &&
         accept.find("application/json") == std::string::npos;
}

}  // namespace

tl::expected<std::pair<std::string, int>, std::string> parse_listen(const std::string& address) {
  auto colon = address.rfind(':');
  if (colon == std::string::npos || colon == 0)
    return tl::unexpected(fmt::format("--listen {}: expected HOST:PORT", address));
  std::string host = address.substr(0, colon);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']')
    host = host.substr(1, host.size() - 2);
  const std::string port_text = address.substr(colon + 1);
  if (port_text.empty() || port_text.size() > 5 ||
      port_text.find_first_not_of("0123456789") != std::string::npos ||
      std::stoi(port_text) > 65535)
    return tl::unexpected(
        fmt::format("--listen {}: the port must be a number from 0 to 65535", address));
  return std::pair{host, std::stoi(port_text)};
}

ServeHttp::ServeHttp(ReadinessMonitor& monitor, ServeHttpOptions options)
    : m_monitor(monitor),
      m_options(std::move(options)),
      m_server(std::make_unique<httplib::Server>()) {
  auto& server = *m_server;
  server.set_tcp_nodelay(true);
  // SO_REUSEADDR only: cpp-httplib's default adds SO_REUSEPORT, with which a second server
  // (another drctl serve, any other cpp-httplib server) binds the same port and takes half of
  // its connections instead of failing.
  server.set_socket_options([](socket_t sock) {
    int yes = 1;
    ::setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
  });
  server.set_read_timeout(
      std::chrono::duration_cast<std::chrono::microseconds>(m_options.read_timeout));
  server.set_write_timeout(
      std::chrono::duration_cast<std::chrono::microseconds>(m_options.write_timeout));
  server.set_keep_alive_timeout(5);
  server.set_keep_alive_max_count(100);
  server.set_payload_max_length(m_options.max_body);
  const int threads = std::max(1, m_options.max_connections);
  server.new_task_queue = [threads] { return new httplib::ThreadPool(threads); };

  httplib::Server::Handler handle = [this](const httplib::Request& req, httplib::Response& res) {
    const std::string& path = req.path;
    if (path == "/healthz") {
      if (method_is(req, res, "GET")) answer(res, 200, "ok\n");
      return;
    }
    if (!m_options.token.empty()) {
      const std::string given = req.get_header_value("Authorization");
      const std::string prefix = "Bearer ";
      if (given.rfind(prefix, 0) != 0 ||
          !same_secret(given.substr(prefix.size()), m_options.token)) {
        res.set_header("WWW-Authenticate", "Bearer realm=\"drctl\"");
        error(res, 401, "a bearer token is required (Authorization: Bearer ...)");
        return;
      }
    }
    if (path == "/readiness") {
      if (!method_is(req, res, "GET")) return;
      ReadinessView view = m_monitor.view();
      const int status = view.ready ? 200 : 503;
      if (wants_text(req))
        answer(res, status, readiness_text(view));
      else
        answer_json(res, status, readiness_json(view));
      return;
    }
    if (path == "/metrics") {
      if (!method_is(req, res, "GET")) return;
      answer(res, 200, readiness_metrics(m_monitor.view()),
             "text/plain; version=0.0.4; charset=utf-8");
      return;
    }
    const std::string prefix = "/checks/";
    if (path.rfind(prefix, 0) == 0 && path.size() > prefix.size()) {
      std::string name = path.substr(prefix.size());
      const bool run = name.size() > 4 && name.compare(name.size() - 4, 4, "/run") == 0;
      if (run) name.resize(name.size() - 4);
      ReadinessView view = m_monitor.view();
      auto check = std::find_if(view.checks.begin(), view.checks.end(),
                                [&](const CheckView& c) { return c.name == name; });
      if (check == view.checks.end()) {
        error(res, 404, fmt::format("no check named '{}' in the playbook served", name));
        return;
      }
      if (!run) {
        if (method_is(req, res, "GET")) answer_json(res, 200, check_json(*check, view));
        return;
      }
      if (!method_is(req, res, "POST")) return;
      if (!m_options.allow_trigger) {
        error(res, 403, "evaluating on request is off (drctl serve --allow-trigger turns it on)");
        return;
      }
      switch (m_monitor.trigger(name)) {
        case TriggerResult::queued:
          answer_json(res, 202, {{"check", name}, {"queued", true}});
          return;
        case TriggerResult::running:
          answer_json(
              res, 409,
              {{"check", name}, {"queued", false}, {"error", "an evaluation is already running"}});
          return;
        case TriggerResult::too_soon:
          res.set_header("Retry-After",
                         std::to_string(std::max<long long>(1, check->interval.count() / 1000)));
          answer_json(
              res, 429,
              {{"check", name},
               {"queued", false},
               {"error", "this check writes: at most one evaluation per --min-write-interval"}});
          return;
        case TriggerResult::unknown:
          error(res, 404, fmt::format("no check named '{}' in the playbook served", name));
          return;
      }
    }
    error(res, 404,
          fmt::format("{}: not found (endpoints: /healthz, /readiness, /metrics, /checks/NAME)",
                      path));
  };
  // A POST without a body and without Content-Length (curl -X POST, most clients' empty POST)
  // is answered here: cpp-httplib would refuse it as 400 before routing. With a length, the
  // body is read by cpp-httplib's routing below, within set_payload_max_length.
  server.set_pre_routing_handler([handle](const httplib::Request& req, httplib::Response& res) {
    if (req.method == "GET" || req.method == "HEAD" || req.has_header("Content-Length") ||
        req.has_header("Transfer-Encoding"))
      return httplib::Server::HandlerResponse::Unhandled;
    handle(req, res);
    return httplib::Server::HandlerResponse::Handled;
  });
  // One handler for every method, so a known path with the wrong method is 405, not 404.
  server.Get(".*", handle);
  server.Post(".*", handle);
  server.Put(".*", handle);
  server.Patch(".*", handle);
  server.Delete(".*", handle);
  server.Options(".*", handle);
  // Errors httplib answers itself (a request too large, a malformed one): a short body, no
  // echo of what was sent.
  server.set_error_handler([](const httplib::Request&, httplib::Response& res) {
    if (res.body.empty()) res.set_content(fmt::format("HTTP {}\n", res.status), "text/plain");
  });
  server.set_exception_handler(
      [](const httplib::Request&, httplib::Response& res, std::exception_ptr) {
        res.status = 500;
        res.set_content("internal error\n", "text/plain");
      });
}

ServeHttp::~ServeHttp() = default;

tl::expected<int, std::string> ServeHttp::bind() {
  errno = 0;
  if (m_options.port == 0) {
    int port = m_server->bind_to_any_port(m_options.host);
    if (port > 0) return port;
  } else if (m_server->bind_to_port(m_options.host, m_options.port)) {
    return m_options.port;
  }
  return tl::unexpected(fmt::format("cannot listen on {}:{}{}", m_options.host, m_options.port,
                                    errno != 0 ? fmt::format(": {}", std::strerror(errno)) : ""));
}

bool ServeHttp::serve() {
  return m_server->listen_after_bind();
}

void ServeHttp::stop() {
  m_server->stop();
}

}  // namespace drctl::cli
