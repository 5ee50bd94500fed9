#include "engine/write_probe.hpp"

#include <fmt/format.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>

#include "clients/http_client.hpp"
#include "clients/plain_http.hpp"
#include "util/json_fields.hpp"
#include "util/secrets.hpp"
#include "util/strings.hpp"

namespace drctl {
namespace {

using Clock = std::chrono::steady_clock;
constexpr std::size_t k_max_listed_keys = 1000;  // in the report; the counts stay exact
// How long a gap still open at the end is waited on without max_write_gap.
constexpr Millis k_recovery_wait{10'000};
constexpr std::size_t k_max_senders = 128;  // 20ms with a 2s timeout needs 102

double ms_since(Clock::time_point origin, Clock::time_point at) {
  return std::chrono::duration<double, std::milli>(at - origin).count();
}

bool listed(const std::vector<long long>& statuses, long status,
            std::initializer_list<long> fallback) {
  if (statuses.empty())
    return std::find(fallback.begin(), fallback.end(), status) != fallback.end();
  return std::find(statuses.begin(), statuses.end(), status) != statuses.end();
}

std::string_view http_error_class_name(HttpError::Class kind) {
  switch (kind) {
    case HttpError::Class::refused:
      return "refused";
    case HttpError::Class::resolve:
      return "resolve";
    case HttpError::Class::timeout:
      return "timeout";
    case HttpError::Class::tls:
      return "tls";
    case HttpError::Class::garbage:
      return "garbage";
    case HttpError::Class::cancelled:
      return "cancelled";
    case HttpError::Class::other:
      return "other";
  }
  return "other";
}

std::string_view outcome_name(WriteOutcome outcome) {
  switch (outcome) {
    case WriteOutcome::acknowledged:
      return "acknowledged";
    case WriteOutcome::failed:
      return "failed";
    case WriteOutcome::unknown:
      return "unknown";
  }
  return "unknown";
}

}  // namespace

std::string_view write_verdict_name(WriteVerdict verdict) {
  switch (verdict) {
    case WriteVerdict::met:
      return "met";
    case WriteVerdict::breached:
      return "breached";
    case WriteVerdict::not_verified:
      return "not_verified";
  }
  return "not_verified";
}

// What was measured beyond its limit (loss proven, a gap) is a breach whatever else is unknown;
// otherwise a write that could not be read back leaves the loss unknown: never "met".
WriteVerdict WriteProbeReport::verdict() const {
  if (lost_exceeded || gap_exceeded) return WriteVerdict::breached;
  if (!verified) return WriteVerdict::not_verified;
  return WriteVerdict::met;
}

WriteProbe::WriteProbe(WriteProbeSpec spec, std::string run_id)
    : m_spec(std::move(spec)),
      m_run_id(std::move(run_id)),
      m_wake_fd(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) {}

WriteProbe::~WriteProbe() {
  stop_senders();
  if (m_wake_fd >= 0) ::close(m_wake_fd);
}

void WriteProbe::stop_senders() {
  m_stop.request_stop();
  m_stop.cancel();
  const std::uint64_t one = 1;  // readable from now on: every sleeping sender wakes
  if (m_wake_fd >= 0 && ::write(m_wake_fd, &one, sizeof one) < 0) {
    // Full or closed: senders still wake at their next slot and see the stop.
  }
  for (auto& sender : m_senders) {
    if (sender.joinable()) sender.join();
  }
}

// Until `due`, or false as soon as the probe stops. One ppoll() on the probe's eventfd: a
// condition variable shared by ~100 senders cost a futex hash-bucket walk on every wake-up.
bool WriteProbe::sleep_until(Clock::time_point due) const {
  while (!m_stop.stop_requested()) {
    const auto left = std::chrono::duration_cast<std::chrono::nanoseconds>(due - Clock::now());
    if (left.count() <= 0) return true;
    if (m_wake_fd < 0) return m_stop.sleep_until(due);
    const timespec wait{static_cast<time_t>(left.count() / 1'000'000'000),
                        static_cast<long>(left.count() % 1'000'000'000)};
    pollfd woken{m_wake_fd, POLLIN, 0};
    if (::ppoll(&woken, 1, &wait, nullptr) > 0) return false;
  }
  return false;
}

std::string WriteProbe::key_of(long long seq) const {
  return fmt::format("{}-{}", m_run_id, seq);
}

std::string WriteProbe::prepare() {
  auto target = prepare_read_back(m_spec);
  if (!target) return redact(fmt::format("sla.write_probe: {}", target.error()));
  m_read_back = std::move(*target);
  return "";
}

void WriteProbe::start() {
  m_origin = Clock::now();
  m_origin_wall = std::chrono::system_clock::now();
  // Enough senders that a write waiting for its timeout never delays the next one: the rate
  // stays fixed while the service hangs, which is exactly when it matters.
  const auto interval = std::max<long long>(m_spec.interval.count(), 1);
  const auto stride = std::clamp<std::size_t>(
      static_cast<std::size_t>(m_spec.timeout.count() / interval) + 2, 1, k_max_senders);
  if (PlainHttpClient::serves(m_spec.url)) m_lean_client = std::make_unique<PlainHttpClient>();
  for (std::size_t first = 0; first < stride; ++first)
    m_senders.emplace_back([this, first, stride] { send_every(first, stride); });
}

void WriteProbe::running(const std::string& entry) {
  std::lock_guard lock(m_mutex);
  auto known = std::find(m_entries.begin(), m_entries.end(), entry);
  if (known == m_entries.end() && m_entries.size() < UINT16_MAX)
    known = m_entries.insert(m_entries.end(), entry);
  m_current = static_cast<std::uint16_t>(known == m_entries.end() ? m_entries.size() - 1
                                                                  : known - m_entries.begin());
}

// Slots first, first + stride, ...: slot k is due at k intervals after the start. A slot
// this sender reaches after the next one was due is missed (counted, never sent late).
void WriteProbe::send_every(std::size_t first_slot, std::size_t stride) {
  try {  // a thread must not throw; a failed sender makes the whole probe untrustworthy
    for (std::size_t slot = first_slot; !m_stop.stop_requested(); slot += stride) {
      const auto due = m_origin + m_spec.interval * static_cast<long long>(slot);
      if (Clock::now() > due + m_spec.interval) {
        std::lock_guard lock(m_mutex);
        ++m_missed;
        continue;
      }
      if (!sleep_until(due) || m_stop.stop_requested()) return;
      auto attempt = send(static_cast<long long>(slot) + 1);
      {
        std::lock_guard lock(m_mutex);
        long long& last =
            attempt.outcome == WriteOutcome::acknowledged ? m_last_acknowledged : m_last_refused;
        last = std::max(last, attempt.seq);
        m_attempts.push_back(attempt);
      }
      m_written.notify_all();
    }
  } catch (const std::exception& e) {
    std::lock_guard lock(m_mutex);
    if (m_failure.empty()) m_failure = fmt::format("a write sender failed: {}", e.what());
  }
}

std::uint16_t WriteProbe::class_index(const std::string& error_class, const std::string& sample) {
  std::lock_guard lock(m_mutex);
  auto known = std::find(m_classes.begin(), m_classes.end(), error_class);
  if (known != m_classes.end()) return static_cast<std::uint16_t>(known - m_classes.begin());
  if (m_classes.size() >= UINT16_MAX) return 0;
  m_classes.push_back(error_class);
  // Redacted whole, then cut: a secret across the cut would leave its first part otherwise.
  std::string text = redact(sample);
  if (text.size() > 160) text = text.substr(0, 160);
  text = valid_utf8(text);
  std::replace(text.begin(), text.end(), '\n', ' ');
  m_samples.push_back(text);
  return static_cast<std::uint16_t>(m_classes.size() - 1);
}

WriteAttempt WriteProbe::send(long long seq) {
  WriteAttempt attempt;
  attempt.seq = seq;
  {
    std::lock_guard lock(m_mutex);
    attempt.entry = m_current;
  }
  const std::string key = key_of(seq);
  HttpRequest request;
  request.method = m_spec.method;
  request.url = m_spec.url;
  request.body = replace_all(replace_all(m_spec.body, "{key}", key), "{seq}", std::to_string(seq));
  request.headers = {{"Content-Type", m_spec.content_type}, {"Idempotency-Key", key}};
  request.connect_timeout = m_spec.timeout;
  request.max_body = 4096;
  const auto sent = Clock::now();
  attempt.sent_ms = static_cast<float>(ms_since(m_origin, sent));
  // Not cancellable: a write in flight is waited for, so its outcome is known.
  auto response = m_lean_client ? m_lean_client->request(request, sent + m_spec.timeout)
                                : http_request(request, sent + m_spec.timeout, nullptr);
  attempt.latency_ms = static_cast<float>(ms_since(sent, Clock::now()));
  if (response) {
    const long status = response->status;
    if (listed(m_spec.ack_status, status, {200, 201})) {
      attempt.outcome = WriteOutcome::acknowledged;
      return attempt;
    }
    attempt.outcome = listed(m_spec.unknown_status, status, {502, 504}) ? WriteOutcome::unknown
                                                                        : WriteOutcome::failed;
    const std::string error_class =
        fmt::format("{}: http {}", outcome_name(attempt.outcome), status);
    attempt.error_class =
        class_index(error_class, response->body.empty() ? "(no body)" : response->body);
    return attempt;
  }
  // Refused or unresolvable: it never reached the service. Anything after the request left
  // (a timeout, a cut or garbled answer) may have committed.
  const auto kind = response.error().kind;
  const bool never_sent = kind == HttpError::Class::refused || kind == HttpError::Class::resolve;
  attempt.outcome = never_sent ? WriteOutcome::failed : WriteOutcome::unknown;
  attempt.error_class =
      class_index(fmt::format("{}: {}", outcome_name(attempt.outcome), http_error_class_name(kind)),
                  response.error().message);
  return attempt;
}

// The run ended while writes were refused: they may be about to come back (a route still
// settling). Keep writing until one is acknowledged, for as long as the gap may last.
void WriteProbe::wait_for_recovery() {
  std::unique_lock lock(m_mutex);
  if (m_last_refused <= m_last_acknowledged) return;
  const long long refused = m_last_refused;
  const auto wait = m_spec.max_write_gap ? *m_spec.max_write_gap : k_recovery_wait;
  m_written.wait_until(lock, Clock::now() + wait,
                       [&] { return m_last_acknowledged > refused || !m_failure.empty(); });
}

void WriteProbe::tally(WriteProbeReport& report) const {
  std::vector<ProbeSample> samples;
  samples.reserve(m_attempts.size());
  for (const auto& attempt : m_attempts) {
    ++report.attempts;
    unsigned column = 0;
    switch (attempt.outcome) {
      case WriteOutcome::acknowledged:
        ++report.acknowledged;
        column = 0;
        break;
      case WriteOutcome::failed:
        ++report.failed;
        column = 1;
        break;
      case WriteOutcome::unknown:
        ++report.unknown;
        column = 2;
        break;
    }
    samples.push_back({attempt.sent_ms, 1U << column, attempt.latency_ms});
    if (attempt.outcome == WriteOutcome::acknowledged) continue;
    ++report.failures_by_entry[m_entries[attempt.entry]];
    const std::string& error_class = m_classes[attempt.error_class];
    ++report.errors_by_class[error_class];
    report.error_samples[error_class] = m_samples[attempt.error_class];
  }
  report.series = probe_series(m_origin_wall, m_spec.interval, m_stopped_ms, samples,
                               {"acknowledged", "failed", "unknown"});
}

void WriteProbe::measure_gap(WriteProbeReport& report) const {
  const WriteAttempt* opened = nullptr;
  auto close = [&](double ended_ms, bool recovered) {
    const double gap = ended_ms - opened->sent_ms;
    if (gap > report.longest_gap_ms || !recovered) {
      report.longest_gap_ms = gap;
      report.longest_gap_during = m_entries[opened->entry];
      report.longest_gap_started =
          m_origin_wall + std::chrono::duration_cast<std::chrono::system_clock::duration>(
                              std::chrono::duration<double, std::milli>(opened->sent_ms));
      report.longest_gap_recovered = recovered;
    }
    opened = nullptr;
  };
  for (const auto& attempt : m_attempts) {
    if (attempt.outcome != WriteOutcome::acknowledged) {
      if (opened == nullptr) opened = &attempt;
    } else if (opened != nullptr) {
      close(attempt.sent_ms + attempt.latency_ms, true);
    }
  }
  // Writes that never came back are the worst gap whatever its length, and a breach.
  if (opened != nullptr) close(m_stopped_ms, false);
  report.gap_exceeded =
      !report.longest_gap_recovered ||
      (m_spec.max_write_gap &&
       report.longest_gap_ms > static_cast<double>(m_spec.max_write_gap->count()));
}

WriteProbeReport WriteProbe::stop(const CancelToken& cancel) {
  running("after the run");
  if (!cancel.stop_requested()) wait_for_recovery();
  stop_senders();
  m_stopped_ms = ms_since(m_origin, Clock::now());
  std::sort(m_attempts.begin(), m_attempts.end(),
            [](const WriteAttempt& a, const WriteAttempt& b) { return a.seq < b.seq; });

  WriteProbeReport report;
  report.url = redact(m_spec.url);
  report.missed_slots = m_missed;
  report.verify_method = m_spec.verify_url.empty() ? "sql" : "url";
  tally(report);
  measure_gap(report);
  verify(report, cancel);
  return report;
}

void WriteProbe::verify(WriteProbeReport& report, const CancelToken& cancel) const {
  auto not_verified = [&](std::string why) {
    report.unverified = report.acknowledged;
    report.not_verified_why = redact(why);
  };
  if (!m_failure.empty()) return not_verified(m_failure);
  if (cancel.stop_requested())
    return not_verified("the run was interrupted before the writes were read back");
  // Nothing acknowledged proves nothing about loss: never a "0 lost" from no evidence.
  if (report.acknowledged == 0)
    return not_verified("no write was acknowledged: there is nothing to read back");
  // Unknown outcomes are read back too: not to judge them, but to say how many landed.
  std::vector<long long> seqs;
  for (const auto& attempt : m_attempts) {
    if (attempt.outcome == WriteOutcome::acknowledged) seqs.push_back(attempt.seq);
  }
  const std::size_t acknowledged = seqs.size();
  for (const auto& attempt : m_attempts) {
    if (attempt.outcome == WriteOutcome::unknown) seqs.push_back(attempt.seq);
  }
  std::vector<std::string> keys;
  keys.reserve(seqs.size());
  for (long long seq : seqs) keys.push_back(key_of(seq));
  const auto started = Clock::now();
  auto presence = read_back(m_spec, m_read_back, keys, started + m_spec.verify_timeout, cancel);
  report.verify_ms = ms_since(started, Clock::now());
  std::string first_error;
  for (std::size_t i = 0; i < keys.size(); ++i) {
    const auto& found = presence[i];
    if (found.copies > 1 && report.duplicate_keys.size() < k_max_listed_keys)
      report.duplicate_keys.push_back(keys[i]);
    if (found.copies > 1) ++report.duplicates;
    if (i >= acknowledged) {
      if (found.copies > 0) ++report.unknown_landed;
      continue;
    }
    if (found.copies < 0) {
      ++report.unverified;
      if (first_error.empty()) first_error = found.error;
      continue;
    }
    ++report.checked;
    if (found.copies == 0) {
      ++report.lost;
      if (report.lost_keys.size() < k_max_listed_keys) report.lost_keys.push_back(keys[i]);
    }
  }
  report.verified = report.unverified == 0;
  if (!report.verified) {
    report.not_verified_why =
        redact(fmt::format("{} of {} acknowledged writes could not be read back (first: {})",
                           report.unverified, report.acknowledged, first_error));
  }
  report.lost_exceeded = report.lost > m_spec.max_lost;
}

nlohmann::json WriteProbeReport::to_json(const WriteProbeSpec& spec) const {
  nlohmann::json out = {
      {"url", url},
      {"interval_ms", spec.interval.count()},
      {"timeout_ms", spec.timeout.count()},
      {"attempts", attempts},
      {"acknowledged", acknowledged},
      {"failed", failed},
      {"unknown", unknown},
      {"missed_slots", missed_slots},
      {"failures_by_entry", failures_by_entry},
      {"errors_by_class", errors_by_class},
      {"error_samples", error_samples},
      {"longest_write_gap_ms", std::round(longest_gap_ms * 1000) / 1000},
      {"longest_write_gap_during",
       longest_gap_ms > 0 ? nlohmann::json(longest_gap_during) : nlohmann::json(nullptr)},
      {"longest_write_gap_started_at", longest_gap_ms > 0
                                           ? nlohmann::json(rfc3339_utc(longest_gap_started))
                                           : nlohmann::json(nullptr)},
      {"longest_write_gap_recovered", longest_gap_recovered},
      {"verification",
       {{"method", verify_method},
        {"verified", verified},
        {"why_not", verified ? nlohmann::json(nullptr) : nlohmann::json(not_verified_why)},
        {"checked", checked},
        {"unverified", unverified},
        {"duration_ms", verify_ms}}},
      // Unknown until verified: a null, never a 0 that reads as "nothing lost".
      {"lost", verified || lost > 0 ? nlohmann::json(lost) : nlohmann::json(nullptr)},
      {"lost_keys", lost_keys},
      {"duplicates", duplicates},
      {"duplicate_keys", duplicate_keys},
      {"unknown_landed", unknown_landed},
      {"max_lost", spec.max_lost},
      {"max_write_gap_ms",
       spec.max_write_gap ? nlohmann::json(spec.max_write_gap->count()) : nlohmann::json(nullptr)},
      {"lost_exceeded", lost_exceeded},
      {"write_gap_exceeded", gap_exceeded},
      {"verdict", write_verdict_name(verdict())},
      {"series", series},
  };
  return out;
}

WriteProbeReport write_probe_report_of(const nlohmann::json& j, WriteProbeSpec& spec) {
  auto counts = [&](const char* key) {
    std::map<std::string, long long> out;
    if (const auto& object = json_member(j, key); object.is_object()) {
      for (const auto& [name, n] : object.items()) {
        if (n.is_number_integer()) out[name] = n.get<long long>();
      }
    }
    return out;
  };
  auto keys = [&](const char* key) {
    std::vector<std::string> out;
    if (const auto& list = json_member(j, key); list.is_array()) {
      for (const auto& k : list) {
        if (k.is_string()) out.push_back(k.get<std::string>());
      }
    }
    return out;
  };
  WriteProbeReport r;
  r.url = spec.url = json_text(j, "url");
  spec.interval = Millis(json_int(j, "interval_ms"));
  spec.timeout = Millis(json_int(j, "timeout_ms"));
  spec.max_lost = json_int(j, "max_lost");
  if (json_member(j, "max_write_gap_ms").is_number_integer())
    spec.max_write_gap = Millis(json_int(j, "max_write_gap_ms"));
  r.attempts = json_int(j, "attempts");
  r.acknowledged = json_int(j, "acknowledged");
  r.failed = json_int(j, "failed");
  r.unknown = json_int(j, "unknown");
  r.missed_slots = json_int(j, "missed_slots");
  r.failures_by_entry = counts("failures_by_entry");
  r.errors_by_class = counts("errors_by_class");
  if (const auto& samples = json_member(j, "error_samples"); samples.is_object()) {
    for (const auto& [name, text] : samples.items()) {
      if (text.is_string()) r.error_samples[name] = text.get<std::string>();
    }
  }
  r.longest_gap_ms = json_number(j, "longest_write_gap_ms");
  r.longest_gap_during = json_text(j, "longest_write_gap_during");
  r.longest_gap_started = parse_rfc3339_utc(json_text(j, "longest_write_gap_started_at"));
  r.longest_gap_recovered = json_bool(j, "longest_write_gap_recovered", true);
  const auto& v = json_member(j, "verification");
  r.verify_method = json_text(v, "method");
  r.verified = json_bool(v, "verified");
  r.not_verified_why = json_text(v, "why_not");
  r.checked = json_int(v, "checked");
  r.unverified = json_int(v, "unverified");
  r.verify_ms = json_number(v, "duration_ms");
  r.lost = json_int(j, "lost");
  r.lost_keys = keys("lost_keys");
  r.duplicates = json_int(j, "duplicates");
  r.duplicate_keys = keys("duplicate_keys");
  r.unknown_landed = json_int(j, "unknown_landed");
  r.lost_exceeded = json_bool(j, "lost_exceeded");
  r.gap_exceeded = json_bool(j, "write_gap_exceeded");
  r.series = json_member(j, "series");
  return r;
}

}  // namespace drctl
