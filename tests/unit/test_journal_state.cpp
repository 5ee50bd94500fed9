#include <doctest/doctest.h>

#include "engine/journal_state.hpp"
#include "report/journal_report.hpp"

using namespace drctl;
using nlohmann::json;

namespace {

json started() {
  return {{"type", "run_started"},
          {"run_id", "R1"},
          {"mode", "run"},
          {"playbook", {{"name", "p"}, {"hash", "h"}}}};
}
json begin(const char* phase, const char* name) {
  return {{"type", "entry_started"}, {"phase", phase}, {"name", name}};
}
json undo(const char* name, json state) {
  return {{"type", "entry_undo"}, {"phase", "step"}, {"name", name}, {"undo", state}};
}
json end(const char* phase, const char* name, const char* status, const char* message = "") {
  return {{"type", "entry_finished"},
          {"phase", phase},
          {"name", name},
          {"status", status},
          {"message", message},
          {"outputs", {{"out", std::string(name) + "-out"}}}};
}

}  // namespace

TEST_CASE(
    "a killed run: completed steps are done, the one it died in is cut short with its write-ahead "
    "undo state") {
  auto state =
      journal_state({started(), begin("step", "a"), undo("a", {{"k", 1}}), end("step", "a", "ok"),
                     begin("step", "b"), undo("b", {{"previous", "old config"}})});
  REQUIRE(state);
  CHECK_FALSE(state->ended);
  REQUIRE(state->done.size() == 1);
  CHECK(state->done[0].name == "a");
  CHECK(state->done[0].undo == json{{"k", 1}});
  CHECK(state->done[0].outputs.at("out") == "a-out");
  REQUIRE(state->cut_short.size() == 1);
  CHECK(state->cut_short[0].name == "b");
  CHECK(state->cut_short[0].undo == json{{"previous", "old config"}});
}

TEST_CASE(
    "rolled-back steps are no longer done; failed rollbacks are remembered; not-attempted ones "
    "leave the step done") {
  auto state = journal_state({started(), end("step", "a", "ok"), end("step", "b", "ok"),
                              end("step", "c", "failed"), end("rollback", "c", "ok"),
                              end("rollback", "b", "failed"),
                              end("rollback", "a", "skipped",
                                  "not attempted: an earlier rollback failed, a human must look")});
  REQUIRE(state);
  REQUIRE(state->done.size() == 2);
  CHECK(state->done[0].name == "a");
  CHECK(state->done[1].name == "b");
  CHECK(state->cut_short.empty());
  CHECK(state->failed_rollbacks == std::vector<std::string>{"b"});
}

TEST_CASE("a resumed run's reused steps keep the run that really did them") {
  json reused = end("step", "a", "ok");
  reused["done_in_run"] = "R0";
  reused["undo"] = {{"x", 2}};
  auto state = journal_state({started(), reused});
  REQUIRE(state);
  REQUIRE(state->done.size() == 1);
  CHECK(state->done[0].done_in_run == "R0");
  CHECK(state->done[0].undo == json{{"x", 2}});
}

TEST_CASE(
    "a journal without its run_started line, or with fields of the wrong type, is read without "
    "throwing") {
  CHECK_FALSE(journal_state({begin("step", "a")}));
  json odd = {{"type", "entry_finished"},
              {"phase", 3},
              {"name", json::array()},
              {"status", nullptr},
              {"outputs", "x"}};
  json odd_start = {{"type", "run_started"}, {"run_id", 5}, {"playbook", "p"}};
  CHECK_NOTHROW(journal_state({odd_start, odd, begin("step", "a")}));
  CHECK_NOTHROW(journal_report({odd_start, odd, begin("step", "a")}));
}

TEST_CASE("the report rebuilt from a killed run's journal shows the step it died in as failed") {
  auto report =
      journal_report({started(), begin("step", "a"), end("step", "a", "ok"), begin("step", "b")});
  REQUIRE(report.steps.size() == 2);
  CHECK(report.steps[0].status == Status::ok);
  CHECK(report.steps[1].name == "b");
  CHECK(report.steps[1].status == Status::failed);
  CHECK(report.steps[1].message.find("no end in the journal") == 0);
}
