#include "report/journal_report.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>

#include "util/json_dump.hpp"
#include "util/json_fields.hpp"

namespace drctl {
namespace {

constexpr double k_year_ms = 365.0 * 24 * 3600 * 1000;

Status status_named(const std::string& name) {
  for (Status s : {Status::ok, Status::failed, Status::timeout, Status::unreachable,
                   Status::invalid_answer, Status::skipped, Status::unknown}) {
    if (status_name(s) == name) return s;
  }
  return Status::unknown;
}

Phase phase_named(const std::string& name) {
  if (name == "check") return Phase::check;
  if (name == "rollback") return Phase::rollback;
  return Phase::step;
}

Mode mode_named(const std::string& name) {
  for (Mode m : {Mode::run, Mode::dry_run, Mode::check, Mode::rollback}) {
    if (mode_name(m) == name) return m;
  }
  return Mode::run;
}

RunResult result_named(const std::string& name) {
  for (RunResult r : {RunResult::success, RunResult::checks_failed, RunResult::rolled_back,
                      RunResult::partial, RunResult::sla_breached, RunResult::interrupted,
                      RunResult::lock_held, RunResult::lock_lost, RunResult::journal_failed,
                      RunResult::not_verified, RunResult::declined, RunResult::would_refuse}) {
    if (run_result_name(r) == name) return r;
  }
  return RunResult::unfinished;
}

Instant at(const std::string& text) {
  Instant instant;
  instant.wall = parse_rfc3339_utc(text);
  return instant;
}

// Clamped to [0, 1 year]: a corrupt value must not overflow the nanosecond count.
std::chrono::nanoseconds ms_duration(double ms) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
      std::chrono::duration<double, std::milli>(std::clamp(ms, 0.0, k_year_ms)));
}

std::optional<Millis> optional_ms(const nlohmann::json& value) {
  if (!value.is_number()) return std::nullopt;
  return Millis(static_cast<long long>(std::clamp(value.get<double>(), 0.0, k_year_ms)));
}

std::vector<std::string> texts(const nlohmann::json& list) {
  std::vector<std::string> out;
  if (!list.is_array()) return out;
  for (const auto& item : list) {
    if (item.is_string()) out.push_back(item.get<std::string>());
  }
  return out;
}

// An entry as record_to_json writes it (a journal line, or an entry of a report).
EntryRecord record_of(const nlohmann::json& line) {
  EntryRecord record;
  record.phase = phase_named(json_text(line, "phase"));
  record.name = json_text(line, "name");
  record.kind = json_text(line, "kind");
  record.target = json_text(line, "target");
  record.action = json_text(line, "action");
  record.status = status_named(json_text(line, "status"));
  record.message = json_text(line, "message");
  record.started = at(json_text(line, "started_at"));
  record.finished = at(json_text(line, "finished_at"));
  record.duration = ms_duration(json_number(line, "duration_ms"));
  record.attempts = static_cast<int>(json_int(line, "attempts"));
  record.timeout = optional_ms(json_member(line, "timeout_ms")).value_or(Millis(0));
  record.budget = optional_ms(json_member(line, "budget_ms"));
  record.budget_exceeded = json_bool(line, "budget_exceeded");
  record.journal_wait = ms_duration(json_number(line, "journal_wait_ms"));
  if (line.contains("evidence") && line["evidence"].is_object()) record.evidence = line["evidence"];
  // A report's outputs are typed ("revision": 199); the record keeps their text.
  if (const auto& outputs = json_member(line, "outputs"); outputs.is_object()) {
    for (const auto& [name, value] : outputs.items())
      record.outputs[name] = value.is_string() ? value.get<std::string>() : dump_json(value);
  }
  record.warnings = texts(json_member(line, "warnings"));
  const std::string changed = json_text(line, "changed");
  record.changed = changed == "yes"  ? Changed::yes
                   : changed == "no" ? Changed::no
                                     : Changed::unknown;
  record.done_in_run = json_text(line, "done_in_run");
  return record;
}

std::vector<EntryRecord> records_of(const nlohmann::json& list) {
  std::vector<EntryRecord> out;
  if (!list.is_array()) return out;
  for (const auto& item : list) out.push_back(record_of(item));
  return out;
}

ProbeReport probe_of(const nlohmann::json& j, ProbeSpec& spec) {
  spec.url = json_text(j, "url");
  spec.interval = optional_ms(json_member(j, "interval_ms")).value_or(spec.interval);
  spec.p99 = optional_ms(json_member(j, "p99_budget_ms"));
  if (json_member(j, "max_error_rate").is_number())
    spec.max_error_rate = json_number(j, "max_error_rate");
  ProbeReport probe;
  probe.url = spec.url;
  probe.requests = json_int(j, "requests");
  probe.errors = json_int(j, "errors");
  probe.abandoned = json_int(j, "abandoned_at_stop");
  const auto& latency = json_member(j, "latency");
  probe.latency.samples =
      static_cast<std::size_t>(std::max<std::int64_t>(0, json_int(latency, "samples")));
  probe.latency.p50 = json_number(latency, "p50_ms");
  probe.latency.p90 = json_number(latency, "p90_ms");
  probe.latency.p99 = json_number(latency, "p99_ms");
  probe.latency.max = json_number(latency, "max_ms");
  probe.latency.mean = json_number(latency, "mean_ms");
  probe.longest_streak = json_int(j, "longest_error_streak");
  probe.longest_streak_ms = json_number(j, "longest_error_streak_ms");
  probe.longest_streak_during = json_text(j, "longest_error_streak_during");
  if (const auto& by_entry = json_member(j, "errors_by_entry"); by_entry.is_object()) {
    for (const auto& [entry, count] : by_entry.items())
      if (count.is_number_integer()) probe.errors_by_entry[entry] = count.get<long long>();
  }
  probe.p99_exceeded = json_bool(j, "p99_exceeded");
  probe.error_rate_exceeded = json_bool(j, "error_rate_exceeded");
  probe.series = json_member(j, "series");
  return probe;
}

void header_of(const nlohmann::json& j, RunReport& report) {
  report.run_id = json_text(j, "run_id");
  // run_started names them as host/user; a report, as operator.
  const auto& by = json_member(j, "operator");
  report.operator_user = json_text(by, "user", json_text(j, "user"));
  report.operator_host = json_text(by, "host", json_text(j, "host"));
  report.mode = mode_named(json_text(j, "mode"));
  const auto& playbook = json_member(j, "playbook");
  report.playbook_name = json_text(playbook, "name");
  report.playbook_path = json_text(playbook, "path");
  report.playbook_hash = json_text(playbook, "hash");
  report.started = report.finished = at(json_text(j, "started_at"));
  report.resumed_from = json_text(j, "resumed_from");
  report.rolls_back = json_text(j, "rolls_back");
}

std::vector<EntryRecord>& section(RunReport& report, Phase phase) {
  return phase == Phase::check  ? report.checks
         : phase == Phase::step ? report.steps
                                : report.rollbacks;
}

}  // namespace

RunReport report_from_json(const nlohmann::json& doc) {
  RunReport report;
  header_of(doc, report);
  report.finished = at(json_text(doc, "finished_at"));
  report.finished.steady = report.started.steady + ms_duration(json_number(doc, "duration_ms"));
  report.result = result_named(json_text(doc, "result"));
  report.summary = json_text(doc, "summary");
  report.lock = json_member(doc, "lock");
  report.confirmation = json_member(doc, "confirmation");
  report.fencing_token = json_text(report.lock, "fencing_token");
  const auto& sla = json_member(doc, "sla");
  report.sla.total_budget = optional_ms(json_member(sla, "total_budget_ms"));
  report.sla.steps_elapsed = ms_duration(json_number(sla, "steps_elapsed_ms"));
  report.sla.approval_wait = ms_duration(json_number(sla, "approval_wait_ms"));
  report.sla.exclude_approvals = json_bool(sla, "exclude_approvals");
  report.sla.evaluated = json_text(sla, "verdict", "not_evaluated") != "not_evaluated";
  report.sla.total_exceeded = json_bool(sla, "total_exceeded");
  report.sla.over_budget_steps = texts(json_member(sla, "over_budget_steps"));
  report.sla.on_breach = json_text(sla, "on_breach") == "warn" ? OnBreach::warn : OnBreach::fail;
  if (const auto& probe = json_member(sla, "probe"); probe.is_object()) {
    ProbeSpec spec;
    report.sla.probe = probe_of(probe, spec);
    report.sla.probe_spec = spec;
  }
  if (const auto& probe = json_member(sla, "write_probe"); probe.is_object()) {
    WriteProbeSpec spec;
    report.sla.write_probe = write_probe_report_of(probe, spec);
    report.sla.write_probe_spec = spec;
  }
  report.checks = records_of(json_member(doc, "checks"));
  report.steps = records_of(json_member(doc, "steps"));
  report.rollbacks = records_of(json_member(doc, "rollbacks"));
  report.planned_checks = report.checks.size();
  report.planned_steps = report.steps.size();
  return report;
}

RunReport journal_report(const std::vector<nlohmann::json>& lines) {
  for (const auto& line : lines) {
    if (json_text(line, "type") == "run_finished" && json_member(line, "report").is_object())
      return report_from_json(line["report"]);
  }
  RunReport report;
  report.result = RunResult::unfinished;
  // Entries in the order they started; one that started and never finished stays `unknown`.
  std::vector<EntryRecord> entries;
  for (const auto& line : lines) {
    const std::string type = json_text(line, "type");
    if (type == "run_started") {
      header_of(line, report);
    } else if (type == "entry_started") {
      EntryRecord record;
      record.phase = phase_named(json_text(line, "phase"));
      record.name = json_text(line, "name");
      record.kind = json_text(line, "kind");
      record.started = record.finished = at(json_text(line, "started_at"));
      record.status = Status::unknown;
      record.message =
          fmt::format("started at {} and has no end in the journal: what it did is unknown",
                      json_text(line, "started_at"));
      record.evidence = {{"error", "no_end"}};
      if (report.finished.wall < record.started.wall) report.finished = record.started;
      entries.push_back(std::move(record));
    } else if (type == "entry_finished") {
      EntryRecord record = record_of(line);
      if (report.finished.wall < record.finished.wall) report.finished = record.finished;
      auto open = std::find_if(entries.rbegin(), entries.rend(), [&](const EntryRecord& e) {
        return e.status == Status::unknown && e.phase == record.phase && e.name == record.name;
      });
      if (open != entries.rend()) {
        *open = std::move(record);
      } else {
        entries.push_back(std::move(record));
      }
    }
  }
  std::vector<std::string> unfinished;
  for (auto& record : entries) {
    if (record.status == Status::unknown)
      unfinished.push_back(fmt::format("{} '{}'", phase_name(record.phase), record.name));
    section(report, record.phase).push_back(std::move(record));
  }
  report.planned_checks = report.checks.size();
  report.planned_steps = report.steps.size();
  report.summary =
      unfinished.empty()
          ? "the journal has no end: the run stopped between entries, or is still running"
          : fmt::format("the journal has no end: the run stopped in {}, whose effect is unknown",
                        fmt::join(unfinished, ", "));
  report.finished.steady = report.started.steady + (report.finished.wall - report.started.wall);
  return report;
}

}  // namespace drctl
