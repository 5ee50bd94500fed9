#include "report/drill_trend.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cmath>

#include "util/json_fields.hpp"

namespace drctl {
namespace {

// A journal may be tampered with: a number that is not finite (1e999 reads as infinity) is
// absent, as is any negative one.
std::optional<double> number_at(const nlohmann::json& object, const char* key) {
  const auto& value = json_member(object, key);
  if (!value.is_number()) return std::nullopt;
  const double number = value.get<double>();
  if (!std::isfinite(number) || number < 0) return std::nullopt;
  return number;
}

std::string ms_text(std::optional<double> ms) {
  if (!ms) return "-";
  if (*ms < 1000) return fmt::format("{:.1f}ms", *ms);
  return fmt::format("{:.2f}s", *ms / 1000);
}

// Columns a cell takes in a terminal: its UTF-8 characters, not bytes ("≥" is three).
std::size_t columns_of(const std::string& text) {
  return static_cast<std::size_t>(std::count_if(text.begin(), text.end(), [](char c) {
    return (static_cast<unsigned char>(c) & 0xC0) != 0x80;
  }));
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
  // Converted only when it fits: a double beyond long long's range (1e300) would be UB.
  if (auto total = number_at(sla, "total_budget_ms"); total && *total < 1e15)
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
    // A number is exact only once every write was read back; before that it is "at least".
    f.writes_verified = json_bool(json_member(writes, "verification"), "verified");
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
              {"verified", f.writes_verified},
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
  for (const auto& f : runs) {
    std::string takeover = ms_text(f.takeover_ms);
    if (f.takeover_ms && f.sla_total_ms && *f.sla_total_ms > 0)
      takeover +=
          fmt::format(" ({:.0f}%)", 100.0 * *f.takeover_ms / static_cast<double>(*f.sla_total_ms));
    std::string lost = "-";
    if (f.write_probe && f.writes_lost && f.writes_verified)
      lost = fmt::format("{} of {}", *f.writes_lost, f.writes_acknowledged);
    else if (f.write_probe && f.writes_lost && *f.writes_lost > 0)
      lost = fmt::format("\u2265{} of {} (not verified)", *f.writes_lost, f.writes_acknowledged);
    else if (f.write_probe)
      lost = "not verified";
    std::string result = f.exit_code ? fmt::format("{} (exit {})", f.result, *f.exit_code)
                                     : std::string("no end: killed, or still running");
    rows.push_back({f.started_at.empty() ? "?" : f.started_at, f.run_id, f.playbook, takeover,
                    ms_text(f.freeze_ms), lost, f.write_probe ? ms_text(f.write_gap_ms) : "-",
                    result});
  }
  std::array<std::size_t, 7> width{};
  for (const auto& row : rows) {
    for (std::size_t i = 0; i < width.size(); ++i)
      width[i] = std::max(width[i], columns_of(row[i]));
  }
  std::string out;
  for (const auto& row : rows) {
    for (std::size_t i = 0; i < width.size(); ++i)
      out += row[i] + std::string(width[i] - columns_of(row[i]) + 2, ' ');
    out += row[7] + "\n";
  }
  // Per playbook (a failback is not compared with a switchover): the latest complete run
  // against the median of its own, the answer to "faster or slower?".
  std::vector<std::string> playbooks;
  for (const auto& f : runs) {
    if (std::find(playbooks.begin(), playbooks.end(), f.playbook) == playbooks.end())
      playbooks.push_back(f.playbook);
  }
  for (const auto& playbook : playbooks) {
    std::vector<double> own_takeovers, own_freezes;
    const DrillFigures* latest = nullptr;
    for (const auto& f : runs) {
      if (f.playbook != playbook) continue;
      if (f.freeze_ms) own_freezes.push_back(*f.freeze_ms);
      if (!f.takeover_ms) continue;
      own_takeovers.push_back(*f.takeover_ms);
      latest = &f;
    }
    if (own_takeovers.size() < 2 || latest == nullptr) continue;
    const double median = *median_of(own_takeovers);
    out += fmt::format("{}: takeover median {} over {} runs; the latest ({}) took {}", playbook,
                       ms_text(median), own_takeovers.size(), latest->run_id,
                       ms_text(latest->takeover_ms));
    // A median of 0 (runs without steps' time) has no percentage.
    if (median > 0)
      out += fmt::format(" ({:+.0f}%)", 100.0 * (*latest->takeover_ms - median) / median);
    if (auto freeze = median_of(own_freezes))
      out += fmt::format("; freeze median {}", ms_text(freeze));
    out += "\n";
  }
  return out;
}

}  // namespace drctl
