#pragma once
// The exit-code contract (docs/exit-codes.md). Pipelines branch on these; never renumber.
namespace drctl {

enum ExitCode : int {
  k_exit_success = 0,            // every check passed; every step ok, within the SLA
  k_exit_checks_failed = 1,      // a check failed: nothing was changed
  k_exit_rolled_back = 2,        // a step failed and every rollback succeeded
  k_exit_partial = 3,            // a step failed; the state is partly switched or unknown
  k_exit_sla_breached = 4,       // completed, but over a budget (sla.on_breach: fail)
  k_exit_lock_held = 5,          // another run holds the run lock (or the lock was lost mid-run)
  k_exit_journal_failed = 6,     // the journal could not be written: no further step was started
  k_exit_not_verified = 7,       // completed, but the write probe could not read its writes back
  k_exit_declined = 8,           // the gate passed, the operator answered no: nothing was changed
  k_exit_usage = 64,             // bad command line
  k_exit_unavailable = 69,       // drctl approve/reject: the decision could not be posted
  k_exit_invalid_playbook = 65,  // the playbook does not validate
  k_exit_output_failed =
      74,                    // all went well, but the report (stdout, --junit) could not be written
  k_exit_interrupted = 130,  // SIGINT/SIGTERM
};

}  // namespace drctl
