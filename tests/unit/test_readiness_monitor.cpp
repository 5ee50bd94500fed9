// drctl serve's engine: each check on its own schedule, never overlapping itself, bounded
// concurrency, stale results, reloads that keep unchanged checks, a stop that cancels; and the
// exposition made from its view.
#include <doctest/doctest.h>

#include <algorithm>
#include <thread>

#include "engine/readiness_monitor.hpp"
#include "fake_kind.hpp"
#include "report/readiness_exposition.hpp"

using namespace drctl;
using namespace drctl::testing;
using namespace std::chrono_literals;

namespace {

Playbook three_checks(const std::string& sleep) {
  return parse_for_test(
      "version: 1\nname: m\nchecks:\n"
      "  - {name: a, fake: {id: a, sleep: " +
      sleep +
      "}}\n"
      "  - {name: b, fake: {id: b, sleep: " +
      sleep +
      "}}\n"
      "  - {name: c, fake: {id: c, sleep: " +
      sleep + "}}\n");
}

MonitorOptions fast(int concurrency) {
  MonitorOptions options;
  options.interval = Millis(20);
  options.max_age = Millis(5'000);
  options.concurrency = concurrency;
  return options;
}

}  // namespace

TEST_CASE("readiness monitor: a check never overlaps itself; concurrency is bounded") {
  event_log().clear();
  {
    ReadinessMonitor monitor(test_kinds(), fast(2), nullptr);
    monitor.start(three_checks("60ms"));
    std::this_thread::sleep_for(700ms);
    CHECK(monitor.stop(Millis(2'000)));
  }
  int in_flight = 0, most = 0;
  std::map<std::string, int> running;
  for (const auto& event : event_log().events()) {
    int step = event.what == "start" ? 1 : -1;
    in_flight += step;
    running[event.name] += step;
    most = std::max(most, in_flight);
    CHECK(running[event.name] >= 0);
    CHECK(running[event.name] <= 1);
  }
  CHECK(most == 2);
  // Each slow check is due again the moment it ends; the most overdue goes first, so none of
  // the three starves (taken in playbook order, c never started again).
  const auto starts = event_log().names_of("start");
  for (const char* name : {"a", "b", "c"})
    CHECK_MESSAGE(std::count(starts.begin(), starts.end(), name) >= 3, name);
}

TEST_CASE("readiness monitor: pending, then ready; a result older than max_age is stale") {
  MonitorOptions options = fast(4);
  options.max_age = Millis(150);
  options.interval = Millis(50);
  std::vector<Transition> transitions;
  ReadinessMonitor monitor(test_kinds(), options,
                           [&](const Transition& t) { transitions.push_back(t); });
  monitor.start(
      parse_for_test("version: 1\nname: m\nchecks:\n"
                     "  - {name: slow, timeout: 10s, fake: {id: slow, sleep: 400ms}}\n"));
  ReadinessView view = monitor.view();
  REQUIRE(view.checks.size() == 1);
  CHECK(view.checks[0].state == "pending");
  CHECK_FALSE(view.ready);
  CHECK(readiness_json(view)["reasons"][0].get<std::string>().find("slow: pending") == 0);
  std::this_thread::sleep_for(500ms);  // the first result, the second evaluation running
  view = monitor.view();
  CHECK(view.checks[0].state == "ok");
  CHECK(view.ready);
  std::this_thread::sleep_for(200ms);  // the second one still runs: the first result ages
  view = monitor.view();
  CHECK(view.checks[0].state == "stale");
  CHECK(view.checks[0].running);
  CHECK_FALSE(view.ready);
  CHECK(readiness_text(view).find("slow: stale") != std::string::npos);
  CHECK(monitor.stop(Millis(1'000)));
  REQUIRE(transitions.size() == 2);  // the ageing is logged as it happens, not at the next end
  CHECK(transitions[0].from == "pending");
  CHECK(transitions[0].to == "ok");
  CHECK(transitions[1].from == "ok");
  CHECK(transitions[1].to == "stale");
  CHECK(transitions[1].message.find("an evaluation is still running") != std::string::npos);
}

TEST_CASE("readiness monitor: a stop cancels an evaluation in flight at once") {
  ReadinessMonitor monitor(test_kinds(), fast(1), nullptr);
  monitor.start(
      parse_for_test("version: 1\nname: m\nchecks:\n"
                     "  - {name: long, timeout: 1m, fake: {id: long, sleep: 30s}}\n"));
  std::this_thread::sleep_for(100ms);
  auto t0 = std::chrono::steady_clock::now();
  CHECK(monitor.stop(Millis(2'000)));
  CHECK(std::chrono::steady_clock::now() - t0 < 500ms);
}

TEST_CASE("readiness monitor: a reload keeps an unchanged check's results, drops the others") {
  ReadinessMonitor monitor(test_kinds(), fast(2), nullptr);
  monitor.start(three_checks("1ms"));
  std::this_thread::sleep_for(300ms);
  monitor.replace(
      parse_for_test("version: 1\nname: m2\nchecks:\n"
                     "  - {name: a, fake: {id: a, sleep: 1ms}}\n"
                     "  - {name: b, fake: {id: b, sleep: 2ms}}\n"));
  ReadinessView view = monitor.view();
  REQUIRE(view.checks.size() == 2);
  CHECK(view.playbook_name == "m2");
  CHECK(view.checks[0].evaluations > 0);     // a: the same spec
  CHECK(view.checks[1].state == "pending");  // b: its spec changed
  monitor.reload_failed("broken");
  view = monitor.view();
  CHECK(view.reload_failures == 1);
  CHECK_FALSE(view.last_reload_ok);
  CHECK(monitor.trigger("nope") == TriggerResult::unknown);
  CHECK(monitor.stop(Millis(1'000)));
}

TEST_CASE("readiness monitor: a check that writes runs at most every min_write_interval") {
  MonitorOptions options = fast(2);
  options.min_write_interval = Millis(400);
  ReadinessMonitor monitor(test_kinds(), options, nullptr);
  monitor.start(
      parse_for_test("version: 1\nname: m\nchecks:\n"
                     "  - {name: reads, fake: {id: reads}}\n"
                     "  - {name: writes, fake: {id: writes, writes: true}}\n"));
  std::this_thread::sleep_for(600ms);
  CHECK(monitor.trigger("writes") == TriggerResult::too_soon);
  ReadinessView view = monitor.view();
  CHECK(monitor.stop(Millis(1'000)));
  REQUIRE(view.checks.size() == 2);
  CHECK(view.checks[0].evaluations >= 10);
  CHECK(view.checks[1].writes);
  CHECK(view.checks[1].interval == Millis(400));
  CHECK(view.checks[1].evaluations >= 1);
  CHECK(view.checks[1].evaluations <= 2);
  REQUIRE(view.checks[1].last);
  CHECK(view.checks[1].last->warnings.at(0) == "this fake check writes to the system it checks");
}

TEST_CASE("readiness monitor: a check's own interval and min_interval win over the defaults") {
  MonitorOptions options = fast(2);
  options.interval = Millis(1'000);
  options.min_write_interval = Millis(60'000);
  options.max_age.reset();
  const Playbook playbook = parse_for_test(
      "version: 1\nname: m\nchecks:\n"
      "  - {name: quick, interval: 30ms, timeout: 20ms, fake: {id: quick}}\n"
      "  - {name: slow, timeout: 20ms, fake: {id: slow}}\n"
      "  - {name: writes, interval: 10ms, min_interval: 400ms, timeout: 20ms,"
      " fake: {id: writes, writes: true}}\n"
      "  - {name: retries, interval: 5s, timeout: 10s, retries: 2, retry_delay: 5s,"
      " fake: {id: retries}}\n");
  REQUIRE(playbook.checks.size() == 4);
  CHECK(check_schedule(playbook.checks[0], false, options).interval == Millis(30));
  CHECK(check_schedule(playbook.checks[0], false, options).max_age == Millis(90));
  CHECK(check_schedule(playbook.checks[1], false, options).interval == Millis(1'000));
  const CheckSchedule writes = check_schedule(playbook.checks[2], true, options);
  CHECK(writes.interval == Millis(400));  // a writer's interval is never below its min_interval
  CHECK(writes.min_interval == Millis(400));
  CHECK(writes.max_age == Millis(1'200));
  // A check whose attempts can take longer than 3 intervals: its next result may come up to
  // the interval, its jitter and every attempt and pause later (5 + 0.5 + 3 x 10 + 2 x 5 s).
  CHECK(check_schedule(playbook.checks[3], false, options).max_age == Millis(45'500));
  options.max_age = Millis(5'000);  // --max-age given: the same for every check
  CHECK(check_schedule(playbook.checks[1], false, options).max_age == Millis(5'000));

  options.max_age.reset();
  ReadinessMonitor monitor(test_kinds(), options, nullptr);
  Playbook three = playbook;
  three.checks.pop_back();
  monitor.start(three);
  std::this_thread::sleep_for(700ms);
  ReadinessView view = monitor.view();
  CHECK(monitor.stop(Millis(1'000)));
  REQUIRE(view.checks.size() == 3);
  CHECK(view.checks[0].evaluations >= 8);  // every 30 ms for 700 ms
  CHECK(view.checks[1].evaluations == 1);  // every second: only the first
  CHECK(view.checks[2].evaluations >= 1);  // every 400 ms, not every 10 ms
  CHECK(view.checks[2].evaluations <= 2);
  CHECK(view.checks[0].max_age == Millis(90));
}

TEST_CASE("readiness monitor: a reload that changes a check's interval starts it afresh") {
  ReadinessMonitor monitor(test_kinds(), fast(2), nullptr);
  monitor.start(parse_for_test("version: 1\nname: m\nchecks:\n  - {name: a, fake: {id: a}}\n"));
  std::this_thread::sleep_for(200ms);
  monitor.replace(
      parse_for_test("version: 1\nname: m\nchecks:\n  - {name: a, interval: 1h, fake: {id: a}}\n"));
  ReadinessView view = monitor.view();
  CHECK(monitor.stop(Millis(1'000)));
  REQUIRE(view.checks.size() == 1);
  CHECK(view.checks[0].interval == Millis(3'600'000));
}

TEST_CASE("readiness exposition: label values escaped, families with HELP and TYPE") {
  CHECK(prometheus_label("a\"b\\c\nd") == "a\\\"b\\\\c\\nd");
  ReadinessView view;
  CheckView check;
  check.name = "we\"ird";
  check.kind = "mysql";
  check.fresh = check.ready = true;
  check.state = "ok";
  EntryRecord record;
  record.status = Status::ok;
  record.evidence = {{"lag_ms", 1500}, {"io_running", true}, {"source_host", "db"}};
  check.last = record;
  view.checks.push_back(check);
  view.ready = true;
  const std::string text = readiness_metrics(view);
  CHECK(text.find("# TYPE drctl_readiness gauge\ndrctl_readiness 1\n") != std::string::npos);
  CHECK(text.find("drctl_check_replica_lag_seconds{check=\"we\\\"ird\",kind=\"mysql\"} 1.5\n") !=
        std::string::npos);
  CHECK(text.find("field=\"io_running\"} 1\n") != std::string::npos);
  CHECK(text.find("source_host") == std::string::npos);
  CHECK(text.find("drctl_check_last_success_timestamp_seconds") == std::string::npos);
}
