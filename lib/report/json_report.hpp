#pragma once
// The machine-readable report, schema "drctl.report/v1" (docs/report.md).
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

}  // namespace drctl
