#pragma once
// drctl run on a terminal: once the gate is open, the operator sees what the checks measured and
// the steps that will run (with their budgets), and answers. terraform's order: the plan, then
// the question.
#include "core/cancel.hpp"
#include "core/model.hpp"
#include "engine/journal_state.hpp"
#include "engine/record.hpp"

namespace drctl::cli {

// Prints the gate's table and the steps to stderr, then reads one line from stdin: true for
// "yes"; false when `cancel` stops the run first. `resume` (may be null) leaves out the steps an
// earlier run did.
bool confirm_on_terminal(const Playbook& playbook, const RunReport& gate,
                         const JournalState* resume, const CancelToken& cancel);

}  // namespace drctl::cli
