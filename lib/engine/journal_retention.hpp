#pragma once
// Journal retention: which runs' journals go once runs end (lock.journal_retention after each
// run, `drctl runs --prune` on demand), and their deletion from both places a journal lives:
// the state dir (<state dir>/runs/<run id>.jsonl, <state dir>/approvals/<run id>/) and the
// etcd copy under the run lock (<key>/journal/<run id>/, <key>/approvals/<run id>/).
//
// What recovery may still need is never pruned: `drctl run --resume` and `drctl rollback` read
// a run's whole chain (journal_chain.hpp), so a chain goes whole or not at all, and only once it
// is settled: its newest run finished, none of its runs still held by its process, and none
// ended in a result that leaves steps done for a human (partial, interrupted, lock_lost,
// journal_failed). A killed run whose chain went on to end well is settled with its chain.
#include <chrono>
#include <cstdint>
#include <string>
#include <tl/expected.hpp>
#include <vector>

#include "core/model.hpp"
#include "engine/journal.hpp"

namespace drctl {

// One run as retention sees it.
struct RetentionRun {
  JournalEntry entry;   // exit_code < 0: its journal has no end (killed, or running)
  bool in_use = false;  // its process still holds its local journal (journal_in_use)
};

// True for a run result that leaves steps done for a human to resume or roll back.
bool result_needs_recovery(const std::string& result);

// The chains to prune among `runs` (every run of one place: the state dir, or one etcd copy),
// for the playbook named `playbook`, each chain's runs oldest first, the oldest chain first.
// Only settled chains whose every run is of `playbook` are candidates; the chain of `keep` (the
// run that just ended) is never pruned, and counts as settled when it is otherwise.
// - policy.runs = N: the candidates, newest first (by their newest run's start); a chain goes
//   when the candidates newer than it already hold N runs. A chain counts by its runs, so at
//   least N finished runs stay (a chain straddling the line stays whole).
// - policy.age = D: a chain goes when its newest run started before now - D.
// - both: a chain goes only when both would prune it.
std::vector<std::vector<JournalEntry>> runs_to_prune(const std::vector<RetentionRun>& runs,
                                                     const std::string& playbook,
                                                     const JournalRetention& policy,
                                                     std::chrono::system_clock::time_point now,
                                                     const std::string& keep = "");

// The runs of the state dir, each with whether its process still holds it. Only trusted
// journals (list_journals); `refused` gets the first reason one was not.
std::vector<RetentionRun> local_retention_runs(const std::string& state_dir,
                                               std::string* refused = nullptr);

// The runs of the etcd copy under `lock`.
tl::expected<std::vector<RetentionRun>, std::string> etcd_retention_runs(const LockSpec& lock);

// Deletes run `run_id`'s local journal through the trusted runs dir: only a trusted journal
// (a regular file of yours or root's, writable by nobody else) that no process holds (its
// lock is taken for the unlink); then <state dir>/approvals/<run id>/ if there is one. A
// journal already gone is no error.
tl::expected<void, std::string> prune_local_run(const std::string& state_dir,
                                                const std::string& run_id);

// Deletes the etcd copies of `run_ids` (their journal and approval prefixes), at most 32 runs
// per transaction (a chain's runs together, when the caller passes a chain); returns the
// number of keys deleted.
tl::expected<std::int64_t, std::string> prune_etcd_runs(const LockSpec& lock,
                                                        const std::vector<std::string>& run_ids);

}  // namespace drctl
