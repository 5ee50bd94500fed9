#pragma once
// The run journal: one JSON line per event of a run (started, each entry's start and end with
// its outcome, evidence and outputs, finished with the whole report), each appended and
// fsync'd before the run goes on, so a crash leaves an exact record of what was done.
// Files: <state dir>/runs/<run id>.jsonl, mode 0600 (the directories 0700).
#include <cstdio>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include <tl/expected.hpp>

#include "engine/reporter.hpp"

namespace drctl {

// --state-dir, else $XDG_STATE_HOME/drctl, else ~/.local/state/drctl.
std::string default_state_dir();
// Creates <dir>/runs (0700) if needed; the error says why it cannot be used.
tl::expected<std::string, std::string> prepare_journal_dir(const std::string& state_dir);

class JournalReporter : public Reporter {
 public:
  explicit JournalReporter(std::string runs_dir) : m_dir(std::move(runs_dir)) {}
  ~JournalReporter() override;
  void run_started(const RunReport& header) override;
  void entry_started(const EntryRecord& record) override;
  void entry_finished(const EntryRecord& record) override;
  void run_finished(const RunReport& report) override;
  const std::string& error() const { return m_error; }
  const std::string& path() const { return m_path; }

 private:
  void append(const nlohmann::json& line);
  std::string m_dir, m_path, m_error;
  int m_fd = -1;
};

struct JournalEntry {
  std::string run_id, playbook, started_at, result, path;
  int exit_code = -1;  // -1: the journal has no end (killed, or still running)
};
// Every run in <state dir>/runs, newest first.
std::vector<JournalEntry> list_journals(const std::string& state_dir);
// The lines of one run's journal.
tl::expected<std::vector<nlohmann::json>, std::string> read_journal(const std::string& state_dir, const std::string& run_id);

}  // namespace drctl
