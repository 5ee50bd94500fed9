#include <doctest/doctest.h>

#include "engine/runner.hpp"
#include "fake_kind.hpp"
#include "report/journal_report.hpp"
#include "report/json_report.hpp"
#include "report/junit_report.hpp"

using namespace drctl;

namespace {

RunReport sample_run() {
  auto playbook = testing::parse_for_test(R"(
version: 1
name: "<demo & co>"
sla: {total: 10s}
checks:
  - {name: c, fake: {id: c}}
steps:
  - {name: a, budget: 1s, fake: {id: a}, rollback: {fake: {id: undo-a}}}
  - {name: b, fake: {id: b, result: failed, changed: "no"}}
)");
  Reporter quiet;
  CancelToken cancel;
  return run_playbook(playbook, testing::test_kinds(), quiet, {}, cancel);
}

}  // namespace

TEST_CASE("the JSON report carries typed fields for every entry") {
  auto json = report_to_json(sample_run());
  CHECK(json["schema"] == "drctl.report/v1");
  CHECK(json["result"] == "rolled_back");
  CHECK(json["exit_code"] == 2);
  CHECK(json["run_id"].is_string());
  CHECK(json["playbook"]["hash"].get<std::string>().rfind("xxh3-128:", 0) == 0);
  CHECK(json["sla"]["verdict"] == "not_evaluated");
  REQUIRE(json["steps"].size() == 2);
  const auto& a = json["steps"][0];
  CHECK(a["status"] == "ok");
  CHECK(a["duration_ms"].is_number_float());
  CHECK(a["attempts"] == 1);
  CHECK(a["budget_ms"] == 1000);
  CHECK(a["budget_pct"].is_number());
  CHECK(a["started_at"].get<std::string>().back() == 'Z');
  CHECK(a["outputs"]["id"] == "a");
  CHECK(json["steps"][1]["status"] == "failed");
  REQUIRE(json["rollbacks"].size() == 1);
  CHECK(json["rollbacks"][0]["name"] == "a");
  CHECK(json["totals"]["steps"]["failed"] == 1);
}

TEST_CASE("the JUnit report escapes names and marks failures") {
  auto xml = report_to_junit(sample_run());
  CHECK(xml.find("&lt;demo &amp; co&gt;") != std::string::npos);
  CHECK(xml.find("<failure type=\"failed\" message=\"fake failed\">") != std::string::npos);
  CHECK(xml.find("name=\"&lt;demo &amp; co&gt;.rollbacks\"") != std::string::npos);
}

TEST_CASE("the JSON report types an output whose text is exactly a JSON number or boolean") {
  auto json = typed_outputs({{"revision", "199"},
                             {"p99_ms", "12.5"},
                             {"negative", "-3"},
                             {"flag", "true"},
                             {"zero_padded", "007"},
                             {"exponent", "1e3"},
                             {"spaced", " 42"},
                             {"empty", ""},
                             {"text", "rev=42"}});
  CHECK(json["revision"] == 199);
  CHECK(json["p99_ms"] == 12.5);
  CHECK(json["negative"] == -3);
  CHECK(json["flag"] == true);
  CHECK(json["zero_padded"] == "007");
  CHECK(json["exponent"] == "1e3");
  CHECK(json["spaced"] == " 42");
  CHECK(json["empty"] == "");
  CHECK(json["text"] == "rev=42");
}

TEST_CASE("a journal without an end is shown as unfinished, the entry it died in unknown") {
  std::vector<nlohmann::json> lines = {
      {{"type", "run_started"},
       {"run_id", "R1"},
       {"mode", "run"},
       {"playbook", {{"name", "p"}, {"path", "p.yaml"}, {"hash", "xxh3-128:0"}}},
       {"started_at", "2026-01-01T00:00:00.000Z"}},
      {{"type", "entry_started"},
       {"phase", "step"},
       {"name", "a"},
       {"kind", "exec"},
       {"started_at", "2026-01-01T00:00:00.100Z"}},
      {{"type", "entry_finished"},
       {"phase", "step"},
       {"name", "a"},
       {"kind", "exec"},
       {"status", "ok"},
       {"outputs", {{"stdout", "199"}}},
       {"started_at", "2026-01-01T00:00:00.100Z"},
       {"finished_at", "2026-01-01T00:00:00.200Z"}},
      {{"type", "entry_started"},
       {"phase", "step"},
       {"name", "b"},
       {"kind", "etcd_put"},
       {"started_at", "2026-01-01T00:00:00.300Z"}},
  };
  auto report = journal_report(lines);
  CHECK(report.result == RunResult::unfinished);
  REQUIRE(report.steps.size() == 2);
  CHECK(report.steps[0].outputs.at("stdout") == "199");
  CHECK(report.steps[1].status == Status::unknown);
  CHECK(report.steps[1].kind == "etcd_put");
  CHECK(report.summary.find("step 'b'") != std::string::npos);
  auto json = report_to_json(report);
  CHECK(json["result"] == "unfinished");
  CHECK(json["exit_code"].is_null());
  CHECK(json["steps"][0]["outputs"]["stdout"] == 199);
  CHECK(json["steps"][1]["status"] == "unknown");
  CHECK(json["totals"]["steps"]["unknown"] == 1);
  CHECK(report_to_junit(report).find("classname=\"p.steps.etcd_put\"") != std::string::npos);
  // A finished run is its own journaled report, read back.
  lines.push_back({{"type", "run_finished"}, {"report", json}});
  auto again = journal_report(lines);
  CHECK(again.steps.size() == 2);
  CHECK(again.steps[0].outputs.at("stdout") == "199");
}
