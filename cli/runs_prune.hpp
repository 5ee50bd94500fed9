#pragma once
// Journal retention from the command line: after each run and rollback (prune_after_run, from
// execute_report) and on demand (`drctl runs --prune`); the choice and the deletion are
// engine/journal_retention's.
#include <string>

#include "command.hpp"
#include "core/model.hpp"

namespace drctl::cli {

// `drctl runs --prune [--keep N] [--older-than D] [--dry-run]`.
struct PruneFlags {
  bool prune = false;
  bool dry_run = false;
  std::string keep, older_than;
  bool any() const { return prune || dry_run || !keep.empty() || !older_than.empty(); }
};

// Declares --prune, --keep, --older-than and --dry-run on `runs`.
void add_prune_options(CLI::App& app, PruneFlags& flags);

// `runs --prune`: the local journals of every playbook (of `name` only, when given), each
// playbook name apart; with `playbook_path`, that playbook's runs, here and in the etcd copy
// under its lock. Returns the exit code: 64 for a wrong combination or value, 1 when a run
// could not be pruned.
int run_prune(const PruneFlags& flags, const std::string& playbook_path, const std::string& name,
              const std::string& since, const GlobalOptions& global);

// After run `run_id` of `playbook` ended: lock.journal_retention (or the default) applied to
// its playbook's runs, here and in the etcd copy. A failure is one warning line on stderr; the
// run's exit code never changes.
void prune_after_run(const Playbook& playbook, const GlobalOptions& global,
                     const std::string& run_id);

}  // namespace drctl::cli
