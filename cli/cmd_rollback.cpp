// drctl rollback RUN_ID [--playbook FILE] [--force] [--yes]: undoes what a run changed, newest
// first, from its journal (the state dir, else the etcd copy under the playbook's run lock).
// The run's whole chain is read (its resumes, earlier rollbacks): only what is still done is
// undone, so rolling back twice changes nothing the second time.
#include <fmt/format.h>
#include <unistd.h>

#include <iostream>

#include "command.hpp"
#include "common.hpp"
#include "engine/exit_codes.hpp"
#include "journal_playbook.hpp"
#include "util/print.hpp"

namespace drctl::cli {
namespace {

class RollbackCommand : public Command {
 public:
  const char* name() const override { return "rollback"; }
  const char* help() const override {
    return "Roll back what run RUN_ID changed: the rollbacks of its completed steps, newest first";
  }
  void setup(CLI::App& app) override {
    app.add_option("run_id", m_run_id, "Run id (drctl runs lists them)")->required();
    app.add_option("--playbook", m_playbook_path,
                   "The run's playbook (default: the copy in its journal); its run lock finds the "
                   "etcd copy of the journal");
    app.add_flag("--force", m_force, "Go on even if --playbook is not the version the run used");
    app.add_flag("-y,--yes", m_yes,
                 "Do not ask for confirmation (required when stdin is not a terminal)");
  }

  int run(const GlobalOptions& global) override {
    if (!journal_dir(global)) return k_exit_usage;
    // The playbook first only to find the journals (its lock names their etcd copy), with
    // the run's --var values when its journal is on this machine.
    auto given = parse_vars(global.vars);
    if (!given) return k_exit_usage;
    std::optional<JournalState> local;
    if (auto lines = find_journal(global, m_run_id, nullptr); lines) {
      if (auto state = journal_state(*lines); state) local = std::move(*state);
    }
    auto first_vars = local ? local->vars : std::map<std::string, std::string>{};
    for (const auto& [name, value] : *given) first_vars[name] = value;
    std::optional<Playbook> playbook;
    if (!m_playbook_path.empty()) {
      int exit_code = 0;
      playbook = load_or_report(m_playbook_path, with_vars(global, first_vars), exit_code);
      if (!playbook) return exit_code;
    } else if (!local) {
      load_journal_state(global, m_run_id, nullptr);  // prints why not
      return k_exit_usage;
    } else {
      playbook = journaled_playbook(*local, first_vars);
      if (!playbook) return k_exit_usage;
    }
    auto journal = load_chain_state(global, m_run_id, &*playbook);
    if (!journal) return k_exit_usage;
    if (!chain_idle(global, *journal)) return k_exit_lock_held;
    if (journal->mode != "run" && journal->mode != "rollback") {
      print_error(fmt::format("run {} was a {}: it changed nothing", m_run_id, journal->mode));
      return k_exit_usage;
    }
    // Then the playbook the undo runs from, with the run's --var values unless overridden.
    std::vector<std::string> notices;
    auto vars = recovery_vars(*journal, global, notices);
    if (!vars) return k_exit_usage;
    if (!m_playbook_path.empty()) {
      int exit_code = 0;
      playbook = load_or_report(m_playbook_path, with_vars(global, *vars), exit_code);
      if (!playbook) return exit_code;
      if (!same_playbook(*journal, *playbook, m_force)) return k_exit_usage;
    } else {
      playbook = journaled_playbook(*journal, *vars);
      if (!playbook) return k_exit_usage;
    }
    if (!m_yes) {
      if (::isatty(STDIN_FILENO) == 0) {
        print_error("refusing to roll back without --yes: stdin is not a terminal");
        return k_exit_usage;
      }
      print_to(stderr, "About to roll back {} step(s) of run {} of '{}'.\nType 'yes' to continue: ",
               journal->done.size() + journal->cut_short.size(), m_run_id, playbook->name);
      std::string answer;
      std::getline(std::cin, answer);
      if (answer != "yes") {
        print_error("not confirmed: nothing was rolled back");
        return k_exit_usage;
      }
    }
    RunOptions options;
    options.mode = Mode::rollback;
    options.rollback = &*journal;
    options.notices = std::move(notices);
    return exit_code_for(execute_report(*playbook, options, global).result);
  }

 private:
  std::string m_run_id, m_playbook_path;
  bool m_force = false, m_yes = false;
};

}  // namespace

std::unique_ptr<Command> make_rollback_command() {
  return std::make_unique<RollbackCommand>();
}

}  // namespace drctl::cli
