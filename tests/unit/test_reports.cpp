#include <doctest/doctest.h>

#include "engine/runner.hpp"
#include "fake_kind.hpp"
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
