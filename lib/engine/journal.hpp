#pragma once
// The run journal: one JSON line per event of a run (started, each entry's start and end with
// its outcome, evidence and outputs, finished with the whole report), so a crash leaves an
// exact record of what was done. Every line is in the file before the run goes on; it is
// durable (fdatasync'd, and committed by etcd for the copy) before what it guards: an undo
// state before the change, a step's or rollback's start before it runs (in the file only, for
// a step that changes nothing before its undo state), the run's end before drctl exits. The
// other lines (checks, a step's end) become durable with the next of those, so always before
// the next step starts. Files: <state dir>/runs/<run id>.jsonl, mode 0600
// (the directories 0700).
#include <cstdio>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <tl/expected.hpp>
#include <vector>

#include "core/model.hpp"
#include "engine/journal_chain.hpp"
#include "engine/journal_writer.hpp"
#include "engine/reporter.hpp"

namespace drctl {

// --state-dir, else $XDG_STATE_HOME/drctl, else ~/.local/state/drctl.
std::string default_state_dir();
// Creates <dir> and <dir>/runs (0700, whatever the umask; so is any missing directory above)
// if needed; never changes the mode of one that exists. Refuses (the error says why, naming
// the directory) a state dir that anyone but you or root could change: any directory on the
// way owned by someone else or writable by group or others without the sticky bit, or the
// state dir or runs/ writable by group or others at all.

tl::expected<std::string, std::string> prepare_journal_dir(const std::string& state_dir);

// <runs dir>/<run id>.jsonl, created 0600; written at once, fdatasync'd on sync().
std::unique_ptr<JournalSink> file_journal_sink(std::string runs_dir);

class JournalReporter : public Reporter {
 public:
  // `playbook` (its source and --var values are journaled, so that the run can be rolled back
  // where the file is not at hand) must outlive the reporter.
  JournalReporter(std::vector<std::unique_ptr<JournalSink>> sinks, const Playbook& playbook)
      : m_writer(std::move(sinks)), m_playbook(playbook) {}
  void run_started(const RunReport& header) override;
  void entry_started(const EntryRecord& record) override;
  void entry_finished(const EntryRecord& record) override;
  bool entry_checkpoint(const EntryRecord& record) override;
  void entry_process(const EntryRecord& record, long long pgid) override;
  void entry_waiting(const EntryRecord& record, const std::string& message) override;
  void run_ending(const RunReport& report) override;  // the run_finished line, durable
  void notice(const std::string& text) override;
  // The first write that failed: the run must not go on (no further step starts).
  std::string failure() const override { return m_writer.failure(); }
  std::string error() const { return m_writer.failure(); }

 private:
  void append(const nlohmann::json& line, Durability durability);
  JournalWriter m_writer;
  const Playbook& m_playbook;
};

struct JournalEntry {
  std::string run_id, playbook, started_at, result, path;
  int exit_code = -1;  // -1: the journal has no end (killed, or still running)
  ChainLink link;      // its mode and the run it resumed or rolled back
};
// Every run in <state dir>/runs, newest first. Only trusted journals (read_journal): when the
// directory or a journal is refused, `refused` (if given) gets the first reason.
std::vector<JournalEntry> list_journals(const std::string& state_dir,
                                        std::string* refused = nullptr);
// True while the process of run `run_id` (on this machine) still holds its journal open: it
// is running, and must not be resumed or rolled back under it.
bool journal_in_use(const std::string& state_dir, const std::string& run_id);
// The lines of one run's journal. Only a journal that can be trusted is read: the runs dir and
// every directory above it owned by you or root and writable by nobody else (sticky ones
// above it excepted), the journal a regular file (not a symlink) owned by you or root and
// writable by nobody else; the error names what is refused.
tl::expected<std::vector<nlohmann::json>, std::string> read_journal(const std::string& state_dir,
                                                                    const std::string& run_id);

}  // namespace drctl
