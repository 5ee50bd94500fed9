#pragma once
// What `run --resume` and `rollback` share: finding a run's journal and the playbook that
// goes with it, and refusing (one line, exit 64) when the two do not belong together.
#include <optional>
#include <string>

#include "command.hpp"
#include "core/model.hpp"
#include "engine/journal_state.hpp"

namespace drctl::cli {

// The journal of `run_id` (state dir, else the etcd copy under the playbook's lock), read.
// nullopt after printing why.
std::optional<JournalState> load_journal_state(const GlobalOptions& global,
                                               const std::string& run_id, const Playbook* playbook);

// True when `playbook` is the one the journaled run used; otherwise prints why and returns
// false, unless `force` (then it warns and returns true).
bool same_playbook(const JournalState& journal, const Playbook& playbook, bool force);

// The playbook as journaled (its source and --var values), for a rollback where the file is
// not at hand. nullopt after printing why.
std::optional<Playbook> journaled_playbook(const JournalState& journal);

}  // namespace drctl::cli
