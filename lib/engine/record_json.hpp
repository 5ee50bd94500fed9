#pragma once
// The JSON form of records and reports (schema "drctl.report/v1", docs/report.md). It is the
// journal's line format and the JSON report's body: the engine owns it, reporters use it.
#include <nlohmann/json.hpp>

#include "engine/record.hpp"

namespace drctl {

inline constexpr const char* k_report_schema = "drctl.report/v1";

// One check, step or rollback, as the journal writes it (outputs as text: what ${steps.*}
// interpolates and `--resume` reads back).
nlohmann::json record_to_json(const EntryRecord& record);
// Outputs as the JSON report writes them: a text that is exactly how JSON writes a number or a
// boolean becomes that value ("199" -> 199), any other stays a string.
nlohmann::json typed_outputs(const std::map<std::string, std::string>& outputs);
// A whole run: the JSON report (entries as record_to_json, outputs typed), and the journal's
// run_finished line.
nlohmann::json report_to_json(const RunReport& report);

}  // namespace drctl
