#include "fake_kind.hpp"

#include <doctest/doctest.h>

#include <thread>

#include "kinds/exec.hpp"
#include "kinds/http.hpp"

namespace drctl::testing {

void EventLog::add(std::string what, std::string name) {
  std::lock_guard lock(m_mutex);
  m_events.push_back({std::move(what), std::move(name), std::chrono::steady_clock::now()});
}

std::vector<LogEvent> EventLog::events() const {
  std::lock_guard lock(m_mutex);
  return m_events;
}

std::vector<std::string> EventLog::names_of(const std::string& what) const {
  std::vector<std::string> out;
  for (const auto& e : events()) {
    if (e.what == what) out.push_back(e.name);
  }
  return out;
}

std::chrono::steady_clock::time_point EventLog::at(const std::string& what,
                                                   const std::string& name) const {
  for (const auto& e : events()) {
    if (e.what == what && e.name == name) return e.at;
  }
  FAIL("no event ", what, " ", name);
  return {};
}

void EventLog::clear() {
  std::lock_guard lock(m_mutex);
  m_events.clear();
}

EventLog& event_log() {
  static EventLog log;
  return log;
}

namespace {

Status parse_status(const std::string& text) {
  if (text == "failed") return Status::failed;
  if (text == "timeout") return Status::timeout;
  if (text == "unreachable") return Status::unreachable;
  if (text == "invalid_answer") return Status::invalid_answer;
  return Status::ok;
}

class FakeOperation : public Operation {
 public:
  explicit FakeOperation(Spec spec) : m_spec(std::move(spec)) {}

  Outcome run(const AttemptContext& ctx) override {
    std::string id = m_spec.str("id");
    event_log().add("start", id);
    ++m_attempts;
    auto sleep = m_spec.duration("sleep").value_or(Millis(0));
    auto until = std::chrono::steady_clock::now() + sleep;
    bool timed_out = until > ctx.deadline;
    ctx.cancel->sleep_until(std::min(until, ctx.deadline));
    event_log().add("end", id);
    if (ctx.cancelled()) return Outcome::fail(Status::failed, "cancelled");
    if (timed_out) return Outcome::fail(Status::timeout, "fake ran out of time");
    Outcome outcome;
    outcome.status = m_attempts <= m_spec.integer("fail_attempts")
                         ? Status::failed
                         : parse_status(m_spec.str("result"));
    outcome.message = "fake " + std::string(status_name(outcome.status));
    outcome.outputs["attempts"] = std::to_string(m_attempts);
    outcome.outputs["id"] = id;
    outcome.evidence["attempt"] = m_attempts;
    std::string changed = m_spec.str("changed");
    outcome.changed = changed == "no"    ? Changed::no
                      : changed == "yes" ? Changed::yes
                                         : Changed::unknown;
    return outcome;
  }

  bool can_undo() const override { return m_spec.boolean("undo"); }
  Outcome undo(const AttemptContext&) override {
    event_log().add("undo", m_spec.str("id"));
    return m_spec.str("undo_result") == "failed" ? Outcome::fail(Status::failed, "undo failed")
                                                 : Outcome::ok("undone");
  }

 private:
  Spec m_spec;
  int m_attempts = 0;
};

class FakeKind : public Kind {
 public:
  std::string_view name() const override { return "fake"; }
  std::string_view summary() const override { return "test double"; }
  bool allowed_as(Role) const override { return true; }
  const Fields& fields() const override {
    static const Fields fields = {
        Field::string("id", "").mandatory(),
        Field::duration("sleep", ""),
        Field::string("result", "")
            .one_of({"ok", "failed", "timeout", "unreachable", "invalid_answer"})
            .defaults_to("ok"),
        Field::integer("fail_attempts", "").defaults_to(0),
        Field::string("changed", "").one_of({"no", "yes", "unknown"}).defaults_to("yes"),
        Field::boolean("undo", "").defaults_to(false),
        Field::string("undo_result", "").defaults_to("ok"),
        Field::boolean("readonly", "").defaults_to(false),
        Field::boolean("writes", "").defaults_to(false),  // as a check: Kind::writes
    };
    return fields;
  }
  std::vector<std::string> outputs() const override { return {"attempts", "id"}; }
  std::string target(const Spec& spec) const override { return "fake:" + spec.str("id"); }
  std::string describe(const Spec& spec) const override { return "pretend " + spec.str("id"); }
  bool mutates(const Spec& spec) const override { return !spec.boolean("readonly"); }
  bool writes(const Spec& spec) const override { return spec.boolean("writes"); }
  std::unique_ptr<Operation> prepare(const Spec& spec) const override {
    return std::make_unique<FakeOperation>(spec);
  }
};

}  // namespace

const KindRegistry& test_kinds() {
  static const KindRegistry registry = [] {
    KindRegistry r;
    r.add(std::make_unique<FakeKind>());
    r.add(make_exec_kind());
    r.add(make_http_kind());
    return r;
  }();
  return registry;
}

Playbook parse_for_test(const std::string& yaml) {
  LoadOptions options;
  options.kinds = &test_kinds();
  auto result = parse_playbook(yaml, "test.yaml", options);
  for (const auto& d : result.diagnostics) MESSAGE(d.to_string());
  REQUIRE(result.playbook.has_value());
  return *result.playbook;
}

}  // namespace drctl::testing
