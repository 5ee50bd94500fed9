#include "report/pushgateway.hpp"

#include <fmt/format.h>

#include <chrono>

#include "clients/curl_api.hpp"
#include "clients/http_client.hpp"
#include "report/readiness_exposition.hpp"  // prometheus_label: one escaping for both
#include "util/duration.hpp"
#include "util/secrets.hpp"
#include "util/strings.hpp"

namespace drctl {
namespace {

double seconds(std::chrono::nanoseconds d) {
  return std::chrono::duration<double>(d).count();
}

}  // namespace

std::string report_to_prometheus(const RunReport& report) {
  std::string out;
  auto metric = [&](const char* name, const char* type, const char* help) {
    out += fmt::format("# HELP {} {}\n# TYPE {} {}\n", name, help, name, type);
  };
  metric("drctl_entry_duration_seconds", "gauge",
         "Duration of each check, step and rollback of the last run.");
  for (const auto* list : {&report.checks, &report.steps, &report.rollbacks}) {
    for (const auto& r : *list) {
      out += fmt::format(
          "drctl_entry_duration_seconds{{phase=\"{}\",name=\"{}\",kind=\"{}\",status=\"{}\"}} "
          "{:.6f}\n",
          phase_name(r.phase), prometheus_label(r.name), prometheus_label(r.kind),
          status_name(r.status), seconds(r.duration));
    }
  }
  metric("drctl_step_budget_seconds", "gauge", "Each step's budget (steps with one).");
  for (const auto& r : report.steps) {
    if (r.budget)
      out += fmt::format("drctl_step_budget_seconds{{name=\"{}\"}} {:.3f}\n",
                         prometheus_label(r.name), to_ms(*r.budget) / 1000.0);
  }
  const auto& sla = report.sla;
  metric("drctl_steps_elapsed_seconds", "gauge", "First step start to last step end.");
  out += fmt::format("drctl_steps_elapsed_seconds {:.6f}\n", seconds(sla.steps_elapsed));
  if (sla.total_budget) {
    metric("drctl_sla_total_seconds", "gauge", "sla.total of the playbook.");
    out += fmt::format("drctl_sla_total_seconds {:.3f}\n", to_ms(*sla.total_budget) / 1000.0);
  }
  metric("drctl_sla_met", "gauge",
         "1: the SLA was met; 0: breached; -1: not evaluated (or the writes not verified).");
  out += fmt::format("drctl_sla_met {}\n", !sla.evaluated           ? -1
                                           : sla.breached()         ? 0
                                           : !sla.writes_verified() ? -1
                                                                    : 1);
  if (sla.probe) {
    metric("drctl_availability_p99_seconds", "gauge",
           "P99 latency the availability probe saw during the steps.");
    out += fmt::format("drctl_availability_p99_seconds {:.6f}\n", sla.probe->latency.p99 / 1000.0);
    metric("drctl_availability_error_ratio", "gauge",
           "Failed probe requests over all probe requests.");
    out += fmt::format("drctl_availability_error_ratio {:.6f}\n", sla.probe->error_rate());
  }
  if (const auto& w = sla.write_probe) {
    metric("drctl_writes_total", "gauge", "Writes the write probe sent, by outcome.");
    out += fmt::format("drctl_writes_total{{outcome=\"acknowledged\"}} {}\n", w->acknowledged);
    out += fmt::format("drctl_writes_total{{outcome=\"failed\"}} {}\n", w->failed);
    out += fmt::format("drctl_writes_total{{outcome=\"unknown\"}} {}\n", w->unknown);
    // Not verified: no sample at all, never a 0 that reads as "nothing lost".
    metric("drctl_writes_lost", "gauge", "Acknowledged writes absent after the run.");
    if (w->verified || w->lost > 0) out += fmt::format("drctl_writes_lost {}\n", w->lost);
    metric("drctl_writes_verified", "gauge",
           "1: every acknowledged write was read back; 0: not all could be.");
    out += fmt::format("drctl_writes_verified {}\n", w->verified ? 1 : 0);
    metric("drctl_write_gap_seconds", "gauge",
           "Longest time from a write not acknowledged to the next acknowledged one.");
    out += fmt::format("drctl_write_gap_seconds {:.6f}\n", w->longest_gap_ms / 1000.0);
  }
  metric("drctl_run_duration_seconds", "gauge", "The whole run.");
  out += fmt::format("drctl_run_duration_seconds {:.6f}\n",
                     seconds(report.finished.steady - report.started.steady));
  metric("drctl_run_exit_code", "gauge", "drctl's exit code for the run (docs/exit-codes.md).");
  out += fmt::format("drctl_run_exit_code {}\n", exit_code_for(report.result));
  metric("drctl_run_info", "gauge", "The run's id, mode and result, as labels.");
  out += fmt::format("drctl_run_info{{run_id=\"{}\",mode=\"{}\",result=\"{}\"}} 1\n",
                     prometheus_label(report.run_id), mode_name(report.mode),
                     run_result_name(report.result));
  metric("drctl_run_finished_timestamp_seconds", "gauge", "When the run ended (Unix time).");
  out +=
      fmt::format("drctl_run_finished_timestamp_seconds {:.3f}\n",
                  std::chrono::duration<double>(report.finished.wall.time_since_epoch()).count());
  return redact(out);
}

void PushgatewayReporter::run_finished(const RunReport& report) {
  curl_api();
  HttpRequest request;
  request.method = "PUT";  // replaces the group's metrics: the last run is what the group shows
  std::string base = m_url;
  while (!base.empty() && base.back() == '/') base.pop_back();
  request.url =
      fmt::format("{}/metrics/job/drctl/playbook/{}", base,
                  url_encode(report.playbook_name.empty() ? "unnamed" : report.playbook_name));
  request.headers = {{"Content-Type", "text/plain; version=0.0.4"}};
  request.body = report_to_prometheus(report);
  request.connect_timeout = Millis(3'000);
  auto answer =
      http_request(request, std::chrono::steady_clock::now() + std::chrono::seconds(10), nullptr);
  if (!answer) {
    m_error = fmt::format("--push-metrics {}: {}", request.url, answer.error().message);
  } else if (answer->status / 100 != 2) {
    m_error = fmt::format("--push-metrics {}: HTTP {}: {}", request.url, answer->status,
                          one_line(answer->body.substr(0, 200)));
  }
}

}  // namespace drctl
