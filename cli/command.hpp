#pragma once
// A subcommand: it declares its options on its CLI11 App, then runs with the global options.
#include <CLI/CLI.hpp>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace drctl::cli {

enum class OutputFormat { text, json };

// Options every subcommand accepts, before or after its name.
struct GlobalOptions {
  OutputFormat output = OutputFormat::text;
  std::string junit_path;
  std::string html_path;          // --html FILE: the self-contained HTML drill report
  std::vector<std::string> vars;  // raw NAME=VALUE
  int parallel = 8;
  bool quiet = false;
  bool verbose = false;
  bool probe = false;         // a single check: one result line, no table or banner
  std::string state_dir;      // journals; "" = $XDG_STATE_HOME/drctl or ~/.local/state/drctl
  std::string grace = "10s";  // after SIGINT/SIGTERM, how long the running step may still take
  std::string push_metrics;   // Pushgateway base URL; "" = no push
};

class Command {
 public:
  virtual ~Command() = default;
  virtual const char* name() const = 0;
  virtual const char* help() const = 0;
  virtual void setup(CLI::App& app) = 0;
  // Returns the process exit code.
  virtual int run(const GlobalOptions& global) = 0;
};

std::unique_ptr<Command> make_validate_command();
std::unique_ptr<Command> make_plan_command();
std::unique_ptr<Command> make_check_command();
std::unique_ptr<Command> make_run_command();
std::unique_ptr<Command> make_version_command();
std::unique_ptr<Command> make_schema_command();
std::unique_ptr<Command> make_probe_command();
std::unique_ptr<Command> make_cache_command();
std::unique_ptr<Command> make_runs_command();
std::unique_ptr<Command> make_show_command();
std::unique_ptr<Command> make_report_command();
std::unique_ptr<Command> make_rollback_command();
std::unique_ptr<Command> make_help_command();
std::unique_ptr<Command> make_approve_command();
std::unique_ptr<Command> make_reject_command();
std::unique_ptr<Command> make_serve_command();

// What `drctl version` prints (without the final newline); `drctl --version` prints the same.
std::string version_text(OutputFormat output);

}  // namespace drctl::cli
