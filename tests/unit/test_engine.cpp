// Engine behaviour with in-process fake steps: assertions are on recorded order and
// overlap, never on how fast the machine is.
#include <doctest/doctest.h>

#include <algorithm>
#include <thread>

#include "engine/exit_codes.hpp"
#include "engine/runner.hpp"
#include "fake_kind.hpp"

using namespace drctl;
using drctl::testing::event_log;

namespace {

class Collecting : public Reporter {
 public:
  void entry_started(const EntryRecord& r) override {
    started.push_back(std::string(phase_name(r.phase)) + ":" + r.name);
  }
  void entry_finished(const EntryRecord& r) override {
    finished.push_back(std::string(phase_name(r.phase)) + ":" + r.name);
  }
  std::vector<std::string> started;
  std::vector<std::string> finished;
};

RunReport run_yaml(const std::string& yaml, Mode mode = Mode::run, int parallel = 8,
                   const CancelToken* cancel = nullptr) {
  event_log().clear();
  auto playbook = testing::parse_for_test(yaml);
  Collecting reporter;
  CancelToken own;
  RunOptions options;
  options.mode = mode;
  options.parallel = parallel;
  return run_playbook(playbook, testing::test_kinds(), reporter, options,
                      cancel != nullptr ? *cancel : own);
}

const char* k_header = "version: 1\nname: t\ndefaults: {timeout: 5s, retry_delay: 10ms}\n";

}  // namespace

TEST_CASE("checks run concurrently: every check starts before any ends") {
  auto report = run_yaml(std::string(k_header) + R"(
checks:
  - {name: c1, fake: {id: c1, sleep: 300ms}}
  - {name: c2, fake: {id: c2, sleep: 300ms}}
  - {name: c3, fake: {id: c3, sleep: 300ms}}
)",
                         Mode::check);
  CHECK(report.result == RunResult::success);
  auto starts = event_log().names_of("start");
  REQUIRE(starts.size() == 3);
  auto latest_start = std::max({event_log().at("start", "c1"), event_log().at("start", "c2"),
                                event_log().at("start", "c3")});
  auto earliest_end = std::min(
      {event_log().at("end", "c1"), event_log().at("end", "c2"), event_log().at("end", "c3")});
  CHECK(latest_start < earliest_end);
}

TEST_CASE("--parallel bounds how many checks are in flight") {
  run_yaml(std::string(k_header) + R"(
checks:
  - {name: c1, fake: {id: c1, sleep: 100ms}}
  - {name: c2, fake: {id: c2, sleep: 100ms}}
  - {name: c3, fake: {id: c3, sleep: 100ms}}
  - {name: c4, fake: {id: c4, sleep: 100ms}}
)",
           Mode::check, 2);
  int in_flight = 0;
  int most = 0;
  for (const auto& e : event_log().events()) {
    in_flight += e.what == "start" ? 1 : -1;
    most = std::max(most, in_flight);
  }
  CHECK(most == 2);
}

TEST_CASE("the gate is atomic: one failed check and no step starts") {
  auto report = run_yaml(std::string(k_header) + R"(
checks:
  - {name: good, fake: {id: good}}
  - {name: bad, fake: {id: bad, result: unreachable}}
steps:
  - {name: s1, fake: {id: s1}}
)");
  CHECK(report.result == RunResult::checks_failed);
  CHECK(exit_code_for(report.result) == k_exit_checks_failed);
  CHECK(report.steps.empty());
  auto starts = event_log().names_of("start");
  CHECK(std::find(starts.begin(), starts.end(), "s1") == starts.end());
  CHECK(report.checks[1].status == Status::unreachable);
}

TEST_CASE("a failed step rolls back completed steps in reverse order of completion") {
  auto report = run_yaml(std::string(k_header) + R"(
steps:
  - {name: a, fake: {id: a}, rollback: {fake: {id: undo-a}}}
  - {name: b, fake: {id: b}, rollback: {fake: {id: undo-b}}}
  - {name: c, fake: {id: c}, rollback: {fake: {id: undo-c}}}
  - {name: d, fake: {id: d, result: failed, changed: "no"}, rollback: {fake: {id: undo-d}}}
)");
  CHECK(report.result == RunResult::rolled_back);
  CHECK(exit_code_for(report.result) == k_exit_rolled_back);
  CHECK(event_log().names_of("start") ==
        std::vector<std::string>{"a", "b", "c", "d", "undo-c", "undo-b", "undo-a"});
  REQUIRE(report.rollbacks.size() == 3);
  CHECK(report.rollbacks[0].name == "c");
}

TEST_CASE("a failed step that may have changed something is undone first") {
  auto report = run_yaml(std::string(k_header) + R"(
steps:
  - {name: a, fake: {id: a}, rollback: {fake: {id: undo-a}}}
  - {name: b, fake: {id: b, result: timeout, changed: unknown}, rollback: {fake: {id: undo-b}}}
)");
  CHECK(report.result == RunResult::rolled_back);
  CHECK(event_log().names_of("start") == std::vector<std::string>{"a", "b", "undo-b", "undo-a"});
}

TEST_CASE("a failing rollback makes the run partial and stops further rollbacks") {
  auto report = run_yaml(std::string(k_header) + R"(
steps:
  - {name: a, fake: {id: a}, rollback: {fake: {id: undo-a}}}
  - {name: b, fake: {id: b}, rollback: {fake: {id: undo-b, result: failed}}}
  - {name: c, fake: {id: c, result: failed, changed: "no"}}
)");
  CHECK(report.result == RunResult::partial);
  CHECK(exit_code_for(report.result) == k_exit_partial);
  CHECK(event_log().names_of("start") == std::vector<std::string>{"a", "b", "c", "undo-b"});
  REQUIRE(report.rollbacks.size() == 2);
  CHECK(report.rollbacks[0].status == Status::failed);
  CHECK(report.rollbacks[1].status == Status::skipped);
  CHECK(report.rollbacks[1].message.find("earlier rollback failed") != std::string::npos);
}

TEST_CASE("a completed step with no way back makes the run partial, a read-only one does not") {
  auto partial = run_yaml(std::string(k_header) + R"(
steps:
  - {name: a, fake: {id: a}, rollback: {fake: {id: undo-a}}}
  - {name: b, fake: {id: b}}
  - {name: c, fake: {id: c, result: failed, changed: "no"}}
)");
  CHECK(partial.result == RunResult::partial);
  REQUIRE(partial.rollbacks.size() == 2);
  CHECK(partial.rollbacks[0].message == "no rollback declared: this step's changes stay");
  // A missing rollback is not a failed one: the others still run.
  CHECK(event_log().names_of("start") == std::vector<std::string>{"a", "b", "c", "undo-a"});

  auto declared = run_yaml(std::string(k_header) + R"(
steps:
  - {name: a, read_only: true, fake: {id: a}}
  - {name: b, read_only: true, fake: {id: b, result: failed}}
)");
  CHECK(declared.result == RunResult::rolled_back);
  CHECK(declared.rollbacks.empty());

  auto fine = run_yaml(std::string(k_header) + R"(
steps:
  - {name: a, fake: {id: a, readonly: true}}
  - {name: b, fake: {id: b, result: failed, changed: "no"}}
)");
  CHECK(fine.result == RunResult::rolled_back);
  CHECK(fine.rollbacks.empty());
}

TEST_CASE("a kind's built-in undo serves when the playbook declares no rollback") {
  auto report = run_yaml(std::string(k_header) + R"(
steps:
  - {name: a, fake: {id: a, undo: true}}
  - {name: b, fake: {id: b, result: failed, changed: "no"}}
)");
  CHECK(report.result == RunResult::rolled_back);
  CHECK(event_log().names_of("undo") == std::vector<std::string>{"a"});
}

TEST_CASE("a step over its budget is a breach: exit 4, or a warning under on_breach: warn") {
  const std::string steps = R"(
steps:
  - {name: slow, budget: 20ms, fake: {id: slow, sleep: 120ms}}
  - {name: quick, budget: 5s, fake: {id: quick}}
)";
  auto fail = run_yaml(std::string(k_header) + steps);
  CHECK(fail.result == RunResult::sla_breached);
  CHECK(exit_code_for(fail.result) == k_exit_sla_breached);
  CHECK(fail.steps[0].budget_exceeded);
  CHECK_FALSE(fail.steps[1].budget_exceeded);
  CHECK(fail.sla.over_budget_steps == std::vector<std::string>{"slow"});

  auto warn = run_yaml(std::string(k_header) + "sla: {on_breach: warn}\n" + steps);
  CHECK(warn.result == RunResult::success);
  CHECK(warn.sla.breached());
}

TEST_CASE("sla.total covers first step start to last step end") {
  auto report = run_yaml(std::string(k_header) + R"(
sla: {total: 100ms}
steps:
  - {name: a, fake: {id: a, sleep: 70ms}}
  - {name: b, fake: {id: b, sleep: 70ms}}
)");
  CHECK(report.result == RunResult::sla_breached);
  CHECK(report.sla.total_exceeded);
  CHECK(report.sla.steps_elapsed >= std::chrono::milliseconds(140));
  CHECK(report.sla.steps_elapsed ==
        report.steps[1].finished.steady - report.steps[0].started.steady);
}

TEST_CASE("retries: attempts are counted and a later success counts") {
  auto ok = run_yaml(std::string(k_header) + R"(
steps:
  - {name: flaky, retries: 2, fake: {id: flaky, fail_attempts: 2}}
)");
  CHECK(ok.result == RunResult::success);
  CHECK(ok.steps[0].attempts == 3);
  CHECK(ok.steps[0].outputs.at("attempts") == "3");

  auto failed = run_yaml(std::string(k_header) + R"(
steps:
  - {name: flaky, retries: 1, fake: {id: flaky, fail_attempts: 2, undo: true}}
)");
  CHECK(failed.result == RunResult::rolled_back);
  CHECK(failed.steps[0].attempts == 2);
}

TEST_CASE("the timeout is a hard stop for an attempt") {
  auto report = run_yaml(std::string(k_header) + R"(
steps:
  - {name: hang, timeout: 100ms, fake: {id: hang, sleep: 30s, changed: "no"}}
)");
  CHECK(report.steps[0].status == Status::timeout);
  CHECK(report.steps[0].duration < std::chrono::seconds(5));
}

TEST_CASE("an interrupt starts no further step and rolls nothing back") {
  CancelToken cancel;
  std::thread interrupter([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    cancel.cancel();
  });
  auto report = run_yaml(std::string(k_header) + R"(
steps:
  - {name: a, fake: {id: a}, rollback: {fake: {id: undo-a}}}
  - {name: b, fake: {id: b, sleep: 30s}, rollback: {fake: {id: undo-b}}}
  - {name: c, fake: {id: c}}
)",
                         Mode::run, 8, &cancel);
  interrupter.join();
  CHECK(report.result == RunResult::interrupted);
  CHECK(exit_code_for(report.result) == k_exit_interrupted);
  CHECK(event_log().names_of("start") == std::vector<std::string>{"a", "b"});
  CHECK(report.rollbacks.empty());
}

TEST_CASE("dry run: checks really run, steps only describe themselves") {
  auto report = run_yaml(std::string(k_header) + R"(
checks:
  - {name: c, fake: {id: c}}
steps:
  - {name: a, fake: {id: a}}
  - {name: b, fake: {id: "after-${steps.a.id}"}}
)",
                         Mode::dry_run);
  CHECK(report.result == RunResult::success);
  CHECK(event_log().names_of("start") == std::vector<std::string>{"c"});
  REQUIRE(report.steps.size() == 2);
  CHECK(report.steps[0].status == Status::skipped);
  CHECK(report.steps[0].message == "dry run: would pretend a");
  CHECK(report.steps[1].message == "dry run: would pretend after-<steps.a.id>");
  CHECK_FALSE(report.sla.evaluated);
}

TEST_CASE("outputs of earlier steps and the run id reach later steps") {
  auto report = run_yaml(std::string(k_header) + R"(
steps:
  - {name: a, fake: {id: alpha}}
  - {name: b, fake: {id: "${steps.a.id}/${run.id}"}}
)");
  REQUIRE(report.steps.size() == 2);
  CHECK(report.steps[1].outputs.at("id") == "alpha/" + report.run_id);
}
