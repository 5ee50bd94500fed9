#include "report/journal_report.hpp"

#include <algorithm>
#include <chrono>

#include "util/json_fields.hpp"

namespace drctl {
namespace {

Status status_named(const std::string& name) {
  for (Status s : {Status::ok, Status::failed, Status::timeout, Status::unreachable,
                   Status::invalid_answer, Status::skipped}) {
    if (status_name(s) == name) return s;
  }
  return Status::failed;
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

Instant at(const std::string& text) {
  Instant instant;
  instant.wall = parse_rfc3339_utc(text);
  return instant;
}

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
  // Clamped to [0, 1 year]: a corrupt value must not overflow the nanosecond count.
  double ms = std::clamp(json_number(line, "duration_ms"), 0.0, 365.0 * 24 * 3600 * 1000);
  record.duration = std::chrono::duration_cast<std::chrono::nanoseconds>(
      std::chrono::duration<double, std::milli>(ms));
  record.attempts = json_int(line, "attempts");
  if (line.contains("budget_ms") && line["budget_ms"].is_number()) {
    record.budget = Millis(static_cast<long long>(
        std::clamp(line["budget_ms"].get<double>(), 0.0, 365.0 * 24 * 3600 * 1000)));
  }
  record.budget_exceeded = json_bool(line, "budget_exceeded");
  if (line.contains("evidence")) record.evidence = line["evidence"];
  return record;
}

}  // namespace

RunReport journal_report(const std::vector<nlohmann::json>& lines) {
  RunReport report;
  std::vector<std::pair<Phase, std::string>> open;  // started, not yet finished
  for (const auto& line : lines) {
    const std::string type = json_text(line, "type");
    if (type == "run_started") {
      report.run_id = json_text(line, "run_id");
      report.mode = mode_named(json_text(line, "mode"));
      if (line.contains("playbook") && line["playbook"].is_object()) {
        report.playbook_name = json_text(line["playbook"], "name");
        report.playbook_path = json_text(line["playbook"], "path");
        report.playbook_hash = json_text(line["playbook"], "hash");
      }
      report.started = report.finished = at(json_text(line, "started_at"));
      report.resumed_from = json_text(line, "resumed_from");
      report.rolls_back = json_text(line, "rolls_back");
    } else if (type == "entry_started") {
      open.emplace_back(phase_named(json_text(line, "phase")), json_text(line, "name"));
    } else if (type == "entry_finished") {
      EntryRecord record = record_of(line);
      open.erase(std::remove(open.begin(), open.end(), std::make_pair(record.phase, record.name)),
                 open.end());
      report.finished = record.finished;
      auto& list = record.phase == Phase::check  ? report.checks
                   : record.phase == Phase::step ? report.steps
                                                 : report.rollbacks;
      list.push_back(std::move(record));
    } else if (type == "run_finished" && line.contains("report")) {
      report.summary = json_text(line["report"], "summary");
      report.finished = at(json_text(line["report"], "finished_at"));
    }
  }
  for (const auto& [phase, name] : open) {
    EntryRecord record;
    record.phase = phase;
    record.name = name;
    record.status = Status::failed;
    record.message = "no end in the journal: the process was killed, or is still running";
    auto& list = phase == Phase::check  ? report.checks
                 : phase == Phase::step ? report.steps
                                        : report.rollbacks;
    list.push_back(std::move(record));
  }
  report.finished.steady = report.started.steady + (report.finished.wall - report.started.wall);
  return report;
}

}  // namespace drctl
