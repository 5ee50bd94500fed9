#pragma once
// One entry's attempts with its Timing (retries, their delay, the interrupt) and what its
// outcome puts on its record: the runner's, and `drctl serve`'s, which evaluates one check
// alone, over and over, exactly as `drctl check` evaluates it.
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <tl/expected.hpp>

#include "core/cancel.hpp"
#include "core/kind.hpp"
#include "core/model.hpp"
#include "engine/record.hpp"

namespace drctl {

// Each step's outputs by step name, for ${steps.NAME.OUTPUT}.
using StepOutputs = std::map<std::string, std::map<std::string, std::string>>;

// The action's spec with ${steps.*} and ${run.*} filled in just before it runs, typed fields
// typed; or why not. In a dry run (or a check, which runs before any step), the output of a
// step that did not really run shows as <steps.NAME.OUTPUT>.
tl::expected<Spec, std::string> late_spec(const Action& action, const Kind& kind,
                                          const StepOutputs& outputs, const RunReport& run);

// Stands in for an entry whose spec could not be completed, so it fails like any other.
std::unique_ptr<Operation> failed_operation(std::string message);

// A record for an entry about to run: what it acts on and does, redacted.
EntryRecord new_entry_record(Phase phase, const std::string& name, const Kind& kind,
                             const Spec& spec, const Timing& timing);

// Runs attempt(1), attempt(2), ... until one ends ok or skipped, an operator rejected it, a
// stop is requested or timing.retries are used up; waits timing.retry_delay between attempts
// (a cancel wakes it). Returns the last outcome.
Outcome attempt_with_retries(const Timing& timing, const CancelToken& cancel,
                             const std::function<Outcome(int number)>& attempt);

// Puts the outcome on the record: its end and duration, status, and the message, evidence,
// outputs and warnings, redacted ("interrupted: " first when cancelled before it succeeded).
void record_outcome(EntryRecord& record, const Outcome& outcome, const CancelToken& cancel);

// One check evaluated now, alone, as `drctl check` evaluates it: ${run.*} filled in from `run`
// (its run_id and playbook_name), its kind's operation prepared and attempted with the entry's
// Timing, every string redacted; a check that writes says so in a warning. Skipped when a stop
// was requested before it started.
EntryRecord evaluate_check(const Entry& check, const Kind& kind, const RunReport& run,
                           const CancelToken& cancel);

}  // namespace drctl
