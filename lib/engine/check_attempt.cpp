#include "engine/check_attempt.hpp"

#include <fmt/format.h>

#include "playbook/field_validator.hpp"
#include "playbook/interpolate.hpp"
#include "util/json_fields.hpp"
#include "util/secrets.hpp"
#include "util/strings.hpp"

namespace drctl {
namespace {

nlohmann::json resolve_late(const nlohmann::json& value, const StepOutputs& outputs,
                            const RunReport& run) {
  if (value.is_string()) {
    return substitute(
        value.get<std::string>(),
        [&](const Reference& ref) -> std::optional<std::string> {
          if (ref.scope == "run") {
            if (ref.names[0] == "fencing_token")
              return run.fencing_token.empty() ? std::string("<no run lock>") : run.fencing_token;
            return ref.names[0] == "id" ? run.run_id : run.playbook_name;
          }
          if (ref.scope != "steps") return std::nullopt;
          auto entry = outputs.find(ref.names[0]);
          if (entry != outputs.end()) {
            auto out = entry->second.find(ref.names[1]);
            if (out != entry->second.end()) return out->second;
          }
          return fmt::format("<steps.{}.{}>", ref.names[0], ref.names[1]);
        },
        true);
  }
  if (value.is_array() || value.is_object()) {
    nlohmann::json out = value;
    for (auto& item : out) item = resolve_late(item, outputs, run);
    return out;
  }
  return value;
}

class FailedOperation : public Operation {
 public:
  explicit FailedOperation(std::string message) : m_message(std::move(message)) {}
  Outcome run(const AttemptContext&) override {
    Outcome outcome = Outcome::fail(Status::failed, m_message, Changed::no);
    outcome.evidence["error"] = "late_reference";
    return outcome;
  }

 private:
  std::string m_message;
};

}  // namespace

tl::expected<Spec, std::string> late_spec(const Action& action, const Kind& kind,
                                          const StepOutputs& outputs, const RunReport& run) {
  nlohmann::json values = resolve_late(action.spec.json(), outputs, run);
  auto problems = coerce_late_values(values, kind.fields());
  if (!problems.empty())
    return tl::unexpected(fmt::format("{}: {}", action.kind, join(problems, "; ")));
  return Spec(std::move(values));
}

std::unique_ptr<Operation> failed_operation(std::string message) {
  return std::make_unique<FailedOperation>(std::move(message));
}

EntryRecord new_entry_record(Phase phase, const std::string& name, const Kind& kind,
                             const Spec& spec, const Timing& timing) {
  EntryRecord record;
  record.phase = phase;
  record.name = name;
  record.kind = std::string(kind.name());
  record.target = redact(kind.target(spec));
  record.action = redact(kind.describe(spec));
  record.timeout = timing.timeout;
  return record;
}

Outcome attempt_with_retries(const Timing& timing, const CancelToken& cancel,
                             const std::function<Outcome(int number)>& attempt) {
  Outcome outcome;
  for (int number = 1; number <= timing.retries + 1; ++number) {
    outcome = attempt(number);
    // An operator's rejection is final: a retry would only ask again.
    if (outcome.status == Status::ok || outcome.status == Status::skipped ||
        cancel.stop_requested() || json_text(outcome.evidence, "error") == "rejected")
      break;
    if (number <= timing.retries) {
      auto resume_at = std::chrono::steady_clock::now() + timing.retry_delay;
      if (!cancel.sleep_until(resume_at)) break;
    }
  }
  return outcome;
}

void record_outcome(EntryRecord& record, const Outcome& outcome, const CancelToken& cancel) {
  record.finished = Instant::now();
  record.duration = record.finished.steady - record.started.steady;
  record.status = outcome.status;
  record.changed = outcome.changed;
  record.message = redact(valid_utf8(outcome.message));
  record.evidence = redact_json(outcome.evidence);
  for (auto& [k, v] : outcome.outputs) record.outputs[k] = redact(valid_utf8(v));
  for (auto& w : outcome.warnings) record.warnings.push_back(redact(valid_utf8(w)));
  if (cancel.cancelled() && outcome.status != Status::ok && outcome.status != Status::skipped) {
    record.message = "interrupted: " + record.message;
  }
}

EntryRecord evaluate_check(const Entry& check, const Kind& kind, const RunReport& run,
                           const CancelToken& cancel) {
  auto late = late_spec(check.action, kind, {}, run);
  Spec spec = late ? *late : check.action.spec;
  EntryRecord record = new_entry_record(Phase::check, check.name, kind, spec, check.timing);
  record.started = Instant::now();
  if (cancel.stop_requested()) {
    record.status = Status::skipped;
    record.message = "not started: stopping";
    record.finished = record.started;
    return record;
  }
  std::unique_ptr<Operation> operation = late ? kind.prepare(spec) : failed_operation(late.error());
  Outcome outcome = attempt_with_retries(check.timing, cancel, [&](int number) {
    record.attempts = number;
    AttemptContext ctx{record.name, std::chrono::steady_clock::now() + check.timing.timeout,
                       &cancel, run.run_id, run.fencing_token};
    return operation->run(ctx);
  });
  record_outcome(record, outcome, cancel);
  if (kind.writes(spec))
    record.warnings.push_back(
        fmt::format("this {} check writes to the system it checks", kind.name()));
  return record;
}

}  // namespace drctl
