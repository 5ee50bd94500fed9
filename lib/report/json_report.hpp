#pragma once
// The machine-readable report, schema "drctl.report/v1" (docs/report.md), and its JSON Schema.
#include <cstdio>
#include <nlohmann/json.hpp>

#include "engine/record_json.hpp"
#include "engine/reporter.hpp"

namespace drctl {

// Writes one JSON document to `out` when the run finishes.
class JsonReporter : public Reporter {
 public:
  explicit JsonReporter(std::FILE* out) : m_out(out) {}
  void run_finished(const RunReport& report) override;

 private:
  std::FILE* m_out;
};

// The JSON Schema (draft 7) of the report that report_to_json writes and `drctl show` prints
// (`drctl schema report`; playbooks/schema/report-v1.schema.json holds a copy). Strict: a field
// the report gains or loses must be added here, or the tests that validate reports fail.
nlohmann::json report_json_schema();

}  // namespace drctl
