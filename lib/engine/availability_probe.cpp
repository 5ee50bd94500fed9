#include "engine/availability_probe.hpp"

#include <fmt/format.h>

#include <algorithm>

#include "clients/http_client.hpp"
#include "core/context.hpp"
#include "util/clock.hpp"

namespace drctl {
namespace {
using Clock = std::chrono::steady_clock;
}  // namespace

AvailabilityProbe::AvailabilityProbe(ProbeSpec spec) : m_spec(std::move(spec)) {
  m_report.url = m_spec.url;
}

AvailabilityProbe::~AvailabilityProbe() {
  m_stop.cancel();
  if (m_thread.joinable()) m_thread.join();
}

void AvailabilityProbe::start() {
  m_origin = Clock::now();
  m_origin_wall = std::chrono::system_clock::now();
  m_thread = std::thread([this] { loop(); });
}

void AvailabilityProbe::running(std::string entry) {
  std::lock_guard lock(m_mutex);
  m_current = std::move(entry);
}

void AvailabilityProbe::loop() {
  HttpRequest request;
  request.url = m_spec.url;
  request.connect_timeout = m_spec.timeout;
  request.max_body = 64 * 1024;
  auto next = Clock::now();
  while (!m_stop.cancelled()) {
    auto sent = Clock::now();
    // stop() aborts a request in flight: the run is over, and its answer would say nothing
    // about what users saw during it.
    auto response = http_request(request, sent + m_spec.timeout, &m_stop);
    auto done = Clock::now();
    if (m_stop.cancelled()) {
      std::lock_guard lock(m_mutex);
      m_report.abandoned = 1;
      break;
    }
    bool ok = false;
    if (response) {
      const auto& wanted = m_spec.expect_status;
      ok = wanted.empty()
               ? response->status >= 200 && response->status < 400
               : std::find(wanted.begin(), wanted.end(), response->status) != wanted.end();
    }
    {
      std::lock_guard lock(m_mutex);
      ++m_report.requests;
      m_latencies.push_back(ms_between(sent, done));
      m_samples.push_back({ms_between(m_origin, sent), ok ? 1U : 3U, m_latencies.back()});
      if (ok) {
        m_streak = 0;
      } else {
        ++m_report.errors;
        ++m_report.errors_by_entry[m_current];
        if (m_streak++ == 0) {
          m_streak_started = sent;
          m_streak_during = m_current;
        }
        if (m_streak > m_report.longest_streak) {
          m_report.longest_streak = m_streak;
          m_report.longest_streak_ms = ms_between(m_streak_started, done);
          m_report.longest_streak_during = m_streak_during;
        }
      }
    }
    // Fixed rate: a slow answer does not shift the schedule, missed slots are skipped.
    next += m_spec.interval;
    if (next < Clock::now()) next = Clock::now();
    if (!m_stop.sleep_until(next)) break;
  }
}

ProbeReport AvailabilityProbe::stop() {
  m_stop.cancel();
  if (m_thread.joinable()) m_thread.join();
  std::lock_guard lock(m_mutex);
  m_report.series = probe_series(m_origin_wall, m_spec.interval, ms_between(m_origin, Clock::now()),
                                 m_samples, {"requests", "errors"});
  m_report.latency = summarize(m_latencies);
  if (m_spec.p99 && m_report.latency.p99 > static_cast<double>(m_spec.p99->count()))
    m_report.p99_exceeded = true;
  if (m_spec.max_error_rate && m_report.error_rate() > *m_spec.max_error_rate)
    m_report.error_rate_exceeded = true;
  return m_report;
}

nlohmann::json ProbeReport::to_json(const ProbeSpec& spec) const {
  nlohmann::json out = {{"url", url},
                        {"requests", requests},
                        {"errors", errors},
                        {"abandoned_at_stop", abandoned},
                        {"error_rate", error_rate()},
                        {"latency", latency.to_json()},
                        {"longest_error_streak", longest_streak},
                        {"longest_error_streak_ms", longest_streak_ms},
                        {"errors_by_entry", errors_by_entry},
                        {"interval_ms", spec.interval.count()}};
  out["longest_error_streak_during"] =
      longest_streak ? nlohmann::json(longest_streak_during) : nlohmann::json(nullptr);
  out["p99_budget_ms"] = spec.p99 ? nlohmann::json(spec.p99->count()) : nlohmann::json(nullptr);
  out["max_error_rate"] =
      spec.max_error_rate ? nlohmann::json(*spec.max_error_rate) : nlohmann::json(nullptr);
  out["p99_exceeded"] = p99_exceeded;
  out["error_rate_exceeded"] = error_rate_exceeded;
  out["verdict"] = breached() ? "breached" : "met";
  out["series"] = series;
  return out;
}

}  // namespace drctl
