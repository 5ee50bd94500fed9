#pragma once
// `drctl runs --since D`: one line per run with the figures a drill is judged by (the time the
// steps took against sla.total, the database's write freeze, the orders lost, the longest write
// gap), read from its journaled report, so "are our drills getting faster?" has an answer.
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

namespace drctl {

struct DrillFigures {
  std::string run_id, started_at, playbook, mode, result;
  std::optional<int> exit_code;       // none: the journal has no end
  std::optional<double> takeover_ms;  // first step start to last step end (sla.steps_elapsed)
  std::optional<long long> sla_total_ms;
  std::optional<double> freeze_ms;  // the longest freeze of a mysql_switchover step
  bool write_probe = false;
  long long writes_acknowledged = 0;
  std::optional<long long> writes_lost;  // none with a probe: not verified and none proven lost
  bool writes_verified = false;          // every write read back: writes_lost is exact, not "≥"
  double write_gap_ms = 0;
};

// From a run's journaled report (drctl.report/v1); a run without one gets only its id.
DrillFigures drill_figures(const std::string& run_id, const nlohmann::json& report);
nlohmann::json drill_figures_json(const DrillFigures& figures);
// The table, oldest first, and a last line comparing the latest run with the median.
std::string drill_trend_text(const std::vector<DrillFigures>& runs);

}  // namespace drctl
