#pragma once
// The availability probe (`sla.probe`): from the first step to the end of the run, including
// rollbacks, request a URL every `interval` and record what users saw: error rate, latency
// percentiles, the longest error streak, and which step was running when errors happened.
#include <atomic>
#include <chrono>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "core/cancel.hpp"
#include "core/model.hpp"
#include "engine/probe_series.hpp"
#include "util/stats.hpp"

namespace drctl {

struct ProbeReport {
  std::string url;
  long long requests = 0, errors = 0;
  long long abandoned = 0;  // a request still in flight when the run ended: aborted, not counted
  LatencySummary latency;
  long long longest_streak = 0;  // consecutive failed requests
  double longest_streak_ms = 0;
  std::string longest_streak_during;  // the entry running when it began
  std::map<std::string, long long> errors_by_entry;
  bool p99_exceeded = false, error_rate_exceeded = false;
  nlohmann::json series = nullptr;  // probe_series: requests and errors over time
  double error_rate() const {
    return requests ? static_cast<double>(errors) / static_cast<double>(requests) : 0;
  }
  bool breached() const { return p99_exceeded || error_rate_exceeded; }
  nlohmann::json to_json(const ProbeSpec& spec) const;
};

class AvailabilityProbe {
 public:
  explicit AvailabilityProbe(ProbeSpec spec);
  ~AvailabilityProbe();
  void start();
  // Names the entry now running ("step flip-route", "rollback flip-route"), for attribution.
  void running(std::string entry);
  ProbeReport stop();

 private:
  void loop();

  ProbeSpec m_spec;
  CancelToken m_stop;
  std::thread m_thread;
  std::mutex m_mutex;
  std::string m_current = "before the first step";
  std::vector<double> m_latencies;
  std::vector<ProbeSample> m_samples;
  std::chrono::steady_clock::time_point m_origin;
  WallTime m_origin_wall{};
  ProbeReport m_report;
  long long m_streak = 0;
  std::chrono::steady_clock::time_point m_streak_started;
  std::string m_streak_during;
};

}  // namespace drctl
