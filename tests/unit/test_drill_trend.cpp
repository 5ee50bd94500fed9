// drctl runs --since: the figures read from a journaled report (which may be tampered with) and
// the trend printed from them.
#include <doctest/doctest.h>

#include <algorithm>
#include <sstream>
#include <string>
#include <vector>

#include "report/drill_trend.hpp"

using namespace drctl;
using nlohmann::json;

namespace {

json report(const std::string& run_id, double takeover_ms) {
  return {
      {"run_id", run_id},
      {"started_at", "2026-11-23T22:15:00.000Z"},
      {"playbook", {{"name", "demo"}}},
      {"mode", "run"},
      {"result", "success"},
      {"exit_code", 0},
      {"sla", {{"verdict", "met"}, {"steps_elapsed_ms", takeover_ms}, {"total_budget_ms", 23000}}},
      {"steps", json::array()}};
}

json write_probe(json lost, bool verified) {
  return {{"acknowledged", 10},
          {"lost", std::move(lost)},
          {"verification", {{"verified", verified}}},
          {"longest_write_gap_ms", 25.0}};
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

// Where `what` begins in `line`, in characters (UTF-8), as a terminal shows it.
std::size_t column_of(const std::string& line, const std::string& what) {
  const auto at = line.find(what);
  REQUIRE(at != std::string::npos);
  return static_cast<std::size_t>(std::count_if(line.begin(), line.begin() + at, [](char c) {
    return (static_cast<unsigned char>(c) & 0xC0) != 0x80;
  }));
}

}  // namespace

TEST_CASE("drill trend: lost writes are exact only when verified") {
  json run = report("r1", 2900);
  run["sla"]["write_probe"] = write_probe(0, true);
  DrillFigures f = drill_figures("r1", run);
  CHECK(f.writes_verified);
  CHECK(drill_figures_json(f)["writes"]["verified"] == true);
  CHECK(drill_trend_text({f}).find(" 0 of 10 ") != std::string::npos);

  // Proven lost so far, but not every write read back: at least 3, never "3 of 10".
  run["sla"]["write_probe"] = write_probe(3, false);
  f = drill_figures("r1", run);
  const json written = drill_figures_json(f)["writes"];
  CHECK(written["verified"] == false);
  CHECK(written["lost"] == 3);
  const std::string text = drill_trend_text({f});
  CHECK(text.find("\u22653 of 10 (not verified)") != std::string::npos);
  // The columns after it still line up ("≥" is one character, three bytes).
  const auto lines = lines_of(text);
  REQUIRE(lines.size() == 2);
  CHECK(column_of(lines[0], "WRITE GAP") == column_of(lines[1], "25.0ms"));

  run["sla"]["write_probe"] = write_probe(nullptr, false);
  f = drill_figures("r1", run);
  CHECK(drill_figures_json(f)["writes"]["verified"] == false);
  CHECK(drill_trend_text({f}).find(" not verified ") != std::string::npos);
}

TEST_CASE("drill trend: a tampered sla.total (1e300, 0) and a median of 0") {
  json run = report("r1", 2900);
  run["sla"]["total_budget_ms"] = 1e300;  // converted to an integer, it was UB
  CHECK_FALSE(drill_figures("r1", run).sla_total_ms.has_value());
  run["sla"]["total_budget_ms"] = -5;
  CHECK_FALSE(drill_figures("r1", run).sla_total_ms.has_value());
  run["sla"]["total_budget_ms"] = 0;
  const DrillFigures zero_total = drill_figures("r1", run);
  CHECK(zero_total.sla_total_ms == 0);
  std::string text = drill_trend_text({zero_total});
  CHECK(text.find("inf") == std::string::npos);
  CHECK(text.find("%") == std::string::npos);

  // Two runs whose steps took no time: the median is 0, no percentage against it.
  text = drill_trend_text(
      {drill_figures("r1", report("r1", 0)), drill_figures("r2", report("r2", 0))});
  CHECK(text.find(": takeover median 0.0ms over 2 runs; the latest (r2) took 0.0ms\n") !=
        std::string::npos);
  CHECK(text.find("nan") == std::string::npos);
  text = drill_trend_text(
      {drill_figures("r1", report("r1", 2000)), drill_figures("r2", report("r2", 3000))});
  CHECK(text.find("the latest (r2) took 3.00s (+20%)") != std::string::npos);
}
