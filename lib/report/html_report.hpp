#pragma once
// The drill report as one self-contained HTML5 file (`--html FILE`, `drctl report RUN_ID
// --html FILE`): the SLA verdict in large type, a Gantt timeline of every check, step and
// rollback on one time axis, the probes' series under it on the same axis, and each entry's
// evidence. Inline CSS and SVG only (no script, no external resource); prints on A4.
#include <nlohmann/json.hpp>
#include <string>

#include "engine/reporter.hpp"

namespace drctl {

// One drctl.report/v1 document (what report_to_json writes, and the journal's run_finished
// line keeps) as HTML. Fields missing or of the wrong type read as absent (an old report, an
// unfinished run): the page says what is absent instead of failing.
std::string report_to_html(const nlohmann::json& report);

// Writes the HTML file when the run finishes (a temp file renamed into place, mode 0644).
class HtmlReporter : public Reporter {
 public:
  explicit HtmlReporter(std::string path) : m_path(std::move(path)) {}
  void run_finished(const RunReport& report) override;
  // Why the file could not be written ("" when it was): the run exits 74 instead of 0.
  const std::string& error() const { return m_error; }

 private:
  std::string m_path;
  std::string m_error;
};

}  // namespace drctl
