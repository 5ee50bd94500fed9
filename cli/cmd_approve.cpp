// drctl approve|reject RUN_ID STEP [--by NAME] [--comment TEXT] [--playbook FILE]: the decision
// a run waiting at an approval step goes on with. Posted once, where the run reads it: beside the
// journal's etcd copy when the run's playbook has a lock (any machine), else in the state dir.
#include <fmt/format.h>
#include <pwd.h>
#include <unistd.h>

#include <cstdlib>

#include "command.hpp"
#include "common.hpp"
#include "engine/approval_inbox.hpp"
#include "engine/exit_codes.hpp"
#include "engine/journal.hpp"
#include "engine/journal_state.hpp"
#include "engine/run_lock.hpp"
#include "journal_playbook.hpp"
#include "shown_run.hpp"
#include "util/clock.hpp"
#include "util/json_fields.hpp"
#include "util/print.hpp"
#include "util/secrets.hpp"

namespace drctl::cli {
namespace {

std::string login_name() {
  if (const char* user = std::getenv("USER"); user != nullptr && *user != '\0') return user;
  if (const passwd* entry = ::getpwuid(::getuid()); entry != nullptr) return entry->pw_name;
  return std::to_string(::getuid());
}

std::string host_name() {
  char host[256] = {};
  ::gethostname(host, sizeof host - 1);
  return host;
}

// How the journal ended `step`, when it did: "it was approved by ana at ...", "it failed".
std::string how_step_ended(const std::vector<nlohmann::json>& lines, const std::string& step) {
  std::string ended;
  for (const auto& line : lines) {
    if (json_text(line, "type") != "entry_finished" || json_text(line, "name") != step ||
        json_text(line, "phase") != "step")
      continue;
    const auto& evidence = json_member(line, "evidence");
    const std::string by = json_text(evidence, "decided_by");
    ended = by.empty()
                ? fmt::format("step '{}' already ended: {}", step, json_text(line, "message"))
                : fmt::format("step '{}' was already {} by {} at {}", step,
                              json_text(evidence, "error") == "rejected" ? "rejected" : "approved",
                              by, json_text(evidence, "decided_at"));
  }
  return ended;
}

class DecideCommand : public Command {
 public:
  explicit DecideCommand(bool approve) : m_approve(approve) {}
  const char* name() const override { return m_approve ? "approve" : "reject"; }
  const char* help() const override {
    return m_approve ? "Approve the approval step a run waits at: the run goes on"
                     : "Reject the approval step a run waits at: the run fails it and rolls back";
  }
  void setup(CLI::App& app) override {
    app.add_option("run_id", m_run_id, "The waiting run (drctl runs shows it)")->required();
    app.add_option("step", m_step, "The approval step it waits at")->required();
    app.add_option("--by", m_by, "Who decides (default: your login name)");
    app.add_option("--comment", m_comment, "Why, for the journal and the reports");
    app.add_option("--playbook", m_playbook_path,
                   "Find the run in the etcd copy of the journal, under this playbook's run lock "
                   "(for a run started on another machine)");
  }

  int run(const GlobalOptions& global) override {
    const char* verb = m_approve ? "approve" : "reject";
    int exit_code = 0;
    std::optional<Playbook> playbook;
    if (!m_playbook_path.empty()) {
      playbook = load_or_report(m_playbook_path, global, exit_code);
      if (!playbook) return exit_code;
    }
    auto lines = find_journal(global, m_run_id, playbook ? &*playbook : nullptr);
    if (!lines) {
      print_error(fmt::format("cannot {}: {}", verb, lines.error()));
      return k_exit_usage;
    }
    auto journal = journal_state(*lines);
    if (!journal) {
      print_error(fmt::format("cannot {}: run {}: {}", verb, m_run_id, journal.error()));
      return k_exit_usage;
    }
    // The run reads decisions where its own playbook says: etcd when it has a lock.
    if (!playbook) playbook = journaled_playbook(*journal, journal->vars);
    if (!playbook) return k_exit_usage;
    if (auto refusal = not_waiting(*lines, *journal, *playbook, global)) {
      print_error(fmt::format("cannot {}: {}", verb, *refusal));
      return k_exit_checks_failed;
    }
    PostedDecision decision{m_approve,   m_by.empty() ? login_name() : m_by,
                            m_comment,   rfc3339_utc(std::chrono::system_clock::now()),
                            host_name(), login_name()};
    ApprovalPlace place{state_dir_of(global), playbook->lock};
    if (auto posted = post_decision(place, m_run_id, m_step, decision); !posted) {
      print_error(fmt::format("cannot {} step '{}' of run {}: {}", verb, m_step, m_run_id,
                              redact(posted.error())));
      // Someone decided first: refused. Else the decision could not be written: unavailable.
      return posted.error().rfind("already ", 0) == 0 ? k_exit_checks_failed : k_exit_unavailable;
    }
    print_to(stdout, "{} step '{}' of run {} (by {}{}); {}\n", m_approve ? "approved" : "rejected",
             m_step, m_run_id, decision.by, playbook->lock ? ", through etcd" : "",
             m_approve ? "the run goes on" : "the run fails the step and rolls back");
    return 0;
  }

 private:
  // Why the run does not wait for this decision, or nullopt when it does.
  std::optional<std::string> not_waiting(const std::vector<nlohmann::json>& lines,
                                         const JournalState& journal, const Playbook& playbook,
                                         const GlobalOptions& global) const {
    auto waiting = approval_waiting_in(lines);
    if (journal.ended) {
      std::string step_end = how_step_ended(lines, m_step);
      return fmt::format("run {} has ended ({}){}: it waits for nothing", m_run_id, journal.result,
                         step_end.empty() ? "" : "; " + step_end);
    }
    if (!waiting) {
      std::string step_end = how_step_ended(lines, m_step);
      return step_end.empty()
                 ? fmt::format("run {} does not wait for an approval now", m_run_id)
                 : fmt::format("run {} does not wait at step '{}': {}", m_run_id, m_step, step_end);
    }
    if (waiting->step != m_step)
      return fmt::format("run {} waits at step '{}', not '{}'", m_run_id, waiting->step, m_step);
    // On this machine, a journal nobody holds open belongs to a process that is gone: the
    // decision would go to nobody (a resumed run waits again, under its own run id).
    const std::string gone = fmt::format(
        "run {} is not running: its process stopped while waiting at step '{}' (drctl run "
        "PLAYBOOK --resume {} waits there again, under a new run id)",
        m_run_id, m_step, m_run_id);
    if (read_journal(state_dir_of(global), m_run_id) &&
        !journal_in_use(state_dir_of(global), m_run_id))
      return gone;
    nlohmann::json run_started;
    for (const auto& line : lines) {
      if (json_text(line, "type") == "run_started") run_started = line;
    }
    const Process process = process_of(run_started);
    if (process.state == "killed") return gone + "; " + process.evidence;
    // On another host: a live run holds its lock; one that does not is gone.
    if (process.state == "unknown" && playbook.lock) {
      auto holder = RunLock::holder_now(*playbook.lock);
      if (holder && (!*holder || (*holder)->find(m_run_id) == std::string::npos))
        return gone + "; it no longer holds the run lock " + playbook.lock->key;
    }
    return std::nullopt;
  }

  bool m_approve;
  std::string m_run_id, m_step, m_by, m_comment, m_playbook_path;
};

}  // namespace

std::unique_ptr<Command> make_approve_command() {
  return std::make_unique<DecideCommand>(true);
}
std::unique_ptr<Command> make_reject_command() {
  return std::make_unique<DecideCommand>(false);
}

}  // namespace drctl::cli
