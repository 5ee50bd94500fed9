#pragma once
// What a run's journal says is done: the steps that completed (with their outputs and the
// state their undo needs), the step that was cut short, and what has been rolled back since.
// `drctl run --resume` skips the done steps; `drctl rollback` undoes them, newest first.
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <tl/expected.hpp>
#include <vector>

#include "engine/journal_chain.hpp"

namespace drctl {

struct JournaledStep {
  std::string name;
  std::string done_in_run;  // the run that really ran it (an earlier one, for a resumed run)
  std::map<std::string, std::string> outputs;
  nlohmann::json undo = nullptr;  // Operation::undo_state() as journaled; null: none
  bool finished = true;           // false: started (maybe changed things) but never ended ok
};

struct JournalState {
  std::string run_id;       // the run asked for (by a chain's reader); else the journal's
  std::string head_run_id;  // the run whose lines come last: of a chain, its newest run
  std::string mode;         // run, or rollback
  std::string playbook_name, playbook_hash, playbook_source;
  std::map<std::string, std::string> vars;  // --var overrides of that run
  bool ended = false;                       // the journal has its run_finished line
  std::string result;                       // from run_finished, when ended
  // Steps that completed and were not rolled back since, in journal order.
  std::vector<JournaledStep> done;
  // Steps that started but did not end ok (failed, interrupted, killed) and were not rolled
  // back: their changes are unknown; undo states journaled so far, when any.
  std::vector<JournaledStep> cut_short;
  // Rollbacks that failed: the state those steps are in is unknown.
  std::vector<std::string> failed_rollbacks;
  // Process groups started by entries that never ended (drctl killed under them): they may
  // still be running, and recovery must not act under them.
  struct OpenProcess {
    std::string run_id, host, entry;
    long long pgid = 0;
  };
  std::vector<OpenProcess> open_processes;
  // The chain this journal is the newest of (journal_chain.hpp), root first; empty when it
  // was not looked up.
  std::vector<ChainLink> chain;

  const JournaledStep* find_done(const std::string& name) const;
  const JournaledStep* find_cut_short(const std::string& name) const;
};

// Reads the lines of one journal, or of a chain's journals one after the other, root first
// (each journal starts from the state the one before left: its run_started line makes run_id,
// mode, playbook and vars the newest run's); an error when it is not a drctl journal.
tl::expected<JournalState, std::string> journal_state(const std::vector<nlohmann::json>& lines);

}  // namespace drctl
