#pragma once
// What the engine records of a run: one EntryRecord per check, step and rollback, and the
// RunReport that every reporter renders.
#include <chrono>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "core/model.hpp"
#include "core/outcome.hpp"
#include "engine/availability_probe.hpp"
#include "engine/write_probe.hpp"
#include "util/clock.hpp"
#include "util/duration.hpp"

namespace drctl {

enum class Phase { check, step, rollback };
std::string_view phase_name(Phase phase);

enum class Mode { run, dry_run, check, rollback };  // rollback: drctl rollback RUN_ID
std::string_view mode_name(Mode mode);

enum class RunResult {
  success,
  checks_failed,
  rolled_back,
  partial,
  sla_breached,
  interrupted,
  lock_held,
  lock_lost,
  journal_failed,
  not_verified,  // completed, but the write probe could not read its writes back
  declined,      // the operator answered no at the prompt after the gate: nothing was changed
  would_refuse,  // a dry run: a step's preview found a condition the real step would refuse on
  unfinished  // only `drctl show`: the journal has no end (the process was killed, or runs still)
};
std::string_view run_result_name(RunResult result);
// The exit code drctl ended with for `result`; -1 for `unfinished` (no exit was journaled).
int exit_code_for(RunResult result);

struct EntryRecord {
  Phase phase = Phase::step;
  std::string name;  // for a rollback: the step it undoes
  std::string kind;
  std::string target;
  std::string action;  // what it does, in one line (plan, dry-run)
  Status status = Status::skipped;
  std::string message;
  Instant started;
  Instant finished;
  std::chrono::nanoseconds duration{0};
  std::chrono::nanoseconds journal_wait{
      0};  // part of `duration`: waiting for its undo state to be durable
  int attempts = 0;
  Millis timeout{0};
  std::optional<Millis> budget;
  bool budget_exceeded = false;
  nlohmann::json evidence = nlohmann::json::object();
  std::map<std::string, std::string> outputs;
  std::vector<std::string> warnings;
  Changed changed = Changed::unknown;
  nlohmann::json undo_state = nullptr;  // what its undo needs (journal only, never in reports)
  // A step that changes nothing before its undo state is journaled (or nothing at all): its
  // start need only be durable locally before it runs.
  bool changes_after_undo_state = false;
  std::string done_in_run;  // set when a resumed run reuses a step an earlier run did
  std::chrono::nanoseconds approval_wait{0};  // part of `duration`: waiting for an operator
};

struct SlaVerdict {
  std::optional<Millis> total_budget;
  std::chrono::nanoseconds steps_elapsed{0};  // first step start to last step end
  bool evaluated = false;                     // false when no step ran to the end (or dry-run)
  bool total_exceeded = false;
  std::vector<std::string> over_budget_steps;
  std::chrono::nanoseconds approval_wait{0};  // the steps' waits for approval (in steps_elapsed)
  bool exclude_approvals = false;             // sla.exclude_approvals: the total leaves them out
  OnBreach on_breach = OnBreach::fail;
  std::optional<ProbeSpec> probe_spec;
  std::optional<ProbeReport> probe;  // sla.probe, when the playbook has one and steps ran
  std::optional<WriteProbeSpec> write_probe_spec;
  std::optional<WriteProbeReport> write_probe;  // sla.write_probe, likewise
  // What sla.total is held against: steps_elapsed, less the approval waits when excluded.
  std::chrono::nanoseconds counted_elapsed() const {
    return exclude_approvals ? steps_elapsed - approval_wait : steps_elapsed;
  }
  bool breached() const {
    return total_exceeded || !over_budget_steps.empty() || (probe && probe->breached()) ||
           (write_probe && write_probe->breached());
  }
  // Every write acknowledged could be read back (or there is no write probe).
  bool writes_verified() const { return !write_probe || write_probe->verified; }
};

struct RunReport {
  std::string run_id;
  std::string operator_user;  // who ran it, and where
  std::string operator_host;
  std::string playbook_name;
  std::string playbook_path;
  std::string playbook_hash;
  Mode mode = Mode::run;
  Instant started;
  Instant finished;
  std::vector<EntryRecord> checks;
  std::vector<EntryRecord> steps;
  std::vector<EntryRecord> rollbacks;
  std::string resumed_from;       // drctl run --resume: the run it continues
  std::string rolls_back;         // drctl rollback: the run it undoes
  std::string fencing_token;      // the run lock's revision, when there is a lock
  nlohmann::json lock = nullptr;  // key, fencing_token, lease, ttl_ms, lost
  SlaVerdict sla;
  RunResult result = RunResult::success;
  std::string summary;  // one line: why the run ended as it did
  std::size_t planned_checks = 0;
  std::size_t planned_steps = 0;
  // On a terminal: how long the operator looked at the gate before answering (never in the SLA:
  // its clock starts at the first step). Null when nobody was asked.
  nlohmann::json confirmation = nullptr;  // asked_at, answered_at, waited_ms, answer
};

// A run id that sorts by time and is unique enough across hosts: 20261123T221500Z-3f9a1c.
std::string new_run_id();

}  // namespace drctl
