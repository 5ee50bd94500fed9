#pragma once
// Runs a validated playbook: checks concurrently behind an atomic gate, then steps in order,
// each timed against its timeout and budget; on failure, rollbacks in reverse order.
#include <functional>
#include <string>

#include "core/cancel.hpp"
#include "core/model.hpp"
#include "engine/approval_inbox.hpp"
#include "engine/journal_state.hpp"
#include "engine/record.hpp"
#include "engine/reporter.hpp"
#include "kinds/registry.hpp"

namespace drctl {

struct RunOptions {
  Mode mode = Mode::run;
  int parallel = 8;    // checks in flight at once
  std::string run_id;  // generated when empty
  // drctl run --resume: the journal of the run to continue. Its done steps are not run again
  // (their outputs and undo states carry over); a step it cut short runs again, keeping the
  // undo state journaled the first time.
  const JournalState* resume = nullptr;
  // Mode::rollback: the journal of the run to undo. Its done and cut-short steps are rolled
  // back, newest first; no check and no step runs.
  const JournalState* rollback = nullptr;
  // With resume: run every check again. Without it, a resumed run that already changed
  // something runs only the checks marked on_resume: run (the others' premise, e.g. "this is a
  // replica", may be exactly what the run changed); one that changed nothing runs them all.
  bool recheck = false;
  // Said to every reporter (and journaled) when the run starts: e.g. a --var overriding a
  // journaled value.
  std::vector<std::string> notices;
  // Where approval steps wait for their decision (null: an approval step fails at once).
  ApprovalInbox* approvals = nullptr;
  // Mode::run: asked once the gate is open (every check passed, the lock taken), before the
  // first step; false ends the run `declined`, with nothing changed. Unset: no question.
  // An interrupt while asking (`cancel`) ends the question: the run is then `interrupted`.
  std::function<bool(const RunReport&, const CancelToken& cancel)> confirm;
};

// Runs the playbook and returns what happened; reporter sees every event as it happens.
// `cancel` is set by the signal handler: no entry starts after it, running ones are stopped.
RunReport run_playbook(const Playbook& playbook, const KindRegistry& kinds, Reporter& reporter,
                       const RunOptions& options, const CancelToken& cancel);

}  // namespace drctl
