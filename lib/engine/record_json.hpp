#pragma once
// The JSON form of records and reports (schema "drctl.report/v1", docs/report.md). It is the
// journal's line format and the JSON report's body: the engine owns it, reporters use it.
#include <nlohmann/json.hpp>

#include "engine/record.hpp"

namespace drctl {

inline constexpr const char* k_report_schema = "drctl.report/v1";

// One check, step or rollback, as the journal and the JSON report write it.
nlohmann::json record_to_json(const EntryRecord& record);
// A whole run: the JSON report, and the journal's run_finished line.
nlohmann::json report_to_json(const RunReport& report);

}  // namespace drctl
