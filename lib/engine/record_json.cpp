#include "engine/record_json.hpp"

#include <algorithm>

#include "engine/exit_codes.hpp"

namespace drctl {
namespace {

nlohmann::json totals_of(const std::vector<EntryRecord>& records) {
  nlohmann::json totals = {{"total", records.size()}};
  for (auto status : {Status::ok, Status::failed, Status::timeout, Status::unreachable,
                      Status::invalid_answer, Status::skipped, Status::unknown}) {
    totals[std::string(status_name(status))] = std::count_if(
        records.begin(), records.end(), [&](const EntryRecord& r) { return r.status == status; });
  }
  return totals;
}

nlohmann::json optional_ms(const std::optional<Millis>& value) {
  return value ? nlohmann::json(value->count()) : nlohmann::json(nullptr);
}

// An output is text (what ${steps.*} interpolates and the journal keeps). The report writes
// it as a JSON number or boolean when its text is exactly how JSON writes that value ("199",
// "12.5", "true"; not "007", "1e3" or " 1"), so the value prints back to the same text.
nlohmann::json typed_output(const std::string& text) {
  if (text.empty() ||
      !(text[0] == '-' || (text[0] >= '0' && text[0] <= '9') || text == "true" || text == "false"))
    return text;
  auto value = nlohmann::json::parse(text, nullptr, false);
  if ((value.is_number() || value.is_boolean()) && value.dump() == text) return value;
  return text;
}

}  // namespace

nlohmann::json typed_outputs(const std::map<std::string, std::string>& outputs) {
  nlohmann::json out = nlohmann::json::object();
  for (const auto& [name, text] : outputs) out[name] = typed_output(text);
  return out;
}

nlohmann::json record_to_json(const EntryRecord& record) {
  nlohmann::json j = {
      {"name", record.name},
      {"phase", phase_name(record.phase)},
      {"kind", record.kind},
      {"target", record.target},
      {"action", record.action},
      {"status", status_name(record.status)},
      {"message", record.message},
      {"started_at", rfc3339_utc(record.started.wall)},
      {"finished_at", rfc3339_utc(record.finished.wall)},
      {"duration_ms", to_ms(record.duration)},
      {"attempts", record.attempts},
      {"timeout_ms", record.timeout.count()},
      {"evidence", record.evidence},
      {"outputs", record.outputs},
      {"warnings", record.warnings},
      {"changed", record.changed == Changed::yes  ? "yes"
                  : record.changed == Changed::no ? "no"
                                                  : "unknown"},
  };
  if (record.phase == Phase::step) {
    j["budget_ms"] = optional_ms(record.budget);
    j["budget_pct"] = record.budget && record.budget->count() > 0
                          ? nlohmann::json(100.0 * to_ms(record.duration) /
                                           static_cast<double>(record.budget->count()))
                          : nlohmann::json(nullptr);
    j["budget_exceeded"] = record.budget_exceeded;
    j["journal_wait_ms"] = to_ms(record.journal_wait);
  }
  return j;
}

nlohmann::json report_to_json(const RunReport& report) {
  auto entries = [](const std::vector<EntryRecord>& records) {
    nlohmann::json out = nlohmann::json::array();
    for (const auto& r : records) {
      out.push_back(record_to_json(r));
      out.back()["outputs"] = typed_outputs(r.outputs);
    }
    return out;
  };
  nlohmann::json checks = entries(report.checks);
  nlohmann::json steps = entries(report.steps);
  nlohmann::json rollbacks = entries(report.rollbacks);

  const auto& sla = report.sla;
  std::string verdict = !sla.evaluated           ? "not_evaluated"
                        : sla.breached()         ? "breached"
                        : !sla.writes_verified() ? "not_verified"
                                                 : "met";
  return {
      {"schema", k_report_schema},
      {"run_id", report.run_id},
      {"mode", mode_name(report.mode)},
      {"operator", {{"user", report.operator_user}, {"host", report.operator_host}}},
      {"playbook",
       {{"name", report.playbook_name},
        {"path", report.playbook_path},
        {"hash", report.playbook_hash}}},
      {"started_at", rfc3339_utc(report.started.wall)},
      {"finished_at", rfc3339_utc(report.finished.wall)},
      {"duration_ms", to_ms(report.finished.steady - report.started.steady)},
      {"result", run_result_name(report.result)},
      {"exit_code", report.result == RunResult::unfinished
                        ? nlohmann::json(nullptr)
                        : nlohmann::json(exit_code_for(report.result))},
      {"summary", report.summary},
      {"lock", report.lock},
      {"resumed_from",
       report.resumed_from.empty() ? nlohmann::json(nullptr) : nlohmann::json(report.resumed_from)},
      {"rolls_back",
       report.rolls_back.empty() ? nlohmann::json(nullptr) : nlohmann::json(report.rolls_back)},
      {"confirmation", report.confirmation},
      {"sla",
       {{"total_budget_ms", optional_ms(sla.total_budget)},
        {"steps_elapsed_ms", to_ms(sla.steps_elapsed)},
        {"total_pct", sla.total_budget && sla.total_budget->count() > 0
                          ? nlohmann::json(100.0 * to_ms(sla.counted_elapsed()) /
                                           static_cast<double>(sla.total_budget->count()))
                          : nlohmann::json(nullptr)},
        {"total_exceeded", sla.total_exceeded},
        {"over_budget_steps", sla.over_budget_steps},
        {"approval_wait_ms", to_ms(sla.approval_wait)},
        {"exclude_approvals", sla.exclude_approvals},
        {"on_breach", sla.on_breach == OnBreach::fail ? "fail" : "warn"},
        {"probe", sla.probe && sla.probe_spec ? sla.probe->to_json(*sla.probe_spec)
                                              : nlohmann::json(nullptr)},
        {"write_probe", sla.write_probe && sla.write_probe_spec
                            ? sla.write_probe->to_json(*sla.write_probe_spec)
                            : nlohmann::json(nullptr)},
        {"verdict", verdict}}},
      {"checks", checks},
      {"steps", steps},
      {"rollbacks", rollbacks},
      {"totals",
       {{"checks", totals_of(report.checks)},
        {"steps", totals_of(report.steps)},
        {"rollbacks", totals_of(report.rollbacks)}}},
  };
}

}  // namespace drctl
