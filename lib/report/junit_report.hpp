#pragma once
// JUnit XML: one testsuite per phase, one testcase per check, step and rollback.
#include <string>

#include "engine/reporter.hpp"

namespace drctl {

std::string report_to_junit(const RunReport& report);

// Writes the XML file when the run finishes (to a temp file, then renamed into place).
class JunitReporter : public Reporter {
 public:
  explicit JunitReporter(std::string path) : m_path(std::move(path)) {}
  void run_finished(const RunReport& report) override;
  const std::string& error() const { return m_error; }

 private:
  std::string m_path;
  std::string m_error;
};

}  // namespace drctl
