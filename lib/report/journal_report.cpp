#include "report/journal_report.hpp"

#include <algorithm>
#include <chrono>

namespace drctl {
namespace {

Status status_named(const std::string& name) {
  for (Status s : {Status::ok, Status::failed, Status::timeout, Status::unreachable, Status::invalid_answer, Status::skipped}) {
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
  record.phase = phase_named(line.value("phase", ""));
  record.name = line.value("name", "");
  record.kind = line.value("kind", "");
  record.target = line.value("target", "");
  record.action = line.value("action", "");
  record.status = status_named(line.value("status", ""));
  record.message = line.value("message", "");
  record.started = at(line.value("started_at", ""));
  record.finished = at(line.value("finished_at", ""));
  record.duration = std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::duration<double, std::milli>(line.value("duration_ms", 0.0)));
  record.attempts = line.value("attempts", 0);
  if (line.contains("budget_ms") && line["budget_ms"].is_number()) record.budget = Millis(line["budget_ms"].get<long long>());
  record.budget_exceeded = line.value("budget_exceeded", false);
  if (line.contains("evidence")) record.evidence = line["evidence"];
  return record;
}

}  // namespace

RunReport journal_report(const std::vector<nlohmann::json>& lines) {
  RunReport report;
  std::vector<std::pair<Phase, std::string>> open;  // started, not yet finished
  for (const auto& line : lines) {
    const std::string type = line.value("type", "");
    if (type == "run_started") {
      report.run_id = line.value("run_id", "");
      report.mode = mode_named(line.value("mode", ""));
      if (line.contains("playbook") && line["playbook"].is_object()) {
        report.playbook_name = line["playbook"].value("name", "");
        report.playbook_path = line["playbook"].value("path", "");
        report.playbook_hash = line["playbook"].value("hash", "");
      }
      report.started = report.finished = at(line.value("started_at", ""));
      report.resumed_from = line.value("resumed_from", "");
      report.rolls_back = line.value("rolls_back", "");
    } else if (type == "entry_started") {
      open.emplace_back(phase_named(line.value("phase", "")), line.value("name", ""));
    } else if (type == "entry_finished") {
      EntryRecord record = record_of(line);
      open.erase(std::remove(open.begin(), open.end(), std::make_pair(record.phase, record.name)), open.end());
      report.finished = record.finished;
      auto& list = record.phase == Phase::check ? report.checks : record.phase == Phase::step ? report.steps : report.rollbacks;
      list.push_back(std::move(record));
    } else if (type == "run_finished" && line.contains("report")) {
      report.summary = line["report"].value("summary", "");
      report.finished = at(line["report"].value("finished_at", ""));
    }
  }
  for (const auto& [phase, name] : open) {
    EntryRecord record;
    record.phase = phase;
    record.name = name;
    record.status = Status::failed;
    record.message = "no end in the journal: the process was killed, or is still running";
    auto& list = phase == Phase::check ? report.checks : phase == Phase::step ? report.steps : report.rollbacks;
    list.push_back(std::move(record));
  }
  report.finished.steady = report.started.steady + (report.finished.wall - report.started.wall);
  return report;
}

}  // namespace drctl
