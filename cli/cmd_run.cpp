// drctl run PLAYBOOK [--dry-run] [--yes]: checks, then steps; rollback on failure.
#include <fmt/format.h>
#include <unistd.h>

#include <iostream>

#include "command.hpp"
#include "common.hpp"
#include "engine/exit_codes.hpp"

namespace drctl::cli {
namespace {

class RunCommand : public Command {
 public:
  const char* name() const override { return "run"; }
  const char* help() const override { return "Run the checks, then the steps (rolling back on failure)"; }
  void setup(CLI::App& app) override {
    app.add_option("playbook", m_path, "Playbook file")->required();
    app.add_flag("--dry-run", m_dry_run, "Run the checks; describe each step without changing anything");
    app.add_flag("-y,--yes", m_yes, "Do not ask for confirmation (required when stdin is not a terminal)");
  }

  int run(const GlobalOptions& global) override {
    int exit_code = 0;
    auto playbook = load_or_report(m_path, global, exit_code);
    if (!playbook) return exit_code;
    // No switch without its journal: the state dir must be usable before anything runs.
    if (!m_dry_run && !journal_dir(global)) return k_exit_usage;
    if (!m_dry_run && !m_yes) {
      if (::isatty(STDIN_FILENO) == 0) {
        print_error("refusing to run without --yes: stdin is not a terminal (use --dry-run to only describe the steps)");
        return k_exit_usage;
      }
      fmt::print(stderr, "About to run '{}': {} checks, then {} steps that change the system.\nType 'yes' to continue: ",
                 playbook->name, playbook->checks.size(), playbook->steps.size());
      std::string answer;
      std::getline(std::cin, answer);
      if (answer != "yes") {
        print_error("not confirmed: nothing was run");
        return k_exit_usage;
      }
    }
    return execute(*playbook, m_dry_run ? Mode::dry_run : Mode::run, global);
  }

 private:
  std::string m_path;
  bool m_dry_run = false;
  bool m_yes = false;
};

}  // namespace

std::unique_ptr<Command> make_run_command() { return std::make_unique<RunCommand>(); }

}  // namespace drctl::cli
