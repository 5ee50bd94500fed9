// The HTML report's timeline: one SVG Gantt of every entry, and under it the probes' series,
// all on one x-axis (the same left edge and milliseconds per pixel), so a write gap lines up
// with the step that caused it. The geometry is exact and exposed (data-ms-per-px, data-left,
// data-min-width, each bar's data-start-ms and data-duration-ms): x = left + start / ms_per_px,
// width = max(duration / ms_per_px, min_width).
#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <iterator>
#include <limits>
#include <vector>

#include "report/html_parts.hpp"
#include "util/clock.hpp"
#include "util/json_fields.hpp"

namespace drctl::html {
namespace {

using nlohmann::json;

// 900 units wide: on A4 (~700 CSS px) the 11-unit text still prints at ~6 pt.
constexpr double k_left = 190;   // the labels' column
constexpr double k_plot = 640;   // the time axis
constexpr double k_width = 900;  // viewBox width: labels, axis, room for the last bar's labels
constexpr double k_min_bar = 2;  // a 0.3 ms check is still seen
constexpr double k_row = 18;     // one entry
constexpr double k_bar = 11;     // its bar's height
constexpr double k_lane = 22;    // a section's label (checks, steps, rollbacks)
constexpr double k_top = 40;     // tick labels and the windows' labels
constexpr std::size_t k_name_bytes = 30;

struct Axis {
  double origin = 0;  // epoch ms at x = k_left
  double span = 1;    // ms from the left edge to the right edge
  double ms_per_px = 1;
  double x(double offset_ms) const { return k_left + offset_ms / ms_per_px; }
  double right() const { return k_left + k_plot; }
};

// One bar of the Gantt: an entry of the report, in journal order.
struct Bar {
  const json* entry = nullptr;
  std::string phase;
  std::string name;
  std::string status;
  std::optional<double> started;  // epoch ms
  double start_ms = 0;            // from the axis' origin
  double duration_ms = 0;
  std::optional<double> budget_ms;
  bool budget_exceeded = false;
  long long attempts = 1;
};

// A length in ms read from a report (a journal may be tampered with: 1e300, 1e999 read as
// infinity): negative and non-finite values read as 0.
double finite_ms(double value) {
  return std::isfinite(value) ? std::max(0.0, value) : 0.0;
}

// Text in SVG attributes: three decimals are far finer than a pixel.
std::string num(double value) {
  return fmt::format("{:.3f}", value);
}

std::vector<Bar> bars_of(const json& report) {
  std::vector<Bar> bars;
  for (const auto& [section, phase] : {std::pair{"checks", "check"}, std::pair{"steps", "step"},
                                       std::pair{"rollbacks", "rollback"}}) {
    const json& list = json_member(report, section);
    if (!list.is_array()) continue;
    for (const auto& entry : list) {
      if (!entry.is_object()) continue;
      Bar bar;
      bar.entry = &entry;
      bar.phase = json_text(entry, "phase", phase);
      bar.name = json_text(entry, "name");
      bar.status = json_text(entry, "status", "unknown");
      bar.started = epoch_ms(entry, "started_at");
      bar.duration_ms = finite_ms(json_number(entry, "duration_ms"));
      if (const json& budget = json_member(entry, "budget_ms"); budget.is_number())
        bar.budget_ms = finite_ms(budget.get<double>());
      bar.budget_exceeded = json_bool(entry, "budget_exceeded");
      bar.attempts = std::max<std::int64_t>(1, json_int(entry, "attempts", 1));
      bars.push_back(std::move(bar));
    }
  }
  return bars;
}

// From the run's start to its end; widened (never narrowed) to hold every entry, should a
// wall-clock step have put one outside.
Axis axis_of(const json& report, std::vector<Bar>& bars) {
  constexpr double inf = std::numeric_limits<double>::infinity();
  double low = epoch_ms(report, "started_at").value_or(inf);
  double high = epoch_ms(report, "finished_at").value_or(-inf);
  for (const auto& bar : bars) {
    if (!bar.started) continue;
    low = std::min(low, *bar.started);
    high = std::max(
        {high, *bar.started + bar.duration_ms, epoch_ms(*bar.entry, "finished_at").value_or(-inf)});
  }
  if (low == inf) low = high == -inf ? 0 : high;
  if (high < low) high = low;
  Axis axis;
  axis.origin = low;
  axis.span = std::max(high - low, 1.0);
  axis.ms_per_px = axis.span / k_plot;
  for (auto& bar : bars) bar.start_ms = bar.started ? *bar.started - axis.origin : 0;
  return axis;
}

// 1, 2 or 5 times a power of ten: about `target` ticks over the span.
double tick_step(double span, int target = 8) {
  const double raw = span / target;
  const double power = std::pow(10.0, std::floor(std::log10(raw)));
  for (double m : {1.0, 2.0, 5.0}) {
    if (m * power >= raw) return m * power;
  }
  return 10 * power;
}

std::string tick_label(double offset_ms, double step, double span) {
  if (span < 2000) return fmt::format("+{:.0f} ms", offset_ms);
  return step >= 1000 ? fmt::format("+{:.0f} s", offset_ms / 1000)
                      : fmt::format("+{:.1f} s", offset_ms / 1000);
}

// Vertical grid lines from y0 to y1, labelled at label_y.
void ticks(std::string& out, const Axis& axis, double y0, double y1, double label_y) {
  const double step = tick_step(axis.span);
  for (double t = 0; t <= axis.span + step * 1e-6; t += step) {
    const double x = axis.x(t);
    fmt::format_to(std::back_inserter(out),
                   "<line class=\"grid\" x1=\"{0}\" x2=\"{0}\" y1=\"{1}\" y2=\"{2}\"/>"
                   "<text class=\"tick\" x=\"{0}\" y=\"{3}\">{4}</text>\n",
                   num(x), num(y0), num(y1), num(label_y), tick_label(t, step, axis.span));
  }
}

// The SLA window and the longest write gap, as bands across a chart from y0 to y1.
struct Windows {
  std::optional<std::pair<double, double>> sla;  // offset ms from the origin, length ms
  std::optional<std::pair<double, double>> gap;
};

Windows windows_of(const json& report, const Axis& axis, const std::vector<Bar>& bars) {
  Windows windows;
  const json& sla = json_member(report, "sla");
  if (const json& total = json_member(sla, "total_budget_ms"); total.is_number()) {
    auto first_step =
        std::find_if(bars.begin(), bars.end(), [](const Bar& b) { return b.phase == "step"; });
    if (first_step != bars.end() && first_step->started)
      windows.sla = std::pair{first_step->start_ms, finite_ms(total.get<double>())};
  }
  const json& writes = json_member(sla, "write_probe");
  const double gap_ms = finite_ms(json_number(writes, "longest_write_gap_ms"));
  if (auto at = epoch_ms(writes, "longest_write_gap_started_at"); at && gap_ms > 0)
    windows.gap = std::pair{*at - axis.origin, gap_ms};
  return windows;
}

// The bands (under everything else), labelled when `labels`.
void bands(std::string& out, const Axis& axis, const Windows& windows, double y0, double y1,
           bool labels) {
  auto clamp_x = [&](double x) { return std::clamp(x, k_left, axis.right()); };
  if (windows.sla) {
    const auto [from, length] = *windows.sla;
    const double x0 = clamp_x(axis.x(from)), x1 = clamp_x(axis.x(from + length));
    const bool ends_after = axis.x(from + length) > axis.right();
    fmt::format_to(std::back_inserter(out),
                   "<rect class=\"sla-window\" x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" "
                   "data-start-ms=\"{}\" data-duration-ms=\"{}\"/>\n",
                   num(x0), num(y0), num(std::max(x1 - x0, 0.0)), num(y1 - y0), num(from),
                   num(length));
    if (!ends_after)
      fmt::format_to(std::back_inserter(out),
                     "<line class=\"sla-end\" x1=\"{0}\" x2=\"{0}\" y1=\"{1}\" y2=\"{2}\"/>\n",
                     num(x1), num(y0), num(y1));
    if (labels)
      fmt::format_to(std::back_inserter(out),
                     "<text class=\"window-label sla\" x=\"{}\" y=\"{}\">SLA window {}{}</text>\n",
                     num(x0 + 3), num(y0 + 11), escape(short_duration(length)),
                     ends_after ? " (ends after the run)" : "");
  }
  if (windows.gap) {
    const auto [from, length] = *windows.gap;
    const double x0 = clamp_x(axis.x(from));
    const double x1 = clamp_x(std::max(axis.x(from + length), axis.x(from) + 1));
    fmt::format_to(std::back_inserter(out),
                   "<rect class=\"gap\" x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" "
                   "data-start-ms=\"{}\" data-duration-ms=\"{}\"/>\n",
                   num(x0), num(y0), num(std::max(x1 - x0, 0.0)), num(y1 - y0), num(from),
                   num(length));
    if (labels)
      fmt::format_to(std::back_inserter(out),
                     "<text class=\"window-label gap-label\" x=\"{}\" y=\"{}\">longest write gap "
                     "{}</text>\n",
                     num(x0 + 3), num(y0 + 24), escape(short_duration(length)));
  }
}

// The <svg> element of a chart on the shared axis, with its geometry exposed.
std::string svg_open(const char* classes, double height, const Axis& axis, const char* label) {
  // The origin is a parsed timestamp (years 1970 to 2200), so its conversion to the clock's
  // integer count cannot overflow; checked anyway, as a double out of range would be UB.
  const double origin =
      std::isfinite(axis.origin) && std::abs(axis.origin) < 1e15 ? axis.origin : 0;
  return fmt::format(
      "<svg class=\"{}\" viewBox=\"0 0 {} {}\" width=\"100%\" preserveAspectRatio=\"xMinYMin "
      "meet\" role=\"img\" aria-label=\"{}\" data-ms-per-px=\"{}\" data-left=\"{}\" "
      "data-plot-width=\"{}\" data-min-width=\"{}\" data-origin=\"{}\" data-span-ms=\"{}\">\n",
      classes, k_width, num(height), label, axis.ms_per_px, k_left, k_plot, k_min_bar,
      rfc3339_utc(WallTime(std::chrono::duration_cast<WallTime::duration>(
          std::chrono::duration<double, std::milli>(origin)))),
      num(axis.span));
}

void bar_row(std::string& out, const Bar& bar, std::size_t index, double top, const Axis& axis) {
  const double y = top + (k_row - k_bar) / 2;
  const double x = axis.x(bar.start_ms);
  const double width = std::max(bar.duration_ms / axis.ms_per_px, k_min_bar);
  const std::string name = escape(bar.name);
  const char* tone = tone_of(bar.status);
  auto it = std::back_inserter(out);
  fmt::format_to(it, "<g class=\"row\"><title>{} {}: {} in {}{}</title>", escape(bar.phase), name,
                 escape(bar.status), ms_text(bar.duration_ms),
                 bar.attempts > 1 ? fmt::format(" after {} attempts", bar.attempts) : "");
  fmt::format_to(it, "<text class=\"label\" x=\"{}\" y=\"{}\">{}</text>", num(k_left - 8),
                 num(y + k_bar - 2), escape(clip(bar.name, k_name_bytes)));
  fmt::format_to(
      it,
      "<rect class=\"bar {} {}{}\" data-phase=\"{}\" data-name=\"{}\" data-index=\"{}\" "
      "data-status=\"{}\" data-attempts=\"{}\" data-start-ms=\"{}\" "
      "data-duration-ms=\"{}\" x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" rx=\"1.5\"/>",
      tone, class_token(bar.status), bar.attempts > 1 ? " retried" : "", escape(bar.phase), name,
      index, escape(bar.status), bar.attempts, num(bar.start_ms), num(bar.duration_ms), num(x),
      num(y), num(width), num(k_bar));
  double after = x + width + 4;
  if (bar.attempts > 1) {
    // Stripes over the bar and "×N" beside it: the time includes the failed attempts.
    fmt::format_to(it,
                   "<rect class=\"retry\" x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" "
                   "fill=\"url(#retry-stripes)\"/><text class=\"attempts\" x=\"{}\" "
                   "y=\"{}\">\u00d7{}</text>",
                   num(x), num(y), num(width), num(k_bar), num(after), num(y + k_bar - 2),
                   bar.attempts);
    after += 12 + 6 * static_cast<double>(std::to_string(bar.attempts).size());
  }
  if (bar.budget_ms) {
    // A bracket under the bar, from its start to where its budget ends.
    const double end = std::min(x + *bar.budget_ms / axis.ms_per_px, axis.right());
    const double y0 = y + k_bar + 0.5, y1 = y + k_bar + 3;
    fmt::format_to(it, "<path class=\"budget{}\" data-budget-ms=\"{}\" d=\"M{} {}V{}H{}V{}\"/>",
                   bar.budget_exceeded ? " over" : "", num(*bar.budget_ms), num(x), num(y0),
                   num(y1), num(end), num(y0));
  }
  if (tone == std::string_view("unknown") && bar.duration_ms == 0 && x + width < axis.right()) {
    // Started, never ended: open to the end of what the journal knows.
    fmt::format_to(it, "<line class=\"open\" x1=\"{0}\" x2=\"{1}\" y1=\"{2}\" y2=\"{2}\"/>",
                   num(x + width), num(axis.right()), num(y + k_bar / 2));
  }
  fmt::format_to(it, "<text class=\"dur\" x=\"{}\" y=\"{}\">{}</text></g>\n", num(after),
                 num(y + k_bar - 2), ms_text(bar.duration_ms));
}

std::string lane_title(const std::string& phase) {
  if (phase == "check") return "checks";
  if (phase == "step") return "steps";
  if (phase == "rollback") return "rollbacks";
  return escape(phase);
}

std::string gantt(const std::vector<Bar>& bars, const Axis& axis, const Windows& windows) {
  std::size_t lanes = 0;
  for (std::size_t i = 0; i < bars.size(); ++i)
    lanes += i == 0 || bars[i].phase != bars[i - 1].phase;
  const double height =
      k_top + static_cast<double>(lanes) * k_lane + static_cast<double>(bars.size()) * k_row + 8;
  std::string out = svg_open("gantt", height, axis, "Timeline of every check, step and rollback");
  out +=
      "<defs><pattern id=\"retry-stripes\" width=\"6\" height=\"6\" "
      "patternUnits=\"userSpaceOnUse\" patternTransform=\"rotate(45)\"><rect width=\"2.5\" "
      "height=\"6\" class=\"stripe\"/></pattern></defs>\n";
  bands(out, axis, windows, k_top - 4, height - 4, true);
  ticks(out, axis, k_top - 4, height - 4, k_top - 8);
  double y = k_top;
  for (std::size_t i = 0; i < bars.size(); ++i) {
    if (i == 0 || bars[i].phase != bars[i - 1].phase) {
      fmt::format_to(std::back_inserter(out),
                     "<line class=\"lane-rule\" x1=\"0\" x2=\"{0}\" y1=\"{1}\" y2=\"{1}\"/>"
                     "<text class=\"lane\" x=\"4\" y=\"{2}\">{3}</text>\n",
                     k_width, num(y + 0.5), num(y + 15), lane_title(bars[i].phase));
      y += k_lane;
    }
    bar_row(out, bars[i], i, y, axis);
    y += k_row;
  }
  if (bars.empty())
    fmt::format_to(std::back_inserter(out),
                   "<text class=\"absent-text\" x=\"{}\" y=\"{}\">no entries</text>\n", num(k_left),
                   num(k_top + 14));
  out += "</svg>\n";
  return out;
}

// A series' buckets merged into columns at least 1.5 px wide, so a long run's chart stays small.
struct Column {
  long long key = 0;
  double from = 0, to = 0;  // offset ms from the axis' origin
  std::array<double, 3> sum{};
  double max = 0;  // the slowest answer (ms)
};

struct Series {
  bool present = false;
  std::vector<Column> columns;
};

// A point is [offset_ms, count..., max_latency_ms]; the series' "columns" names the counts
// (when absent, they are `wanted` in that order). Up to three named counts are read.
Series series_of(const json& series, const Axis& axis, const std::vector<std::string>& wanted) {
  Series out;
  const json& points = json_member(series, "points");
  if (!series.is_object() || !points.is_array()) return out;
  out.present = true;
  std::vector<std::ptrdiff_t> index;  // where each wanted count is in a point (-1: nowhere)
  std::size_t counts = wanted.size();
  if (const json& names = json_member(series, "columns"); names.is_array()) {
    counts = names.size();
    for (const auto& name : wanted) {
      auto at = std::find(names.begin(), names.end(), json(name));
      index.push_back(at == names.end() ? -1 : 1 + (at - names.begin()));
    }
  } else {
    for (std::size_t i = 0; i < wanted.size(); ++i)
      index.push_back(static_cast<std::ptrdiff_t>(i) + 1);
  }
  const double bucket = std::max(1.0, finite_ms(json_number(series, "bucket_ms", 100)));
  const double origin = epoch_ms(series, "origin").value_or(axis.origin) - axis.origin;
  const double group = std::max(1.0, std::ceil(1.5 * axis.ms_per_px / bucket));
  const double width = bucket * group;
  auto value = [](const json& point, std::ptrdiff_t at) {
    return at >= 0 && static_cast<std::size_t>(at) < point.size() && point[at].is_number()
               ? finite_ms(point[at].get<double>())
               : 0.0;
  };
  for (const auto& point : points) {
    if (!point.is_array() || point.empty() || !point[0].is_number()) continue;
    const double offset = point[0].get<double>();
    // A point from a tampered journal (1e300, infinity) would overflow the column's integer
    // key (UB): only points within two spans either side of the axis are read (the rest would
    // be clipped anyway).
    if (!std::isfinite(offset)) continue;
    if (const double at = origin + offset; at < -2 * axis.span || at > 3 * axis.span) continue;
    const double slot = std::floor(offset / width);
    if (!(std::abs(slot) < 1e15)) continue;
    const auto key = static_cast<long long>(slot);
    if (out.columns.empty() || out.columns.back().key != key) {
      Column column;
      column.key = key;
      column.from = origin + static_cast<double>(key) * width;
      column.to = column.from + width;
      out.columns.push_back(column);
    }
    Column& column = out.columns.back();
    for (std::size_t i = 0; i < index.size() && i < 3; ++i) column.sum[i] += value(point, index[i]);
    column.max = std::max(column.max, value(point, static_cast<std::ptrdiff_t>(counts) + 1));
  }
  return out;
}

// Round up to 1, 2 or 5 times a power of ten (a chart's scale).
double nice_ceiling(double value) {
  if (value <= 1) return 1;
  const double power = std::pow(10.0, std::floor(std::log10(value)));
  for (double m : {1.0, 2.0, 5.0, 10.0}) {
    if (m * power >= value) return m * power;
  }
  return 10 * power;
}

constexpr double k_chart_height = 150;
constexpr double k_chart_top = 26;
constexpr double k_chart_bottom = 118;

// A column's x-extent, clipped to the axis; nullopt when it lies outside.
std::optional<std::pair<double, double>> column_x(const Column& c, const Axis& axis) {
  const double x0 = std::max(axis.x(c.from), k_left);
  const double x1 = std::min(axis.x(c.to), axis.right());
  if (x1 <= x0) return std::nullopt;
  return std::pair{x0, x1};
}

std::string chart_frame(const char* classes, const char* label, const Axis& axis,
                        const Windows& windows, const std::string& scale) {
  std::string out = svg_open(classes, k_chart_height, axis, label);
  bands(out, axis, windows, k_chart_top, k_chart_bottom, false);
  ticks(out, axis, k_chart_top, k_chart_bottom, k_chart_bottom + 14);
  fmt::format_to(std::back_inserter(out),
                 "<line class=\"baseline\" x1=\"{0}\" x2=\"{1}\" y1=\"{2}\" y2=\"{2}\"/>"
                 "<text class=\"scale\" x=\"{3}\" y=\"{4}\">{5}</text>"
                 "<text class=\"scale\" x=\"{3}\" y=\"{2}\">0</text>\n",
                 num(k_left), num(axis.right()), num(k_chart_bottom), num(k_left - 6),
                 num(k_chart_top + 4), escape(scale));
  return out;
}

std::string read_chart(const json& probe, const Axis& axis, const Windows& windows) {
  if (!probe.is_object()) return "<p class=\"absent\">no read probe</p>\n";
  Series series = series_of(json_member(probe, "series"), axis, {"requests", "errors"});
  if (!series.present)
    return "<p class=\"absent\">no read probe series in this report (only its totals, in the "
           "verdict above)</p>\n";
  double top = 0;
  for (const auto& c : series.columns) top = std::max(top, c.max);
  const double scale = nice_ceiling(top);
  const double plot = k_chart_bottom - k_chart_top;
  std::string out = chart_frame("series read-probe", "Read probe: latency and errors over time",
                                axis, windows, fmt::format("{:g} ms", scale));
  auto it = std::back_inserter(out);
  std::string path;
  double last_to = -1;
  for (const auto& c : series.columns) {
    auto x = column_x(c, axis);
    if (!x) continue;
    const double requests = c.sum[0], errors = c.sum[1];
    if (errors > 0) {
      const double share = errors / std::max(requests, errors);
      const double h = std::max(2.0, share * plot);
      fmt::format_to(it,
                     "<rect class=\"err\" x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" "
                     "data-errors=\"{:g}\" data-requests=\"{:g}\"/>",
                     num(x->first), num(k_chart_bottom - h), num(x->second - x->first), num(h),
                     errors, requests);
    }
    if (requests > errors) {
      const double y = k_chart_bottom - std::min(c.max / scale, 1.0) * plot;
      path += std::abs(last_to - x->first) < 0.01
                  ? fmt::format("V{}H{}", num(y), num(x->second))
                  : fmt::format("M{} {}H{}", num(x->first), num(y), num(x->second));
      last_to = x->second;
    }
  }
  if (!path.empty()) fmt::format_to(it, "<path class=\"latency\" d=\"{}\"/>", path);
  fmt::format_to(
      it,
      "\n<text class=\"legend\" x=\"{}\" y=\"14\">read probe: slowest answer per {} "
      "(blue line), failed requests as a share of requests (red)</text>\n</svg>\n",
      num(k_left),
      escape(short_duration(json_number(json_member(probe, "series"), "bucket_ms", 100))));
  return out;
}

std::string write_chart(const json& probe, const Axis& axis, const Windows& windows) {
  if (!probe.is_object()) return "<p class=\"absent\">no write probe</p>\n";
  Series series =
      series_of(json_member(probe, "series"), axis, {"acknowledged", "failed", "unknown"});
  if (!series.present)
    return "<p class=\"absent\">no write probe series in this report (only its totals, in the "
           "verdict above)</p>\n";
  double top = 0;
  for (const auto& c : series.columns) top = std::max(top, c.sum[0] + c.sum[1] + c.sum[2]);
  const double scale = nice_ceiling(top);
  const double plot = k_chart_bottom - k_chart_top;
  std::string out =
      chart_frame("series write-probe", "Write probe: acknowledged, failed and unknown writes",
                  axis, windows, fmt::format("{:g} write{}", scale, scale == 1 ? "" : "s"));
  auto it = std::back_inserter(out);
  for (const auto& c : series.columns) {
    auto x = column_x(c, axis);
    if (!x) continue;
    double y = k_chart_bottom;
    for (auto [value, cls] : {std::pair{c.sum[0], "ack"}, std::pair{c.sum[1], "wfail"},
                              std::pair{c.sum[2], "wunknown"}}) {
      if (value <= 0) continue;
      const double h = std::max(1.0, value / scale * plot);
      y -= h;
      fmt::format_to(it, "<rect class=\"{}\" x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\"/>", cls,
                     num(x->first), num(y), num(x->second - x->first), num(h));
    }
  }
  fmt::format_to(
      it,
      "\n<text class=\"legend\" x=\"{}\" y=\"14\">write probe: writes per {}: "
      "acknowledged (green), failed (red), unknown (amber); the longest gap "
      "shaded</text>\n</svg>\n",
      num(k_left),
      escape(short_duration(json_number(json_member(probe, "series"), "bucket_ms", 100))));
  return out;
}

}  // namespace

std::string timeline_html(const json& report) {
  std::vector<Bar> bars = bars_of(report);
  const Axis axis = axis_of(report, bars);
  const Windows windows = windows_of(report, axis, bars);
  const json& sla = json_member(report, "sla");
  std::string out = "<figure class=\"chart\">\n";
  out += gantt(bars, axis, windows);
  out +=
      "<figcaption>One row per entry in journal order; bars: green ok, red failed, grey "
      "skipped, amber unknown; a bracket under a step marks its budget; stripes and "
      "\u00d7N: retried.</figcaption>\n</figure>\n";
  out += "<figure class=\"chart\">\n<h3>Read availability</h3>\n";
  out += read_chart(json_member(sla, "probe"), axis, windows);
  out += "</figure>\n<figure class=\"chart\">\n<h3>Writes</h3>\n";
  out += write_chart(json_member(sla, "write_probe"), axis, windows);
  out += "</figure>\n";
  return out;
}

}  // namespace drctl::html
