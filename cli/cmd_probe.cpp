// drctl probe consul|mysql|grpc|etcd|etcd-watch: one check from flags, no playbook. The check is
// built as a one-entry playbook and validated like any other, so a probe and a playbook check
// behave the same; a bad value is reported under its flag's name.
#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "command.hpp"
#include "common.hpp"
#include "engine/exit_codes.hpp"
#include "kinds/registry.hpp"
#include "playbook/loader.hpp"
#include "probe_flags.hpp"
#include "util/json_dump.hpp"

namespace drctl::cli {
namespace {

// Exit codes of grpc_health_probe, which `drctl probe grpc` can replace.
constexpr int k_probe_invalid_arguments = 1;
constexpr int k_probe_connection_failure = 2;
constexpr int k_probe_rpc_failure = 3;
constexpr int k_probe_unhealthy = 4;

// One probe: a kind run as a one-check playbook, its flags made from the kind's table.
struct ProbeRow {
  const char* command;
  const char* kind;
  const char* help;
  const char* timeout;  // the check's limit unless --timeout says otherwise
  ProbeShape shape;
};

const std::vector<ProbeRow>& probe_rows() {
  static const std::vector<ProbeRow> rows = {
      {"consul",
       "consul",
       "At least N passing instances of a service in Consul (exit 0 pass, 1 fail, 64 usage)",
       "5s",
       {}},
      {"mysql",
       "mysql",
       "Replica running with lag under --max-lag; --method promotable: may it replace the "
       "primary now; --method lost: what an old primary has that it lacks (exit 0 pass, 1 fail, "
       "64 usage)",
       "30s",
       {.inherited_members = {{"user"}, {"password_env", "password_file"}}}},
      {"mysql-lost",
       "mysql",
       "After an emergency promotion: what the old primary (--primary-*) has that this server, "
       "its successor, lacks, named; the old primary is kept read-only (the check `mysql` with "
       "method lost; exit 0 nothing lost, 1 lost or refused, 64 usage)",
       "30s",
       {.inherited_members = {{"user"}, {"password_env", "password_file"}},
        .fixed = {{"method", "lost"}}}},
      {"grpc",
       "grpc_health",
       "grpc.health.v1 Check; exit codes as grpc_health_probe (0 SERVING, 1 bad arguments, 2 "
       "connection failed, 3 RPC failed, "
       "4 not SERVING)",
       "1m",  // the check's own timeouts bound it; this only guards against a hang
       {.required = {"address"}, .aliases = {{"address", "--addr"}}}},
      {"etcd",
       "etcd_health",
       "Every endpoint healthy: leader known, raft caught up, quorum read, no alarm (exit 0 pass, "
       "1 fail, 64 usage)",
       "30s",
       {.shared_objects = {"etcd"}, .per_object_members = {"endpoints"}}},
      {"etcd-watch",
       "etcd_watch_latency",
       "Watch propagation latency: N canary puts through one side, watched through the other; "
       "fails when P99 > --max-p99 "
       "(exit 0 pass, 1 fail, 64 usage)",
       "5m",
       {.shared_objects = {"put", "watch"}, .per_object_members = {"endpoints"}}},
  };
  return rows;
}

// Validates {kind: spec} as a one-check playbook; prints flag-named errors on failure.
std::optional<Playbook> build(const ProbeRow& row, const ProbeFlags& flags,
                              const std::string& timeout) {
  auto spec = flags.spec();
  if (!spec) return std::nullopt;
  nlohmann::json check = {
      {"name", row.kind}, {row.kind, *spec}, {"timeout", timeout.empty() ? row.timeout : timeout}};
  nlohmann::json doc = {
      {"version", 1}, {"name", std::string("probe-") + row.kind}, {"checks", {check}}};
  auto result = parse_playbook(dump_json(doc), "probe", {});
  if (result.playbook) return result.playbook;
  const std::string prefix = std::string("checks[0].") + row.kind + ".";
  for (const auto& d : result.diagnostics) {
    if (d.severity != Diagnostic::Severity::error) continue;
    std::string flag = d.path == "checks[0].timeout"  ? "--timeout"
                       : d.path.rfind(prefix, 0) == 0 ? flags.flag_for(d.path.substr(prefix.size()))
                                                      : "";
    print_error(flag.empty() ? d.message : fmt::format("{}: {}", flag, d.message));
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
    m_probes.reserve(probe_rows().size());  // CLI11 binds to each probe's members: no reallocation
    for (const auto& row : probe_rows()) {
      auto* sub = app.add_subcommand(row.command, row.help);
      const Kind* kind = builtin_kinds().find(row.kind);
      m_probes.push_back({&row, sub, std::make_unique<ProbeFlags>(*sub, *kind, row.shape), ""});
      sub->add_option("--timeout", m_probes.back().timeout,
                      fmt::format("Limit for the whole probe (default {})", row.timeout))
          ->type_name("DURATION");
    }
  }

  int run(const GlobalOptions& global) override {
    bool grpc = std::any_of(m_probes.begin(), m_probes.end(), [](const Probe& p) {
      return p.app->parsed() && std::string(p.row->command) == "grpc";
    });
    if (!report_files_writable(global)) return grpc ? k_probe_invalid_arguments : k_exit_usage;
    for (const auto& probe : m_probes) {
      if (!probe.app->parsed()) continue;
      auto playbook = build(*probe.row, *probe.flags, probe.timeout);
      if (!playbook) return grpc ? k_probe_invalid_arguments : k_exit_usage;
      return grpc ? run_grpc(*playbook, global)
                  : execute(*playbook, Mode::check, quiet_table(global));
    }
    return k_exit_usage;
  }

 private:
  struct Probe {
    const ProbeRow* row;
    CLI::App* app;
    std::unique_ptr<ProbeFlags> flags;
    std::string timeout;
  };

  // grpc_health_probe's exit codes, from the check's status output.
  static int run_grpc(const Playbook& playbook, const GlobalOptions& global) {
    auto report = execute_report(playbook, Mode::check, quiet_table(global));
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

  std::vector<Probe> m_probes;
};

}  // namespace

std::unique_ptr<Command> make_probe_command() {
  return std::make_unique<ProbeCommand>();
}

}  // namespace drctl::cli
