#include "kinds/routing_reload.hpp"

#include <fmt/format.h>

#include "clients/curl_api.hpp"
#include "kinds/route_actions.hpp"
#include "kinds/route_verify.hpp"
#include "util/json_fields.hpp"
#include "util/secrets.hpp"
#include "util/strings.hpp"

namespace drctl {
namespace {

const Field k_verify_url =
    Field::string("url", "Polled on fresh connections after the action.").mandatory();
const Field k_verify_expect =
    Field::object("expect", "What the new target answers.",
                  {k_expect_status, k_expect_headers, k_expect_body_contains})
        .mandatory();
const Field k_verify_consecutive =
    Field::integer("consecutive", "Matching answers in a row that prove it.")
        .range(1, 1000)
        .defaults_to(5);
const Field k_verify_interval =
    Field::duration("interval", "Between requests.").defaults_to("50ms");
const Field k_verify_timeout =
    Field::duration("timeout", "Limit for the proof.").defaults_to("10s");
const Field k_verify = Field::object("verify", "Proof that traffic moved.",
                                     {k_verify_url, k_verify_expect, k_verify_consecutive,
                                      k_verify_interval, k_verify_timeout})
                           .mandatory();

using Clock = std::chrono::steady_clock;

VerifyPlan plan_of(const Spec& verify) {
  VerifyPlan plan;
  plan.url = verify.str(k_verify_url);
  plan.expect = RouteExpect::from(verify.object(k_verify_expect));
  plan.consecutive = static_cast<int>(verify.integer(k_verify_consecutive));
  plan.interval = verify.duration(k_verify_interval).value();
  plan.timeout = verify.duration(k_verify_timeout).value();
  return plan;
}

class RoutingReloadOperation : public Operation {
 public:
  explicit RoutingReloadOperation(Spec spec)
      : m_spec(std::move(spec)), m_action(make_route_action(m_spec)) {
    curl_api();
  }

  Outcome run(const AttemptContext& ctx) override {
    VerifyPlan plan = plan_of(m_spec.object(k_verify));
    // What answers before the flip: "the old target" for the rollback's proof.
    HttpRequest before;
    before.url = plan.url;
    before.connect_timeout = Millis(2000);
    if (!m_adopted) {
      if (auto answer = http_request(before, ctx.deadline, ctx.cancel))
        m_old_target = plan.expect.observed(*answer);
    }

    auto started = Clock::now();
    Outcome action = m_action->run(ctx);
    double action_ms = std::chrono::duration<double, std::milli>(Clock::now() - started).count();
    m_changed = action.changed;
    if (action.status != Status::ok) {
      action.evidence["action_ms"] = action_ms;
      action.message = "routing: " + action.message;
      return action;
    }
    auto changed_at = m_action->change_started().value_or(started);
    plan.old = stale_target();
    VerifyResult verified = verify_route(plan, changed_at, ctx);
    Outcome outcome;
    outcome.changed = Changed::yes;
    outcome.evidence = verified.to_json();
    outcome.evidence["action_ms"] = action_ms;
    outcome.evidence["precheck_ms"] =
        std::chrono::duration<double, std::milli>(changed_at - started).count();
    outcome.evidence["action"] = redact(action.message);
    outcome.evidence["expect"] = plan.expect.describe();
    outcome.outputs["takeover_ms"] = fmt::format("{:.1f}", verified.takeover_ms);
    outcome.outputs["stable_ms"] = fmt::format("{:.1f}", verified.stable_ms);
    if (!verified.ok) {
      outcome.status = Status::failed;
      outcome.evidence["error"] = "not_moved";
      outcome.message = redact(fmt::format(
          "routing: {} did not serve {} {} times in a row within {} ({} requests, {} stale "
          "(the old target: {}), {} errors; {})",
          plan.url, plan.expect.describe(), plan.consecutive, format_duration(plan.timeout),
          verified.requests, verified.stale, old_target_text(), verified.errors,
          verified.describe_last()));
      return outcome;
    }
    outcome.status = Status::ok;
    outcome.message =
        redact(fmt::format("routing: {} serves {}: first at {:.1f} ms, {} in a row at {:.1f} ms "
                           "({} stale answers and {} errors before)",
                           plan.url, plan.expect.describe(), verified.takeover_ms, plan.consecutive,
                           verified.stable_ms, verified.stale, verified.errors));
    return outcome;
  }

  bool can_undo() const override { return m_action->can_undo(); }

  // The answer that counts as stale: the old target's. A 5xx before the change (the old site
  // down behind the proxy) names no target, so the same 502 afterwards is an error, not stale.
  std::optional<RouteExpect> stale_target() const {
    if (m_old_target && m_old_target->status && *m_old_target->status >= 500) return std::nullopt;
    return m_old_target;
  }
  std::string old_target_text() const {
    if (auto old = stale_target()) return old->describe();
    return m_old_target ? "none: it answered " + m_old_target->describe() + " before"
                        : "none: it did not answer before";
  }

  nlohmann::json undo_state() const override {
    nlohmann::json action = m_action->undo_state();
    if (action.is_null() && m_changed == Changed::no) return nullptr;
    return {{"old_target", m_old_target ? m_old_target->to_json() : nlohmann::json(nullptr)},
            {"action", action}};
  }

  void adopt_undo_state(const nlohmann::json& state) override {
    if (!state.is_object()) return;
    m_adopted = true;
    m_changed = Changed::unknown;
    if (json_member(state, "old_target").is_object())
      m_old_target = RouteExpect::from(Spec(json_member(state, "old_target")));
    m_action->adopt_undo_state(json_member(state, "action"));
  }

  // Restore, reload, and prove the old target answers again.
  Outcome undo(const AttemptContext& ctx) override {
    if (m_changed == Changed::no)
      return Outcome::fail(Status::skipped, "routing: nothing was changed", Changed::no);
    auto started = Clock::now();
    Outcome restored = m_action->undo(ctx);
    if (restored.status != Status::ok) {
      restored.message = "routing rollback: " + restored.message;
      return restored;
    }
    if (!m_old_target) {
      restored.warnings.push_back(
          "the old target was not reachable before the switch, so its return cannot be verified");
      return restored;
    }
    VerifyPlan plan = plan_of(m_spec.object(k_verify));
    plan.old = plan.expect;  // going back: the new target's answers are the stale ones now
    plan.expect = *m_old_target;
    VerifyResult verified = verify_route(plan, started, ctx);
    Outcome outcome;
    outcome.changed = Changed::yes;
    outcome.evidence = verified.to_json();
    outcome.evidence["expect"] = plan.expect.describe();
    if (!verified.ok) {
      outcome.status = Status::failed;
      outcome.evidence["error"] = "not_restored";
      outcome.message = redact(fmt::format(
          "routing rollback: restored, but {} does not serve the old target ({}) again ({} "
          "requests, {} still the new target, {} errors; {})",
          plan.url, plan.expect.describe(), verified.requests, verified.stale, verified.errors,
          verified.describe_last()));
      return outcome;
    }
    outcome.status = Status::ok;
    outcome.message =
        redact(fmt::format("routing rollback: {} serves the old target ({}) again after {:.1f} ms",
                           plan.url, plan.expect.describe(), verified.stable_ms));
    return outcome;
  }

 private:
  Spec m_spec;
  std::unique_ptr<Operation> m_action;  // the route action (route_actions.cpp)
  std::optional<RouteExpect> m_old_target;
  Changed m_changed = Changed::no;
  bool m_adopted = false;  // the undo state came from an earlier process's journal
};

class RoutingReloadKind : public Kind {
 public:
  std::string_view name() const override { return "routing_reload"; }
  std::string_view summary() const override {
    return "Flip the route (etcd_put, http, file_and_exec or exec) and prove traffic landed on the "
           "backup.";
  }
  bool allowed_as(Role role) const override { return role == Role::step; }
  const Fields& fields() const override {
    static const Fields fields = [] {
      Fields all = route_action_fields();
      all.push_back(k_verify);
      return all;
    }();
    return fields;
  }
  std::vector<std::string> outputs() const override { return {"takeover_ms", "stable_ms"}; }
  std::vector<SpecProblem> check_spec(const Spec& spec) const override {
    auto problems = check_route_action(spec);
    Spec expect = spec.object(k_verify).object(k_verify_expect);
    if (!expect.has(k_expect_status) && !expect.has(k_expect_headers) &&
        !expect.has(k_expect_body_contains)) {
      problems.push_back({k_verify.name + "." + k_verify_expect.name,
                          "give at least one of status, headers, body_contains"});
    }
    auto url = spec.object(k_verify).str(k_verify_url);
    if (url.rfind("http://", 0) != 0 && url.rfind("https://", 0) != 0)
      problems.push_back({k_verify.name + "." + k_verify_url.name,
                          fmt::format("expected an http:// or https:// URL, got '{}'", url)});
    return problems;
  }
  std::string target(const Spec& spec) const override {
    return spec.object(k_verify).str(k_verify_url);
  }
  std::string describe(const Spec& spec) const override {
    Spec verify = spec.object(k_verify);
    return fmt::format("{}, then poll {} until {} {} times in a row", describe_route_action(spec),
                       verify.str(k_verify_url),
                       RouteExpect::from(verify.object(k_verify_expect)).describe(),
                       verify.integer(k_verify_consecutive));
  }
  bool undo_state_before_changes(const Spec& spec) const override {
    return route_action_undo_state_first(spec);
  }
  std::string undo_description(const Spec&) const override {
    return "restore the previous route, reload, verify the old target serves again";
  }
  std::unique_ptr<Operation> prepare(const Spec& spec) const override {
    return std::make_unique<RoutingReloadOperation>(spec);
  }
  // The action's own preview, then the route's target: what the verify URL answers now
  // against what the step waits for.
  Preview preview(const Spec& spec, const AttemptContext& ctx,
                  PreviewOverlay& overlay) const override {
    Preview preview = preview_route_action(spec, ctx, overlay);
    VerifyPlan plan = plan_of(spec.object(k_verify));
    curl_api();
    HttpRequest now;
    now.url = plan.url;
    now.connect_timeout = Millis(2000);
    if (auto answer = http_request(now, ctx.deadline, ctx.cancel)) {
      preview.state("route " + plan.url, plan.expect.observed(*answer).describe(),
                    plan.expect.describe());
    } else {
      preview.unreadable.push_back(fmt::format("the route's target: {} did not answer: {}",
                                               plan.url, answer.error().message));
    }
    return preview;
  }
};

}  // namespace

std::unique_ptr<Kind> make_routing_reload_kind() {
  return std::make_unique<RoutingReloadKind>();
}

}  // namespace drctl
