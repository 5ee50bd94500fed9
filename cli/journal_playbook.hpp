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

// The state of the chain `run_id` belongs to (engine/journal_chain.hpp): the journal of its
// newest run, which may be a resume or a rollback of it, found among this machine's journals
// and, when `playbook` has a lock, the etcd copies. Says so on stderr when that is not
// `run_id`. nullopt after printing why.
std::optional<JournalState> load_chain_state(const GlobalOptions& global, const std::string& run_id,
                                             const Playbook* playbook);

// False (after printing why) while a run of the chain is still running on this machine (its
// process holds its journal): recovering it under it would undo or repeat what it is doing.
bool chain_idle(const GlobalOptions& global, const JournalState& journal);

// True when `playbook` is the one the journaled run used; otherwise prints why and returns
// false, unless `force` (then it warns and returns true).
bool same_playbook(const JournalState& journal, const Playbook& playbook, bool force);

// The --var values a recovery (rollback, resume) uses: the journaled run's, each overridden by
// a --var given now. Says on stderr which are used; adds a notice to journal for each value a
// --var overrode. nullopt (after printing why) when a --var is malformed.
std::optional<std::map<std::string, std::string>> recovery_vars(const JournalState& journal,
                                                                const GlobalOptions& global,
                                                                std::vector<std::string>& notices);

// `global` with its --var values replaced by `vars`, to load a playbook with them.
GlobalOptions with_vars(GlobalOptions global, const std::map<std::string, std::string>& vars);

// The playbook as journaled (its source) with these --var values, for a rollback where the
// file is not at hand. nullopt after printing why.
std::optional<Playbook> journaled_playbook(const JournalState& journal,
                                           const std::map<std::string, std::string>& vars);

}  // namespace drctl::cli
