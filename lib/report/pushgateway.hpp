#pragma once
// --push-metrics URL: when the run ends, its per-entry durations and the SLA verdict are pushed
// to a Prometheus Pushgateway (PUT {URL}/metrics/job/drctl/playbook/<name>, text format), so
// drills and real switchovers land on the same dashboards as the services they move.
#include <string>

#include "engine/reporter.hpp"

namespace drctl {

// The run as Prometheus text exposition format (what is pushed).
std::string report_to_prometheus(const RunReport& report);

class PushgatewayReporter : public Reporter {
 public:
  explicit PushgatewayReporter(std::string url) : m_url(std::move(url)) {}
  void run_finished(const RunReport& report) override;
  // Why the push failed ("" when it worked); the run's outcome does not depend on it.
  const std::string& error() const { return m_error; }

 private:
  std::string m_url, m_error;
};

}  // namespace drctl
