// drctl run PLAYBOOK [--dry-run] [--yes] [--resume RUN_ID [--recheck] [--force]]: checks, then
// (on a terminal, without --yes, once the operator has seen the gate and said yes) steps;
// rollback on failure. --resume continues a run (the newest of its chain) that failed or was
// cut short.
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <unistd.h>

#include "command.hpp"
#include "common.hpp"
#include "confirm_prompt.hpp"
#include "engine/exit_codes.hpp"
#include "journal_playbook.hpp"
#include "util/print.hpp"

namespace drctl::cli {
namespace {

class RunCommand : public Command {
 public:
  const char* name() const override { return "run"; }
  const char* help() const override {
    return "Run the checks, then the steps (rolling back on failure)";
  }
  void setup(CLI::App& app) override {
    app.add_option("playbook", m_path, "Playbook file")->required();
    app.add_flag("--dry-run", m_dry_run,
                 "Run the checks; describe each step without changing anything");
    app.add_flag("-y,--yes", m_yes,
                 "Do not ask for confirmation after the checks (required when stdin is not a "
                 "terminal)");
    app.add_option("--resume", m_resume,
                   "Continue run RUN_ID: skip its completed steps and go on from where it stopped "
                   "(the checks run again only if it changed nothing yet, or with on_resume: run)");
    app.add_flag("--recheck", m_recheck,
                 "With --resume: run every check again, even those whose premise the run "
                 "already changed (by default a resumed run that changed something runs only "
                 "the checks marked on_resume: run)");
    app.add_flag("--force", m_force,
                 "With --resume: go on even if the playbook changed since, or a rollback of that "
                 "run failed");
  }

  int run(const GlobalOptions& global) override {
    int exit_code = 0;
    auto playbook = load_or_report(m_path, global, exit_code);
    if (!playbook) return exit_code;
    // No switch without its journal: the state dir must be usable before anything runs.
    if (!m_dry_run && !journal_dir(global)) return k_exit_usage;
    std::optional<JournalState> resume;
    std::vector<std::string> notices;
    if (!m_resume.empty()) {
      if (m_dry_run) {
        print_error("--resume and --dry-run cannot be used together");
        return k_exit_usage;
      }
      resume = load_chain_state(global, m_resume, &*playbook);
      if (!resume) return k_exit_usage;
      if (!chain_idle(global, *resume)) return k_exit_lock_held;
      if (!resumable(*resume, *playbook)) return k_exit_usage;
      // The run's --var values, unless overridden: the same values the steps done were run with.
      auto vars = recovery_vars(*resume, global, notices);
      if (!vars) return k_exit_usage;
      playbook = load_or_report(m_path, with_vars(global, *vars), exit_code);
      if (!playbook) return exit_code;
    } else if (m_force || m_recheck) {
      print_error(fmt::format("{} only goes with --resume", m_force ? "--force" : "--recheck"));
      return k_exit_usage;
    }
    if (!m_dry_run && !m_yes && ::isatty(STDIN_FILENO) == 0) {
      print_error(
          "refusing to run without --yes: stdin is not a terminal (use --dry-run to only "
          "describe the steps)");
      return k_exit_usage;
    }
    RunOptions options;
    if (!m_dry_run && !m_yes) {
      // Asked after the checks, with their verdict in front of the operator.
      const Playbook& shown = *playbook;
      const JournalState* resumed = resume ? &*resume : nullptr;
      options.confirm = [&shown, resumed](const RunReport& gate, const CancelToken& cancel) {
        return confirm_on_terminal(shown, gate, resumed, cancel);
      };
    }
    options.mode = m_dry_run ? Mode::dry_run : Mode::run;
    options.resume = resume ? &*resume : nullptr;
    options.recheck = m_recheck;
    options.notices = std::move(notices);
    return exit_code_for(execute_report(*playbook, options, global).result);
  }

 private:
  // Whether the journaled run can be continued with this playbook; prints why not.
  bool resumable(const JournalState& journal, const Playbook& playbook) const {
    if (journal.mode == "rollback") {
      if (journal.done.empty() && journal.cut_short.empty()) {
        print_error(fmt::format(
            "run {} was rolled back (its chain ends with rollback run {}): nothing of it is left "
            "to resume; start a new run to switch again",
            journal.run_id, journal.head_run_id));
        return false;
      }
      std::vector<std::string> still;
      for (const auto& s : journal.done) still.push_back(s.name);
      for (const auto& s : journal.cut_short) still.push_back(s.name + " (cut short)");
      std::string why =
          fmt::format("run {} was partly rolled back by run {} ({}); still done: {}",
                      journal.run_id, journal.head_run_id,
                      journal.ended ? journal.result : "it did not end", fmt::join(still, ", "));
      if (!m_force) {
        print_error(why + ": finish undoing it with drctl rollback " + journal.run_id +
                    ", or use --force to switch forward again");
        return false;
      }
      print_to(stderr, "drctl: warning: {}; switching forward again (--force)\n", why);
    } else if (journal.mode != "run") {
      print_error(fmt::format("run {} is a {}, not a switch: resume the run it belongs to",
                              journal.run_id, journal.mode));
      return false;
    }
    if (journal.ended && journal.result == "success") {
      print_error(fmt::format("run {} completed: there is nothing to resume", journal.run_id));
      return false;
    }
    if (!same_playbook(journal, playbook, m_force)) return false;
    if (!journal.failed_rollbacks.empty()) {
      std::string why =
          fmt::format("run {} has failed rollbacks ({}): the state of those steps is unknown",
                      journal.run_id, fmt::join(journal.failed_rollbacks, ", "));
      if (!m_force) {
        print_error(why + ": look, then use --force");
        return false;
      }
      print_to(stderr, "drctl: warning: {}; going on (--force)\n", why);
    }
    return true;
  }

  std::string m_resume;
  bool m_force = false, m_recheck = false;
  std::string m_path;
  bool m_dry_run = false;
  bool m_yes = false;
};

}  // namespace

std::unique_ptr<Command> make_run_command() {
  return std::make_unique<RunCommand>();
}

}  // namespace drctl::cli
