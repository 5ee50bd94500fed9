#include "report/drill_trend.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>

#include "util/json_fields.hpp"

namespace drctl {
namespace {

std::optional<double> number_at(const nlohmann::json& object, const char* key) {
  const auto& value = json_member(object, key);
  if (!value.is_number()) return std::nullopt;
  return value.get<double>();
}

std::string ms_text(std::optional<double> ms) {
  if (!ms) return "-";
  if (*ms < 1000) return fmt::format("{:.1f}ms", *ms);
  return fmt::format("{:.2f}s", *ms / 1000);
}

std::optional<double> median_of(std::vector<double> values) {
  if (values.empty()) return std::nullopt;
  std::sort(values.begin(), values.end());
  const std::size_t mid = values.size() / 2;
  return values.size() % 2 ? values[mid] : (values[mid - 1] + values[mid]) / 2;
}

}  // namespace

DrillFigures drill_figures(const std::string& run_id, const nlohmann::json& report) {
  DrillFigures f;
  f.run_id = run_id;
  if (!report.is_object()) return f;
  f.started_at = json_text(report, "started_at");
  f.playbook = json_text(json_member(report, "playbook"), "name");
  f.mode = json_text(report, "mode");
  f.result = json_text(report, "result");
  if (json_member(report, "exit_code").is_number_integer())
    f.exit_code = static_cast<int>(json_int(report, "exit_code"));
  const auto& sla = json_member(report, "sla");
  // Only a run whose steps all ran has a takeover time worth comparing.
  if (json_text(sla, "verdict") != "not_evaluated")
    f.takeover_ms = number_at(sla, "steps_elapsed_ms");
  if (auto total = number_at(sla, "total_budget_ms"))
    f.sla_total_ms = static_cast<long long>(*total);
  if (const auto& steps = json_member(report, "steps"); steps.is_array()) {
    for (const auto& step : steps) {
      if (json_text(step, "kind") != "mysql_switchover") continue;
      if (auto freeze = number_at(json_member(step, "evidence"), "freeze_ms"))
        f.freeze_ms = std::max(f.freeze_ms.value_or(0), *freeze);
    }
  }
  if (const auto& writes = json_member(sla, "write_probe"); writes.is_object()) {
    f.write_probe = true;
    f.writes_acknowledged = json_int(writes, "acknowledged");
    if (json_member(writes, "lost").is_number_integer()) f.writes_lost = json_int(writes, "lost");
    f.write_gap_ms = json_number(writes, "longest_write_gap_ms");
  }
  return f;
}

nlohmann::json drill_figures_json(const DrillFigures& f) {
  auto optional = [](const auto& value) {
    return value ? nlohmann::json(*value) : nlohmann::json(nullptr);
  };
  nlohmann::json writes = nullptr;
  if (f.write_probe) {
    writes = {{"acknowledged", f.writes_acknowledged},
              {"lost", optional(f.writes_lost)},
              {"verified", f.writes_lost.has_value()},
              {"longest_write_gap_ms", f.write_gap_ms}};
  }
  return {{"run_id", f.run_id},
          {"started_at", f.started_at},
          {"playbook", f.playbook},
          {"mode", f.mode},
          {"result", f.result.empty() ? nlohmann::json(nullptr) : nlohmann::json(f.result)},
          {"exit_code", optional(f.exit_code)},
          {"takeover_ms", optional(f.takeover_ms)},
          {"sla_total_ms", optional(f.sla_total_ms)},
          {"freeze_ms", optional(f.freeze_ms)},
          {"writes", writes}};
}

std::string drill_trend_text(const std::vector<DrillFigures>& runs) {
  std::vector<std::array<std::string, 8>> rows{
      {"STARTED", "RUN ID", "PLAYBOOK", "TAKEOVER", "FREEZE", "LOST", "WRITE GAP", "RESULT"}};
  std::vector<double> takeovers, freezes;
  for (const auto& f : runs) {
    std::string takeover = ms_text(f.takeover_ms);
    if (f.takeover_ms && f.sla_total_ms)
      takeover +=
          fmt::format(" ({:.0f}%)", 100.0 * *f.takeover_ms / static_cast<double>(*f.sla_total_ms));
    std::string lost = !f.write_probe ? "-"
                       : f.writes_lost
                           ? fmt::format("{} of {}", *f.writes_lost, f.writes_acknowledged)
                           : "not verified";
    std::string result = f.exit_code ? fmt::format("{} (exit {})", f.result, *f.exit_code)
                                     : std::string("no end: killed, or still running");
    rows.push_back({f.started_at.empty() ? "?" : f.started_at, f.run_id, f.playbook, takeover,
                    ms_text(f.freeze_ms), lost, f.write_probe ? ms_text(f.write_gap_ms) : "-",
                    result});
    if (f.takeover_ms) takeovers.push_back(*f.takeover_ms);
    if (f.freeze_ms) freezes.push_back(*f.freeze_ms);
  }
  std::array<std::size_t, 7> width{};
  for (const auto& row : rows) {
    for (std::size_t i = 0; i < width.size(); ++i) width[i] = std::max(width[i], row[i].size());
  }
  std::string out;
  for (const auto& row : rows) {
    for (std::size_t i = 0; i < width.size(); ++i) out += fmt::format("{:<{}}  ", row[i], width[i]);
    out += row[7] + "\n";
  }
  // The latest complete run against the median of all: the answer to "faster or slower?".
  auto latest = std::find_if(runs.rbegin(), runs.rend(),
                             [](const DrillFigures& f) { return f.takeover_ms.has_value(); });
  if (takeovers.size() >= 2 && latest != runs.rend()) {
    const double median = *median_of(takeovers);
    out +=
        fmt::format("takeover: median {} over {} runs; the latest ({}) took {} ({:+.0f}%)",
                    ms_text(median), takeovers.size(), latest->run_id, ms_text(latest->takeover_ms),
                    100.0 * (*latest->takeover_ms - median) / median);
    if (auto freeze = median_of(freezes)) out += fmt::format("; freeze median {}", ms_text(freeze));
    out += "\n";
  }
  return out;
}

}  // namespace drctl
