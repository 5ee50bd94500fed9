#pragma once
// The write probe (`sla.write_probe`): from the first step to the end of the run, including
// rollbacks, send a write at a fixed rate and record how each ended: acknowledged, failed, or
// unknown (no answer, or a proxy that lost its upstream: it may have committed). After the
// run every acknowledged write is read back (write_verify.hpp): lost is acknowledged but
// absent, and a probe that could not read a write back says "not verified", never "0 lost".
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
#include "util/clock.hpp"

namespace drctl {

enum class WriteOutcome { acknowledged, failed, unknown };

struct WriteAttempt {
  long long seq = 0;
  std::string key;
  double sent_ms = 0;  // from the probe's start
  double latency_ms = 0;
  WriteOutcome outcome = WriteOutcome::unknown;
  std::string error_class;  // "http 503", "refused", "timeout", ...
  std::string error;        // the answer or the client's message
  std::string entry;        // running when it was sent
};

enum class WriteVerdict { met, breached, not_verified };
std::string_view write_verdict_name(WriteVerdict verdict);

struct WriteProbeReport {
  std::string url;
  long long attempts = 0, acknowledged = 0, failed = 0, unknown = 0;
  long long missed_slots = 0;  // not sent: every sender still waited for an earlier write
  std::map<std::string, long long> failures_by_entry;  // failed and unknown, by entry
  std::map<std::string, long long> errors_by_class;
  std::map<std::string, std::string> error_samples;  // class -> the first answer, cut short
  // The longest time writes were refused: from a write that was not acknowledged to the end
  // of the next one that was (or to the probe's end: then it never recovered).
  double longest_gap_ms = 0;
  std::string longest_gap_during;  // the entry running when it began
  WallTime longest_gap_started{};
  bool longest_gap_recovered = true;
  // Verification, after the run.
  std::string verify_method;     // "url" or "sql"
  bool verified = false;         // every acknowledged write was read back
  std::string not_verified_why;  // when not
  long long checked = 0;         // acknowledged writes read back
  long long lost = 0, duplicates = 0, unverified = 0;
  long long unknown_landed = 0;  // unknown outcomes found present
  std::vector<std::string> lost_keys, duplicate_keys;
  double verify_ms = 0;
  bool lost_exceeded = false, gap_exceeded = false;
  nlohmann::json series = nullptr;

  WriteVerdict verdict() const;
  bool breached() const { return verdict() == WriteVerdict::breached; }
  nlohmann::json to_json(const WriteProbeSpec& spec) const;
};

// The report's JSON read back (a journal's run_finished line), for `show` and `runs`.
WriteProbeReport write_probe_report_of(const nlohmann::json& j, WriteProbeSpec& spec);

class WriteProbe {
 public:
  // `run_id` makes every write's key unique across runs: "<run id>-<seq>".
  WriteProbe(WriteProbeSpec spec, std::string run_id);
  ~WriteProbe();
  void start();
  // Names the entry now running ("step flip-route", "rollback flip-route"), for attribution.
  void running(std::string entry);
  // Stops sending; a write in flight is waited for (at most `timeout`), so every sent write
  // has its outcome. Then reads the writes back, unless `cancel` is set.
  WriteProbeReport stop(const CancelToken& cancel);

 private:
  void send_every(std::size_t first_slot, std::size_t stride);
  WriteAttempt send(long long seq);
  void measure_gap(WriteProbeReport& report) const;

  WriteProbeSpec m_spec;
  std::string m_run_id;
  CancelToken m_stop;
  std::vector<std::thread> m_senders;
  std::chrono::steady_clock::time_point m_origin;
  WallTime m_origin_wall{};
  double m_stopped_ms = 0;
  std::mutex m_mutex;
  std::string m_current = "before the first step";
  std::vector<WriteAttempt> m_attempts;
  long long m_missed = 0;
};

}  // namespace drctl
