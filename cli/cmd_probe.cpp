// drctl probe consul|mysql|grpc|etcd|etcd-watch: one check from flags, no playbook. The check is
// built as a one-entry playbook and validated like any other, so a probe and a playbook check
// behave the same; a bad value is reported under its flag's name.
#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "command.hpp"
#include "common.hpp"
#include "engine/exit_codes.hpp"
#include "playbook/loader.hpp"
#include "util/json_dump.hpp"

namespace drctl::cli {
namespace {

// Exit codes of grpc_health_probe, which `drctl probe grpc` can replace.
constexpr int k_probe_invalid_arguments = 1;
constexpr int k_probe_connection_failure = 2;
constexpr int k_probe_rpc_failure = 3;
constexpr int k_probe_unhealthy = 4;

std::string flag_of(const std::string& path, const std::string& kind) {
  std::string prefix = "checks[0]." + kind + ".";
  std::string key = path.rfind(prefix, 0) == 0 ? path.substr(prefix.size()) : path;
  if (key == "checks[0].timeout") key = "timeout";
  std::replace(key.begin(), key.end(), '_', '-');
  std::replace(key.begin(), key.end(), '.', '-');  // put.endpoints -> --put-endpoints
  return "--" + key;
}

// Validates {kind: spec} as a one-check playbook; prints flag-named errors on failure.
std::optional<Playbook> build(const std::string& kind, const nlohmann::json& spec,
                              const std::string& timeout) {
  nlohmann::json check = {{"name", kind}, {kind, spec}};
  if (!timeout.empty()) check["timeout"] = timeout;
  nlohmann::json doc = {{"version", 1}, {"name", "probe-" + kind}, {"checks", {check}}};
  auto result = parse_playbook(dump_json(doc), "probe", {});
  if (result.playbook) return result.playbook;
  for (const auto& d : result.diagnostics) {
    if (d.severity == Diagnostic::Severity::error) {
      print_error(d.path.empty() ? d.message
                                 : fmt::format("{}: {}", flag_of(d.path, kind), d.message));
    }
  }
  return std::nullopt;
}

class ProbeCommand : public Command {
 public:
  const char* name() const override { return "probe"; }
  const char* help() const override {
    return "Run one pre-switch check from flags, without a playbook";
  }

  void setup(CLI::App& app) override {
    app.require_subcommand(1);
    m_consul = app.add_subcommand(
        "consul",
        "At least N passing instances of a service in Consul (exit 0 pass, 1 fail, 64 usage)");
    m_consul->add_option("--address", m_address, "Consul HTTP API, e.g. http://10.2.0.5:8500")
        ->required();
    m_consul->add_option("--service", m_service, "Service name")->required();
    m_consul->add_option("--min-passing", m_min_passing, "Instances that must pass (default 1)")
        ->check(CLI::Range(0LL, 1000000LL));
    m_consul->add_option("--dc", m_dc, "Datacenter");
    m_consul->add_option("--filter", m_filter, "Consul filter expression");
    m_consul->add_option("--token-env", m_token_env, "Environment variable holding the ACL token");
    m_consul->add_option("--token-file", m_token_file, "File holding the ACL token");
    add_tls_flags(*m_consul);
    m_consul->add_option("--timeout", m_timeout, "Limit for the whole probe (default 5s)");

    m_mysql = app.add_subcommand(
        "mysql", "Replica running with lag under --max-lag (exit 0 pass, 1 fail, 64 usage)");
    m_mysql->add_option("--host", m_host, "Replica host (default 127.0.0.1)");
    m_mysql->add_option("--port", m_port, "Replica port (default 3306)")
        ->check(CLI::Range(1, 65535));
    m_mysql->add_option("--socket", m_socket, "Replica Unix socket");
    m_mysql->add_option("--user", m_user, "User")->required();
    m_mysql->add_option("--password-env", m_password_env,
                        "Environment variable holding the password");
    m_mysql->add_option("--password-file", m_password_file, "File holding the password");
    m_mysql->add_option("--max-lag", m_max_lag, "Largest acceptable lag, e.g. 200ms");
    m_mysql->add_option("--method", m_method, "replica_status (default), gtid or heartbeat");
    m_mysql->add_option("--primary-host", m_primary_host, "Primary host (gtid, heartbeat)");
    m_mysql->add_option("--primary-port", m_primary_port, "Primary port")
        ->check(CLI::Range(1, 65535));
    m_mysql->add_option("--wait", m_wait, "gtid: wait this long for the replica to catch up");
    m_mysql->add_flag("--write", m_write,
                      "heartbeat: write a heartbeat on the primary and time its arrival");
    m_mysql->add_option("--timeout", m_timeout, "Limit for the whole probe (default 30s)");
    add_tls_flags(*m_mysql);

    m_grpc = app.add_subcommand(
        "grpc",
        "grpc.health.v1 Check; exit codes as grpc_health_probe (0 SERVING, 1 bad arguments, "
        "2 connection failed, 3 RPC failed, 4 not SERVING)");
    m_grpc->add_option("--addr", m_address, "host:port")->required();
    m_grpc->add_option("--service", m_service, "Service name (default \"\": the whole server)");
    m_grpc->add_option("--connect-timeout", m_connect_timeout, "Connection limit (default 1s)");
    m_grpc->add_option("--rpc-timeout", m_rpc_timeout, "RPC limit (default 1s)");
    m_grpc->add_flag("--tls", m_tls, "Use TLS");
    m_grpc->add_option("--server-name", m_server_name, "Name to verify in the server certificate");
    m_grpc->add_option("--user-agent", m_user_agent, "User-agent prefix");
    add_tls_flags(*m_grpc);

    m_etcd = app.add_subcommand("etcd",
                                "Every endpoint healthy: leader known, raft caught up, quorum "
                                "read, no alarm (exit 0 pass, 1 fail, 64 usage)");
    m_etcd->add_option("--endpoints", m_endpoints, "host:port,... (each judged on its own)")
        ->required()
        ->delimiter(',');
    m_etcd->add_option("--cluster-id", m_cluster_id, "Expected cluster id (hex)");
    m_etcd
        ->add_option("--max-raft-lag", m_max_raft_lag,
                     "Raft entries an endpoint may be behind the leader (default 50)")
        ->check(CLI::Range(0LL, 1LL << 40));
    m_etcd
        ->add_option("--min-healthy", m_min_healthy,
                     "Endpoints that must be healthy (default: all)")
        ->check(CLI::Range(1LL, 1000LL));
    add_etcd_flags(*m_etcd);

    m_etcd_watch = app.add_subcommand(
        "etcd-watch",
        "Watch propagation latency: N canary puts through one side, watched through the other; "
        "fails when P99 > --max-p99 (exit 0 pass, 1 fail, 64 usage)");
    m_etcd_watch->add_option("--put-endpoints", m_put_endpoints, "Where the puts go: host:port,...")
        ->required()
        ->delimiter(',');
    m_etcd_watch
        ->add_option("--watch-endpoints", m_watch_endpoints,
                     "Where they are watched: host:port,...")
        ->required()
        ->delimiter(',');
    m_etcd_watch->add_option("--prefix", m_prefix, "Prefix of the canary key")->required();
    m_etcd_watch->add_option("--count", m_count, "Canary puts (default 100)")
        ->check(CLI::Range(1LL, 100000LL));
    m_etcd_watch->add_option("--rate", m_rate, "Puts per second, 0 for back to back (default 50)")
        ->check(CLI::Range(0LL, 100000LL));
    m_etcd_watch->add_option("--max-p99", m_max_p99, "Largest acceptable P99 (default 832ms)");
    add_etcd_flags(*m_etcd_watch);
  }

  int run(const GlobalOptions& global) override {
    if (!report_files_writable(global))
      return m_grpc->parsed() ? k_probe_invalid_arguments : k_exit_usage;
    if (m_consul->parsed()) return run_consul(global);
    if (m_mysql->parsed()) return run_mysql(global);
    if (m_etcd->parsed()) return run_etcd(global);
    if (m_etcd_watch->parsed()) return run_etcd_watch(global);
    return run_grpc(global);
  }

 private:
  void add_tls_flags(CLI::App& app) {
    app.add_option("--ca", m_ca, "CA bundle (PEM)");
    app.add_option("--cert", m_cert, "Client certificate (PEM)");
    app.add_option("--key", m_key, "Client key (PEM)");
    app.add_flag("--insecure", m_insecure, "Skip TLS verification");
  }

  void add_etcd_flags(CLI::App& app) {
    app.add_option("--user", m_user, "etcd user");
    app.add_option("--password-env", m_password_env, "Environment variable holding the password");
    app.add_option("--password-file", m_password_file, "File holding the password");
    app.add_option("--ca", m_ca, "CA bundle (PEM); enables TLS");
    app.add_option("--cert", m_cert, "Client certificate (PEM)");
    app.add_option("--key", m_key, "Client key (PEM)");
    app.add_option("--dial-timeout", m_connect_timeout,
                   "Time to connect to one endpoint (default 2s)");
    app.add_option("--timeout", m_timeout, "Limit for the whole probe (default 30s)");
  }

  nlohmann::json etcd_connection(const std::vector<std::string>& endpoints) const {
    nlohmann::json spec = {{"endpoints", endpoints}};
    if (!m_user.empty()) spec["user"] = m_user;
    if (!m_password_env.empty()) spec["password_env"] = m_password_env;
    if (!m_password_file.empty()) spec["password_file"] = m_password_file;
    if (!m_ca.empty()) spec["ca"] = m_ca;
    if (!m_cert.empty()) spec["cert"] = m_cert;
    if (!m_key.empty()) spec["key"] = m_key;
    if (!m_connect_timeout.empty()) spec["dial_timeout"] = m_connect_timeout;
    return spec;
  }

  int run_etcd(const GlobalOptions& global) {
    nlohmann::json spec = {{"etcd", etcd_connection(m_endpoints)}};
    if (!m_cluster_id.empty()) spec["cluster_id"] = m_cluster_id;
    if (m_max_raft_lag >= 0) spec["max_raft_lag"] = m_max_raft_lag;
    if (m_min_healthy > 0) spec["min_healthy"] = m_min_healthy;
    auto playbook = build("etcd_health", spec, m_timeout.empty() ? "30s" : m_timeout);
    if (!playbook) return k_exit_usage;
    return execute(*playbook, Mode::check, quiet_table(global));
  }

  int run_etcd_watch(const GlobalOptions& global) {
    nlohmann::json spec = {{"put", etcd_connection(m_put_endpoints)},
                           {"watch", etcd_connection(m_watch_endpoints)},
                           {"prefix", m_prefix}};
    if (m_count > 0) spec["count"] = m_count;
    if (m_rate >= 0) spec["rate"] = m_rate;
    if (!m_max_p99.empty()) spec["max_p99"] = m_max_p99;
    auto playbook = build("etcd_watch_latency", spec, m_timeout.empty() ? "5m" : m_timeout);
    if (!playbook) return k_exit_usage;
    return execute(*playbook, Mode::check, quiet_table(global));
  }

  void add_tls(nlohmann::json& spec) const {
    if (!m_ca.empty()) spec["ca"] = m_ca;
    if (!m_cert.empty()) spec["cert"] = m_cert;
    if (!m_key.empty()) spec["key"] = m_key;
    if (m_insecure) spec["insecure"] = true;
  }

  int run_consul(const GlobalOptions& global) {
    nlohmann::json spec = {{"address", m_address}, {"service", m_service}};
    if (m_min_passing >= 0) spec["min_passing"] = m_min_passing;
    if (!m_dc.empty()) spec["dc"] = m_dc;
    if (!m_filter.empty()) spec["filter"] = m_filter;
    if (!m_token_env.empty()) spec["token_env"] = m_token_env;
    if (!m_token_file.empty()) spec["token_file"] = m_token_file;
    add_tls(spec);
    auto playbook = build("consul", spec, m_timeout.empty() ? "5s" : m_timeout);
    if (!playbook) return k_exit_usage;
    return execute(*playbook, Mode::check, quiet_table(global));
  }

  int run_mysql(const GlobalOptions& global) {
    nlohmann::json spec = {{"user", m_user}};
    if (!m_host.empty()) spec["host"] = m_host;
    if (m_port > 0) spec["port"] = m_port;
    if (!m_socket.empty()) spec["socket"] = m_socket;
    if (!m_password_env.empty()) spec["password_env"] = m_password_env;
    if (!m_password_file.empty()) spec["password_file"] = m_password_file;
    if (!m_max_lag.empty()) spec["max_lag"] = m_max_lag;
    if (!m_method.empty()) spec["method"] = m_method;
    if (!m_wait.empty()) spec["wait"] = m_wait;
    if (m_write) spec["write"] = true;
    add_tls(spec);
    if (!m_primary_host.empty() || m_primary_port > 0) {
      // The primary is reached with the same user and password as the replica.
      nlohmann::json primary = {{"user", m_user}};
      if (!m_primary_host.empty()) primary["host"] = m_primary_host;
      if (m_primary_port > 0) primary["port"] = m_primary_port;
      if (!m_password_env.empty()) primary["password_env"] = m_password_env;
      if (!m_password_file.empty()) primary["password_file"] = m_password_file;
      spec["primary"] = primary;
    }
    auto playbook = build("mysql", spec, m_timeout.empty() ? "30s" : m_timeout);
    if (!playbook) return k_exit_usage;
    return execute(*playbook, Mode::check, quiet_table(global));
  }

  int run_grpc(const GlobalOptions& global) {
    nlohmann::json spec = {{"address", m_address}, {"service", m_service}};
    if (!m_connect_timeout.empty()) spec["connect_timeout"] = m_connect_timeout;
    if (!m_rpc_timeout.empty()) spec["rpc_timeout"] = m_rpc_timeout;
    if (m_tls) spec["tls"] = true;
    if (!m_server_name.empty()) spec["server_name"] = m_server_name;
    if (!m_user_agent.empty()) spec["user_agent"] = m_user_agent;
    add_tls(spec);
    // The check's own timeouts bound it; the entry's limit only guards against a hang.
    auto playbook = build("grpc_health", spec, "1m");
    if (!playbook) return k_probe_invalid_arguments;
    auto report = execute_report(*playbook, Mode::check, quiet_table(global));
    if (report.checks.empty()) return k_exit_interrupted;
    const auto& record = report.checks.front();
    auto status = record.outputs.count("status") ? record.outputs.at("status") : "";
    if (status == "SERVING") return 0;
    if (status == "CONNECT_FAILED" || status == "CONNECT_TIMEOUT")
      return k_probe_connection_failure;
    if (status == "NOT_SERVING" || status == "UNKNOWN" || status == "SERVICE_UNKNOWN")
      return k_probe_unhealthy;
    if (status == "CONFIG" || status.empty()) return k_probe_invalid_arguments;
    return k_probe_rpc_failure;  // NOT_FOUND, UNIMPLEMENTED, STREAM_RESET, DEADLINE_EXCEEDED, other
                                 // RPC errors
  }

  // A probe is one line of output, not a table.
  static GlobalOptions quiet_table(GlobalOptions global) {
    global.probe = true;
    return global;
  }

  CLI::App* m_consul = nullptr;
  CLI::App* m_grpc = nullptr;
  CLI::App* m_mysql = nullptr;
  CLI::App* m_etcd = nullptr;
  CLI::App* m_etcd_watch = nullptr;
  std::vector<std::string> m_endpoints, m_put_endpoints, m_watch_endpoints;
  std::string m_cluster_id, m_prefix, m_max_p99;
  long long m_max_raft_lag = -1, m_min_healthy = 0, m_count = 0, m_rate = -1;
  std::string m_host, m_socket, m_user, m_password_env, m_password_file, m_max_lag, m_method,
      m_primary_host, m_wait;
  int m_port = 0;
  int m_primary_port = 0;
  bool m_write = false;
  std::string m_address, m_service, m_dc, m_filter, m_token_env, m_token_file, m_timeout;
  std::string m_ca, m_cert, m_key, m_server_name, m_user_agent, m_connect_timeout, m_rpc_timeout;
  long long m_min_passing = -1;
  bool m_insecure = false;
  bool m_tls = false;
};

}  // namespace

std::unique_ptr<Command> make_probe_command() {
  return std::make_unique<ProbeCommand>();
}

}  // namespace drctl::cli
