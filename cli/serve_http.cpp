#include "serve_http.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "clients/http_server.hpp"
#include "report/readiness_exposition.hpp"
#include "util/json_dump.hpp"
#include "util/secrets.hpp"
#include "util/sha256.hpp"

namespace drctl::cli {
namespace {

constexpr std::size_t k_max_header_fields = 100;

std::string digest(const std::string& text) {
  Sha256 sha;
  sha.update(text);
  return sha.hex_digest();
}

// Compares digests, without stopping at the first difference: timing says nothing about the
// token, not even its length.
bool same_secret(const std::string& given, const std::string& expected) {
  if (expected.empty()) return false;
  const std::string a = digest(given), b = digest(expected);
  unsigned char diff = 0;
  for (std::size_t i = 0; i < a.size(); ++i) diff |= static_cast<unsigned char>(a[i] ^ b[i]);
  return diff == 0;
}

void set_header(HttpServerResponse& res, const std::string& name, const std::string& value) {
  res.headers.emplace_back(name, value);
}

void answer(HttpServerResponse& res, int status, const std::string& body,
            const char* type = "text/plain; charset=utf-8") {
  res.status = status;
  set_header(res, "Cache-Control", "no-store");
  res.body = body;  // redacted by its maker: JSON by value, metrics by label, text by line
  res.content_type = type;
}

void answer_json(HttpServerResponse& res, int status, const nlohmann::json& body) {
  answer(res, status, dump_json(redact_json(body), 2) + "\n", "application/json");
}

void error(HttpServerResponse& res, int status, const std::string& message) {
  answer_json(res, status, {{"error", message}});
}

// The method is one the path answers to; else 405 with Allow.
bool method_is(const HttpServerRequest& req, HttpServerResponse& res, const char* allowed) {
  const std::string method = req.method == "HEAD" ? "GET" : req.method;
  if (method == allowed) return true;
  set_header(res, "Allow", std::string(allowed) == "GET" ? "GET, HEAD" : allowed);
  error(res, 405, fmt::format("{} {}: method not allowed (use {})", req.method, req.path, allowed));
  return false;
}

bool wants_text(const HttpServerRequest& req) {
  const std::string accept = req.header("Accept");
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
    : m_monitor(monitor), m_options(std::move(options)) {}

void ServeHttp::handle(const HttpServerRequest& req, HttpServerResponse& res) {
  {
    // cpp-httplib limits each header line, not their number; no client of these endpoints
    // sends more than a few.
    if (req.headers.size() > k_max_header_fields) {
      error(res, 431, fmt::format("too many header fields (at most {})", k_max_header_fields));
      return;
    }
    const std::string& path = req.path;
    if (path == "/healthz") {
      if (method_is(req, res, "GET")) answer(res, 200, "ok\n");
      return;
    }
    if (!m_options.token.empty()) {
      const std::string given = req.header("Authorization");
      const std::string prefix = "Bearer ";
      if (given.rfind(prefix, 0) != 0 ||
          !same_secret(given.substr(prefix.size()), m_options.token)) {
        set_header(res, "WWW-Authenticate", "Bearer realm=\"drctl\"");
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
        if (method_is(req, res, "GET")) answer_json(res, 200, check_json(*check));
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
          set_header(res, "Retry-After",
                     std::to_string(std::max<long long>(1, check->interval.count() / 1000)));
          answer_json(res, 429,
                      {{"check", name},
                       {"queued", false},
                       {"error",
                        "this check writes: at most one evaluation per its min_interval "
                        "(--min-write-interval by default)"}});
          return;
        case TriggerResult::unknown:
          error(res, 404, fmt::format("no check named '{}' in the playbook served", name));
          return;
      }
    }
    error(res, 404,
          fmt::format("{}: not found (endpoints: /healthz, /readiness, /metrics, /checks/NAME)",
                      path));
  }
}

ServeHttp::~ServeHttp() = default;

tl::expected<int, std::string> ServeHttp::bind() {
  HttpServerOptions options;
  options.threads = m_options.max_connections;
  options.read_timeout = m_options.read_timeout;
  options.write_timeout = m_options.write_timeout;
  options.max_body = m_options.max_body;
  options.tls_cert = m_options.tls_cert;
  options.tls_key = m_options.tls_key;
  auto server = make_http_server(
      options, [this](const HttpServerRequest& req, HttpServerResponse& res) { handle(req, res); });
  if (!server) return tl::unexpected(server.error());
  m_server = std::move(*server);
  return m_server->bind(m_options.host, m_options.port);
}

bool ServeHttp::serve() {
  return m_server && m_server->listen();
}

void ServeHttp::stop() {
  if (m_server) m_server->stop();
}

}  // namespace drctl::cli
