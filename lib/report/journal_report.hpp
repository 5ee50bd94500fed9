#pragma once
// A run's report rebuilt from its journal, so `drctl show` renders any run (finished, killed,
// or read from the etcd copy) through the same reporters as a live one.
#include <nlohmann/json.hpp>
#include <vector>

#include "engine/record.hpp"

namespace drctl {

// A finished run: its own report (the run_finished line). A run whose journal has no end
// (killed, or still running): rebuilt from its lines, result `unfinished`, and each entry
// that started and never finished `unknown` (with its kind and start time).
RunReport journal_report(const std::vector<nlohmann::json>& lines);

// A drctl.report/v1 document read back (what is missing or of the wrong type reads as absent).
RunReport report_from_json(const nlohmann::json& doc);

}  // namespace drctl
