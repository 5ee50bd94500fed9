#include "report/json_report.hpp"

#include "engine/record_json.hpp"
#include "util/json_dump.hpp"

namespace drctl {

void JsonReporter::run_finished(const RunReport& report) {
  std::string text = dump_json(report_to_json(report), 2);
  std::fprintf(m_out, "%s\n", text.c_str());
  std::fflush(m_out);
}

}  // namespace drctl
