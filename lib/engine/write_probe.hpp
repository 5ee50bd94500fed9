#pragma once
// The write probe (`sla.write_probe`): from the first step to the end of the run, including
// rollbacks, send a write at a fixed rate and record how each ended: acknowledged, failed, or
// unknown (no answer, or a proxy that lost its upstream: it may have committed). After the
// run every acknowledged write is read back (write_verify.hpp): lost is acknowledged but
// absent, and a probe that could not read a write back says "not verified", never "0 lost".
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "core/cancel.hpp"
#include "core/model.hpp"
#include "engine/probe_series.hpp"
#include "engine/write_verify.hpp"
#include "util/clock.hpp"

namespace drctl {

class PlainHttpClient;

enum class WriteOutcome { acknowledged, failed, unknown };

// One write, kept small: an hour at 10 ms is 360,000 of them. Its key is made from `seq`.
struct WriteAttempt {
  long long seq = 0;
  float sent_ms = 0;  // from the probe's start
  float latency_ms = 0;
  WriteOutcome outcome = WriteOutcome::unknown;
  std::uint16_t entry = 0;        // index into the entries seen (what ran when it was sent)
  std::uint16_t error_class = 0;  // index into the error classes seen (0: none)
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
  // of the next one that was. A gap still open when the run ends is waited on (up to
  // max_write_gap, else k_recovery_wait); if writes never come back it is a breach.
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
  // Before the first step: what reading back needs (the MySQL module, verify_sql's password);
  // the error says what is missing, and the run must not start.
  std::string prepare();
  void start();
  // Names the entry now running ("step flip-route", "rollback flip-route"), for attribution.
  void running(const std::string& entry);
  // Stops sending: a gap still open is waited on first, and a write in flight is waited for (at
  // most `timeout`), so every sent write has its outcome. Then reads the writes back, unless
  // `cancel` is set.
  WriteProbeReport stop(const CancelToken& cancel);
  std::string key_of(long long seq) const;

 private:
  void send_every(std::size_t first_slot, std::size_t stride);
  bool sleep_until(std::chrono::steady_clock::time_point due) const;
  void stop_senders();
  WriteAttempt send(long long seq);
  void wait_for_recovery();
  void tally(WriteProbeReport& report) const;
  void measure_gap(WriteProbeReport& report) const;
  void verify(WriteProbeReport& report, const CancelToken& cancel) const;
  std::uint16_t class_index(const std::string& error_class, const std::string& sample);

  WriteProbeSpec m_spec;
  std::string m_run_id;
  ReadBackTarget m_read_back;
  CancelToken m_stop;
  int m_wake_fd = -1;  // an eventfd, written once at the stop: wakes every sleeping sender
  std::vector<std::thread> m_senders;
  // Plain http: the lean client (its pool shared by the senders); else libcurl (https, a proxy).
  std::unique_ptr<PlainHttpClient> m_lean_client;
  std::chrono::steady_clock::time_point m_origin;
  WallTime m_origin_wall{};
  double m_stopped_ms = 0;
  mutable std::mutex m_mutex;
  std::condition_variable m_written;  // an attempt has its outcome
  std::vector<std::string> m_entries{"before the first step"};
  std::uint16_t m_current = 0;
  std::vector<std::string> m_classes{""};
  std::vector<std::string> m_samples{""};  // the first answer of each class
  std::vector<WriteAttempt> m_attempts;
  long long m_last_acknowledged = 0, m_last_refused = 0;  // seqs
  long long m_missed = 0;
  std::string m_failure;  // a sender that failed: the probe's figures cannot be trusted
};

}  // namespace drctl
