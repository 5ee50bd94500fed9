#pragma once
// What one attempt of a check, step or rollback came to.
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

namespace drctl {

// The class of an outcome: what a pipeline or an SRE branches on. `unknown` is never an
// attempt's outcome: it is how `drctl show` reports an entry whose journal has its start and
// no end (the process died in it), so whether it succeeded, and what it changed, is unknown.
enum class Status { ok, failed, timeout, unreachable, invalid_answer, skipped, unknown };

std::string_view status_name(Status status);

// Whether an action changed anything before it ended. A failed step whose change is `no`
// needs no undo; `unknown` is treated like `yes`.
enum class Changed { no, yes, unknown };

struct Outcome {
  Status status = Status::ok;
  std::string message;                                 // one line, no secrets
  nlohmann::json evidence = nlohmann::json::object();  // measured values for the report
  std::map<std::string, std::string> outputs;          // ${steps.<name>.<output>} for later steps
  std::vector<std::string> warnings;
  Changed changed = Changed::unknown;

  static Outcome ok(std::string message) { return {Status::ok, std::move(message)}; }
  static Outcome fail(Status status, std::string message, Changed changed = Changed::unknown) {
    Outcome outcome{status, std::move(message)};
    outcome.changed = changed;
    return outcome;
  }
  // A failure with its class in evidence.error ("unreachable", "config", "journal_failed"...):
  // the one way every kind builds a failed outcome that a pipeline can branch on.
  static Outcome failure(Status status, std::string error_class, std::string message,
                         Changed changed = Changed::unknown) {
    Outcome outcome = fail(status, std::move(message), changed);
    outcome.evidence["error"] = std::move(error_class);
    return outcome;
  }
  // The journal could not record the undo state, so the change was not made.
  static Outcome journal_refused() {
    return failure(Status::failed, "journal_failed",
                   "the journal could not record how to undo this step, so nothing was changed",
                   Changed::no);
  }
};

}  // namespace drctl
