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

TEST_CASE("the report rebuilt from a killed run's journal shows the step it died in as unknown") {
  auto report =
      journal_report({started(), begin("step", "a"), end("step", "a", "ok"), begin("step", "b")});
  REQUIRE(report.steps.size() == 2);
  CHECK(report.steps[0].status == Status::ok);
  CHECK(report.steps[1].name == "b");
  CHECK(report.steps[1].status == Status::unknown);
  CHECK(report.steps[1].message.find("has no end in the journal") != std::string::npos);
  CHECK(report.result == RunResult::unfinished);
}

namespace {
json started_as(const char* id, const char* mode, const char* parent_key = nullptr,
                const char* parent = nullptr) {
  json line = {{"type", "run_started"},
               {"run_id", id},
               {"mode", mode},
               {"started_at", std::string("2026-12-02T00:00:0") + id[1] + ".000Z"},
               {"playbook", {{"name", "p"}, {"hash", "h"}}}};
  if (parent_key != nullptr) line[parent_key] = parent;
  return line;
}
json reused(const char* name, const char* in_run) {
  json line = end("step", name, "ok");
  line["done_in_run"] = in_run;
  return line;
}
}  // namespace

TEST_CASE("a chain read as one: a resume's steps and a rollback's undos apply on top") {
  // R1 did a and was killed in b; R2 resumed it (b again, then c); R3 rolled back c and b,
  // and was killed before a.
  auto state = journal_state({started_as("R1", "run"), end("step", "a", "ok"), begin("step", "b"),
                              started_as("R2", "run", "resumed_from", "R1"), reused("a", "R1"),
                              begin("step", "b"), end("step", "b", "ok"), end("step", "c", "ok"),
                              started_as("R3", "rollback", "rolls_back", "R2"), reused("a", "R1"),
                              reused("b", "R2"), reused("c", "R2"), end("rollback", "c", "ok"),
                              end("rollback", "b", "ok")});
  REQUIRE(state);
  CHECK(state->run_id == "R3");
  CHECK(state->mode == "rollback");
  CHECK_FALSE(state->ended);
  REQUIRE(state->done.size() == 1);
  CHECK(state->done[0].name == "a");
  CHECK(state->done[0].done_in_run == "R1");
  CHECK(state->cut_short.empty());
}

TEST_CASE("a resume refused its lock changed nothing: the chain keeps what the run before did") {
  auto state =
      journal_state({started_as("R1", "run"), end("step", "a", "ok"),
                     started_as("R2", "run", "resumed_from", "R1"),
                     json{{"type", "run_finished"}, {"report", {{"result", "lock_held"}}}}});
  REQUIRE(state);
  CHECK(state->run_id == "R2");
  CHECK(state->result == "lock_held");
  REQUIRE(state->done.size() == 1);
  CHECK(state->done[0].name == "a");
}

TEST_CASE("chain_of: from any member, the root and every run descending from it, by start") {
  std::vector<ChainLink> links = {{"R3", "R2", "rollback", "2026-12-02T00:00:03.000Z"},
                                  {"R1", "", "run", "2026-12-02T00:00:01.000Z"},
                                  {"X9", "", "run", "2026-12-02T00:00:02.000Z"},
                                  {"R2", "R1", "run", "2026-12-02T00:00:02.000Z"},
                                  {"R4", "R1", "rollback", "2026-12-02T00:00:04.000Z"}};
  for (const char* from : {"R1", "R2", "R3", "R4"}) {
    auto chain = chain_of(links, from);
    std::vector<std::string> ids;
    for (const auto& link : chain) ids.push_back(link.run_id);
    CHECK(ids == std::vector<std::string>{"R1", "R2", "R3", "R4"});
  }
  CHECK(chain_of(links, "X9").size() == 1);
  CHECK(chain_of(links, "unknown").front().run_id == "unknown");
  CHECK(chain_fate(chain_of(links, "R1"), "R1") == "resumed by R2, rolled back by R4");
  // A hand-edited cycle ends.
  std::vector<ChainLink> cycle = {{"A", "B", "run", "1"}, {"B", "A", "run", "2"}};
  CHECK(chain_of(cycle, "A").size() == 2);
}
