// drctl serve PLAYBOOK --listen ADDR: the playbook's checks (never its steps) evaluated
// continuously, their latest results answered over HTTP for Prometheus, load balancers and
// people (docs/serve.md). SIGHUP reloads the playbook; SIGTERM/SIGINT stop it.
#include <fmt/format.h>
#include <malloc.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <thread>

#include "command.hpp"
#include "common.hpp"
#include "engine/exit_codes.hpp"
#include "engine/readiness_monitor.hpp"
#include "serve_http.hpp"
#include "util/clock.hpp"
#include "util/json_dump.hpp"
#include "util/print.hpp"
#include "util/secrets.hpp"
#include "util/strings.hpp"

namespace drctl::cli {
namespace {

std::string duration_check(const std::string& value) {
  auto parsed = parse_duration(value);
  return parsed && parsed->count() > 0 ? std::string() : "expected a duration such as 30s";
}

// One line on stderr per event: text, or one JSON object (--log-format json). Redacted.
class ServeLog {
 public:
  explicit ServeLog(bool json) : m_json(json) {}
  void operator()(const std::string& event, const std::string& message,
                  nlohmann::json fields = nlohmann::json::object()) const {
    const std::string now = rfc3339_utc(std::chrono::system_clock::now());
    if (m_json) {
      fields["time"] = now;
      fields["event"] = event;
      fields["message"] = message;
      print_to(stderr, "{}\n", dump_json(redact_json(fields)));
    } else {
      print_to(stderr, "{}\n", redact(one_line(fmt::format("{} drctl serve: {}", now, message))));
    }
  }

 private:
  bool m_json;
};

sigset_t serve_signals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGHUP);
  return set;
}

class ServeCommand : public Command {
 public:
  const char* name() const override { return "serve"; }
  const char* help() const override {
    return "Evaluate the playbook's checks continuously and answer /readiness, /metrics over HTTP";
  }
  void setup(CLI::App& app) override {
    app.add_option("playbook", m_path, "Playbook file (its checks are served; steps never run)")
        ->required();
    app.add_option("--listen", m_listen, "HOST:PORT to listen on (port 0: a free one)")->required();
    app.add_option("--port-file", m_port_file, "Write the port bound to FILE once listening");
    app.add_option("--interval", m_interval,
                   "Between one check's evaluations (default 30s; a check's `interval:` wins)")
        ->check(duration_check);
    app.add_option("--min-write-interval", m_min_write_interval,
                   "Between evaluations of a check that writes (default 1m; its `min_interval:` "
                   "wins)")
        ->check(duration_check);
    app.add_option("--max-age", m_max_age,
                   "An older result is stale: not ready (default 3 x each check's interval, or "
                   "longer for a check whose attempts can take longer)")
        ->check(duration_check);
    app.add_option("--max-connections", m_max_connections,
                   "HTTP connections served at once (default 16)")
        ->check(CLI::Range(1, 1024));
    app.add_option("--token-file", m_token_file,
                   "Ask for this bearer token on every endpoint but /healthz");
    app.add_flag("--allow-trigger", m_allow_trigger,
                 "Answer POST /checks/NAME/run (evaluate a check now)");
    app.add_option("--tls-cert", m_tls_cert, "Serve HTTPS with this PEM certificate (chain)");
    app.add_option("--tls-key", m_tls_key, "The PEM private key of --tls-cert");
    app.add_option("--log-format", m_log_format, "stderr log lines: text or json")
        ->check(CLI::IsMember({"text", "json"}));
  }

  int run(const GlobalOptions& global) override;

 private:
  // Loads and validates the playbook, and its checks' schedules against --max-age; nullopt
  // with why (and every diagnostic logged).
  std::optional<Playbook> load(const GlobalOptions& global, const MonitorOptions& monitor_options,
                               const ServeLog& log, std::string& why) const;

  std::string m_path;
  std::string m_listen;
  std::string m_port_file;
  std::string m_interval = "30s";
  std::string m_min_write_interval = "1m";
  std::string m_max_age;
  int m_max_connections = 16;
  std::string m_token_file;
  bool m_allow_trigger = false;
  std::string m_log_format = "text";
  std::string m_tls_cert;
  std::string m_tls_key;
};

std::optional<Playbook> ServeCommand::load(const GlobalOptions& global,
                                           const MonitorOptions& monitor_options,
                                           const ServeLog& log, std::string& why) const {
  auto overrides = parse_vars(global.vars);
  if (!overrides) {
    why = "a --var is malformed";
    return std::nullopt;
  }
  LoadOptions options;
  options.var_overrides = *overrides;
  auto result = load_playbook(m_path, options);
  if (result.unreadable) {
    why = fmt::format("{}: cannot read the playbook file", m_path);
    return std::nullopt;
  }
  std::size_t errors = 0;
  std::string first_error;
  for (const auto& d : result.diagnostics) {
    if (d.severity != Diagnostic::Severity::error) continue;
    if (++errors <= 5) log("playbook_error", d.to_string());
    if (first_error.empty()) first_error = d.to_string();
  }
  if (!result.playbook) {
    // The first error in full: a refused reload shows it in /readiness's config too.
    why = fmt::format("{}: invalid playbook ({} error{}; the first: {})", m_path, errors,
                      errors == 1 ? "" : "s", first_error);
    return std::nullopt;
  }
  if (result.playbook->checks.empty()) {
    why = fmt::format("{}: the playbook has no checks: nothing to serve", m_path);
    return std::nullopt;
  }
  for (const auto& check : result.playbook->checks) {
    const Kind* kind = builtin_kinds().find(check.action.kind);
    const bool writes = kind != nullptr && kind->writes(check.action.spec);
    const CheckSchedule schedule = check_schedule(check, writes, monitor_options);
    // Its next evaluation may start 10 % late (the jitter): stale before it could even start.
    if (monitor_options.max_age &&
        schedule.interval + schedule.interval / 10 >= *monitor_options.max_age) {
      why = fmt::format(
          "{}: check '{}' is evaluated every {}{} (10 % jitter), but --max-age is {}: it would "
          "go stale between evaluations (raise --max-age, or leave it out: 3 x each check's "
          "interval, or more for a check whose retries take longer)",
          m_path, check.name, format_duration(schedule.interval), writes ? " (it writes)" : "",
          format_duration(*monitor_options.max_age));
      return std::nullopt;
    }
  }
  return std::move(result.playbook);
}

int ServeCommand::run(const GlobalOptions& global) {
  // Blocked before anything else (a `systemctl reload` during start must not kill it with
  // SIGHUP's default action) and before any thread starts, so only this thread takes them
  // (sigtimedwait below).
  sigset_t signals = serve_signals();
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  // A long-lived process of ~30 mostly idle threads: glibc would give each thread that allocates
  // an arena of its own (up to 8 per core), held for ever; two are plenty here (bench/serve.sh).
  mallopt(M_ARENA_MAX, 2);
  const ServeLog log(m_log_format == "json");
  auto listen = parse_listen(m_listen);
  if (!listen) {
    print_error(listen.error());
    return k_exit_usage;
  }
  MonitorOptions monitor_options;
  monitor_options.interval = *parse_duration(m_interval);
  monitor_options.min_write_interval = *parse_duration(m_min_write_interval);
  if (!m_max_age.empty()) monitor_options.max_age = *parse_duration(m_max_age);
  monitor_options.concurrency = global.parallel;
  monitor_options.run_id = fmt::format("serve-{}", ::getpid());
  const Millis grace = parse_duration(global.grace).value_or(Millis(10'000));

  ServeHttpOptions http_options;
  http_options.host = listen->first;
  http_options.port = listen->second;
  http_options.allow_trigger = m_allow_trigger;
  http_options.max_connections = m_max_connections;
  if (m_tls_cert.empty() != m_tls_key.empty()) {
    print_error("--tls-cert and --tls-key go together");
    return k_exit_usage;
  }
  for (const auto& [flag, path] : {std::pair{"--tls-cert", m_tls_cert}, {"--tls-key", m_tls_key}}) {
    if (!path.empty() && !std::ifstream(path)) {
      print_error(fmt::format("{} {}: cannot read the file", flag, path));
      return k_exit_usage;
    }
  }
  http_options.tls_cert = m_tls_cert;
  http_options.tls_key = m_tls_key;
  if (!m_token_file.empty()) {
    auto token = secret_from_file(m_token_file);  // registered: redacted wherever it shows
    if (!token || token->empty()) {
      print_error(token ? fmt::format("--token-file {}: the file is empty", m_token_file)
                        : fmt::format("--token-file: {}", token.error()));
      return k_exit_usage;
    }
    http_options.token = *token;
  }

  std::string why;
  auto playbook = load(global, monitor_options, log, why);
  if (!playbook) {
    print_error(why);
    return why.find("invalid playbook") != std::string::npos ? k_exit_invalid_playbook
                                                             : k_exit_usage;
  }

  ReadinessMonitor monitor(builtin_kinds(), monitor_options, [&log](const Transition& t) {
    log("check_transition",
        fmt::format("check '{}' ({}): {} -> {}: {}", t.check, t.kind, t.from, t.to, t.message),
        {{"check", t.check},
         {"kind", t.kind},
         {"from", t.from},
         {"to", t.to},
         {"detail", t.message},
         {"at", rfc3339_utc(t.at)}});
  });
  ServeHttp http(monitor, http_options);
  auto port = http.bind();
  if (!port) {
    print_error(port.error());
    return k_exit_unavailable;
  }
  if (!m_port_file.empty()) {
    const std::string temp = m_port_file + ".tmp";
    std::ofstream(temp) << *port << "\n";
    if (std::rename(temp.c_str(), m_port_file.c_str()) != 0) {
      print_error(fmt::format("--port-file {}: cannot write it", m_port_file));
      return k_exit_usage;
    }
  }
  monitor.start(*playbook);
  std::atomic<bool> server_ended{false};
  std::thread server([&] {
    http.serve();
    server_ended = true;
  });
  log("listening",
      fmt::format("serving {} check{} of {} on {}://{}:{}, every {} by default, checks that "
                  "write at most every {} (stale after {})",
                  playbook->checks.size(), playbook->checks.size() == 1 ? "" : "s", m_path,
                  m_tls_cert.empty() ? "http" : "https",
                  http_options.host.find(':') == std::string::npos
                      ? http_options.host
                      : "[" + http_options.host + "]",  // an IPv6 address in a URL
                  *port, format_duration(monitor_options.interval),
                  format_duration(monitor_options.min_write_interval),
                  monitor_options.max_age ? format_duration(*monitor_options.max_age)
                                          : std::string("3 x each check's interval or more")),
      {{"port", *port}, {"checks", playbook->checks.size()}});

  int stop_signal = 0;
  while (stop_signal == 0 && !server_ended) {
    timespec tick{1, 0};
    const int sig = sigtimedwait(&signals, nullptr, &tick);
    if (sig == SIGHUP) {
      std::string reload_why;
      if (auto reloaded = load(global, monitor_options, log, reload_why)) {
        monitor.replace(*reloaded);
        log("reload", fmt::format("reloaded {}: {} checks", m_path, reloaded->checks.size()),
            {{"successful", true}});
      } else {
        monitor.reload_failed(reload_why);
        log("reload",
            fmt::format("reload refused, the playbook loaded before keeps serving: {}", reload_why),
            {{"successful", false}});
      }
    } else if (sig == SIGINT || sig == SIGTERM) {
      stop_signal = sig;
    }
  }
  log("stopping", fmt::format("{}: stopping; evaluations in flight are cancelled (grace {})",
                              stop_signal == 0 ? "the HTTP server ended" : strsignal(stop_signal),
                              format_duration(grace)));
  // The whole stop fits in the grace: evaluations are cancelled first, then the server stops
  // listening and cuts its connections; whatever has not ended by the deadline is left behind.
  const auto deadline = std::chrono::steady_clock::now() + grace;
  monitor.stop(Millis(0));
  // stop() is lost when it comes before listening began: asked again until the server ended.
  while (!server_ended && std::chrono::steady_clock::now() < deadline) {
    http.stop();
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  const auto left = std::max(
      Millis(0), std::chrono::duration_cast<Millis>(deadline - std::chrono::steady_clock::now()));
  if (!server_ended || !monitor.stop(left)) {
    log("stopped", fmt::format("grace period over: {} did not end; exiting without it",
                               server_ended ? "an evaluation" : "the HTTP server"));
    std::fflush(nullptr);
    std::_Exit(stop_signal == 0 ? k_exit_unavailable : k_exit_success);
  }
  server.join();
  log("stopped", "stopped");
  return stop_signal == 0 ? k_exit_unavailable : k_exit_success;
}

}  // namespace

std::unique_ptr<Command> make_serve_command() {
  return std::make_unique<ServeCommand>();
}

}  // namespace drctl::cli
