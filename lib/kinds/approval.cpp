#include "kinds/approval.hpp"

#include <fmt/format.h>

#include "util/duration.hpp"

namespace drctl {
namespace {

const Field k_message =
    Field::string("message",
                  "What the approver confirms, printed while the run waits (\"DBA: the order "
                  "service is drained\").")
        .mandatory();

nlohmann::json decision_evidence(const ApprovalDecision& decision) {
  return {{"decided_by", decision.by},           {"decided_at", decision.at},
          {"comment", decision.comment},         {"via", decision.via},
          {"decided_on", decision.host},         {"decided_by_login", decision.login},
          {"waited_ms", decision.waited.count()}};
}

class ApprovalOperation : public Operation {
 public:
  explicit ApprovalOperation(std::string message) : m_message(std::move(message)) {}

  Outcome run(const AttemptContext& ctx) override {
    if (!ctx.await_approval)
      return Outcome::fail(Status::failed, "no way to wait for an approval here", Changed::no);
    // The step's timeout as the operator wrote it (to the 100 ms), for the message.
    const auto window = Millis((ctx.remaining().count() + 50) / 100 * 100);
    const ApprovalDecision decision = ctx.await_approval(m_message);
    using Verdict = ApprovalDecision::Verdict;
    Outcome outcome;
    switch (decision.verdict) {
      case Verdict::approved:
        outcome = Outcome::ok(fmt::format(
            "approved by {}{}", decision.by,
            decision.comment.empty() ? std::string() : fmt::format(" ({})", decision.comment)));
        break;
      case Verdict::rejected:
        outcome = Outcome::fail(
            Status::failed,
            fmt::format(
                "rejected by {}{}", decision.by,
                decision.comment.empty() ? std::string() : fmt::format(" ({})", decision.comment)),
            Changed::no);
        outcome.evidence["error"] = "rejected";
        break;
      case Verdict::timed_out:
        outcome = Outcome::fail(Status::timeout,
                                fmt::format("nobody approved within {}", format_duration(window)),
                                Changed::no);
        outcome.evidence["error"] = "approval_timeout";
        break;
      case Verdict::cancelled:
        outcome = Outcome::fail(Status::failed,
                                "the run was interrupted while waiting for approval", Changed::no);
        outcome.evidence["error"] = "interrupted";
        break;
      case Verdict::unavailable:
        outcome = Outcome::fail(Status::failed, "cannot wait for approval: " + decision.error,
                                Changed::no);
        outcome.evidence["error"] = "approval_unavailable";
        break;
    }
    outcome.evidence.update(decision_evidence(decision));
    outcome.evidence["message"] = m_message;
    if (decision.verdict == Verdict::approved) {
      outcome.outputs["approved_by"] = decision.by;
      outcome.outputs["comment"] = decision.comment;
    }
    outcome.outputs["waited_ms"] = std::to_string(decision.waited.count());
    return outcome;
  }

 private:
  std::string m_message;
};

class ApprovalKind : public Kind {
 public:
  std::string_view name() const override { return "approval"; }
  std::string_view summary() const override {
    return "Wait for an operator to approve before the next step (reject or timeout: roll back)";
  }
  bool allowed_as(Role role) const override { return role == Role::step; }
  const Fields& fields() const override {
    static const Fields fields{k_message};
    return fields;
  }
  std::string_view notes() const override {
    return "The run journals that it waits, prints the message and how to approve, and waits:\n"
           "typing the step's name on the run's terminal approves (typing 'reject' rejects;\n"
           "a comment may follow a ':', as in 'gate: lag 0 on b');\n"
           "from anywhere, `drctl approve RUN_ID STEP [--by NAME] [--comment TEXT]` or\n"
           "`drctl reject RUN_ID STEP` (through the journal's etcd copy when the playbook has a\n"
           "lock, so another machine can decide; else through the state dir). The step's\n"
           "`timeout` is how long it waits (set one: the default is the playbook's); when it\n"
           "passes, or on reject, the step fails and the steps before it are rolled back.\n"
           "The wait is reported apart (sla.approval_wait_ms); sla.exclude_approvals: true\n"
           "leaves it out of the SLA's total.";
  }
  std::vector<std::string> outputs() const override {
    return {"approved_by", "comment", "waited_ms"};
  }
  std::string target(const Spec&) const override { return "an operator"; }
  std::string describe(const Spec& spec) const override {
    return fmt::format("wait for approval: {}", spec.str(k_message));
  }
  bool mutates(const Spec&) const override { return false; }
  bool waits_for_an_operator() const override { return true; }
  std::unique_ptr<Operation> prepare(const Spec& spec) const override {
    return std::make_unique<ApprovalOperation>(spec.str(k_message));
  }
};

}  // namespace

std::unique_ptr<Kind> make_approval_kind() {
  return std::make_unique<ApprovalKind>();
}

}  // namespace drctl
