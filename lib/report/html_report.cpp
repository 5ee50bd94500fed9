#include "report/html_report.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <iterator>
#include <string_view>
#include <vector>

#include "engine/record_json.hpp"
#include "report/html_parts.hpp"
#include "util/clock.hpp"
#include "util/json_dump.hpp"
#include "util/json_fields.hpp"
#include "util/safe_files.hpp"
#include "util/secrets.hpp"
#include "util/strings.hpp"

namespace drctl {
namespace html {

std::string escape(std::string_view raw) {
  const std::string text = valid_utf8(raw);
  std::string out;
  out.reserve(text.size() + text.size() / 8);
  for (std::size_t i = 0; i < text.size(); ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      case '\t':
      case '\n':
        out += static_cast<char>(c);
        break;
      default:
        if (c < 0x20 || c == 0x7f) break;
        // C1 controls (U+0080..U+009F) are 0xC2 0x80..0x9F in UTF-8.
        if (c == 0xC2 && i + 1 < text.size() && static_cast<unsigned char>(text[i + 1]) <= 0x9F) {
          ++i;
          break;
        }
        out += static_cast<char>(c);
    }
  }
  return out;
}

std::string clip(std::string_view text, std::size_t max_bytes) {
  if (text.size() <= max_bytes) return std::string(text);
  std::size_t end = max_bytes;
  while (end > 0 && (static_cast<unsigned char>(text[end]) & 0xC0) == 0x80) --end;
  return std::string(text.substr(0, end)) + "\u2026";
}

std::string ms_text(double ms) {
  if (ms < 1000) return fmt::format("{:.1f} ms", ms);
  return fmt::format("{:.2f} s", ms / 1000);
}

std::string short_duration(double ms) {
  if (ms < 1000) return fmt::format("{:.0f} ms", ms);
  std::string text = fmt::format("{:.1f}", ms / 1000);
  if (text.size() > 2 && text.compare(text.size() - 2, 2, ".0") == 0) text.resize(text.size() - 2);
  return text + " s";
}

const char* tone_of(std::string_view status) {
  if (status == "ok") return "ok";
  if (status == "skipped") return "skipped";
  if (status == "failed" || status == "timeout" || status == "unreachable" ||
      status == "invalid_answer")
    return "bad";
  return "unknown";
}

std::string class_token(std::string_view text) {
  std::string out;
  for (char c : text.substr(0, 32)) {
    const bool plain = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                       c == '-' || c == '_';
    out += plain ? c : '_';
  }
  return out.empty() ? "none" : out;
}

std::optional<double> epoch_ms(const nlohmann::json& object, const char* key) {
  const std::string text = json_text(object, key);
  if (text.empty()) return std::nullopt;
  const WallTime time = parse_rfc3339_utc(text);
  if (time == WallTime{} && text.rfind("1970-01-01T00:00:00", 0) != 0) return std::nullopt;
  return std::chrono::duration<double, std::milli>(time.time_since_epoch()).count();
}

}  // namespace html

namespace {

using html::escape;
using nlohmann::json;

// Printed on A4 as well as read on a screen: the verdict and each chart never split across
// pages, table rows neither, the table's header repeats.
constexpr const char* k_style = R"css(
:root{--ok:#1a7f37;--bad:#cf222e;--skip:#8c959f;--unknown:#bf8700;--ink:#1f2328;--muted:#59636e;--line:#d0d7de;--blue:#0969da}
*{box-sizing:border-box}
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif;color:var(--ink);margin:24px auto;max-width:1200px;padding:0 16px}
h1{font-size:26px;margin:0 0 4px;overflow-wrap:anywhere}
h2{font-size:18px;margin:28px 0 8px;border-bottom:1px solid var(--line);padding-bottom:4px}
h3{font-size:14px;margin:12px 0 4px;color:var(--muted)}
.kicker{text-transform:uppercase;letter-spacing:.08em;color:var(--muted);font-size:12px;margin:0}
dl.facts{display:grid;grid-template-columns:max-content 1fr max-content 1fr;gap:2px 16px;margin:12px 0}
dl.facts dt{color:var(--muted)}
dl.facts dd{margin:0;font-variant-numeric:tabular-nums;overflow-wrap:anywhere}
.summary{font-size:15px;margin:8px 0;overflow-wrap:anywhere}
.badge{display:inline-block;padding:0 8px;border-radius:10px;font-weight:600;color:#fff}
.badge.ok{background:var(--ok)}.badge.bad{background:var(--bad)}.badge.unknown,.badge.skipped{background:var(--unknown)}
.verdict{display:grid;grid-template-columns:repeat(3,1fr);gap:12px;margin:16px 0 8px}
.tile{border:1px solid var(--line);border-top:6px solid var(--skip);border-radius:8px;padding:10px 14px}
.tile.met{border-top-color:var(--ok)}.tile.breached{border-top-color:var(--bad)}.tile.not_verified,.tile.not_evaluated{border-top-color:var(--unknown)}
.tile h2{font-size:12px;text-transform:uppercase;letter-spacing:.06em;color:var(--muted);margin:0 0 4px;border:0;padding:0}
.big{font-size:30px;font-weight:700;line-height:1.15;font-variant-numeric:tabular-nums}
.big small{font-size:17px;font-weight:600;color:var(--muted)}
.tile p{margin:4px 0 0}
.word{font-weight:700;text-transform:uppercase;letter-spacing:.04em}
.word.met{color:var(--ok)}.word.breached{color:var(--bad)}.word.not_verified,.word.not_evaluated{color:var(--unknown)}
figure{margin:8px 0 16px}
figcaption{color:var(--muted);font-size:12px}
svg{display:block;width:100%;height:auto}
svg text{font:11px system-ui,-apple-system,"Segoe UI",Arial,sans-serif;fill:var(--ink)}
.bar.ok{fill:var(--ok)}.bar.bad{fill:var(--bad)}.bar.skipped{fill:var(--skip)}.bar.unknown{fill:var(--unknown)}
.stripe{fill:#fff;fill-opacity:.55}
.grid{stroke:#eaeef2}.baseline{stroke:var(--muted)}
svg .tick{fill:var(--muted);font-size:10px;text-anchor:middle}
svg .label{text-anchor:end}
svg .lane{font-weight:700;text-transform:uppercase;letter-spacing:.06em;fill:var(--muted)}
.lane-rule{stroke:var(--line)}
svg .dur{fill:var(--muted);font-size:10px}
svg .attempts{font-weight:700;font-size:10px}
svg .scale{fill:var(--muted);font-size:10px;text-anchor:end}
svg .legend{fill:var(--muted)}
svg .window-label{font-size:10px}
svg .window-label.sla{fill:var(--blue)}
svg .gap-label{fill:var(--bad)}
.sla-window{fill:var(--blue);fill-opacity:.06}
.sla-end{stroke:var(--blue);stroke-dasharray:4 3}
.gap{fill:var(--bad);fill-opacity:.14}
.budget{fill:none;stroke:#57606a;stroke-width:1}.budget.over{stroke:var(--bad)}
.open{stroke:var(--unknown);stroke-dasharray:3 3}
.latency{fill:none;stroke:var(--blue);stroke-width:1.5}
.err{fill:var(--bad);fill-opacity:.75}
.ack{fill:var(--ok)}.wfail{fill:var(--bad)}.wunknown{fill:var(--unknown)}
.absent{color:var(--muted);font-style:italic}
table{border-collapse:collapse;width:100%;font-size:13px}
th,td{border-bottom:1px solid var(--line);padding:4px 6px;vertical-align:top;text-align:left}
th{background:#f6f8fa}
table.entries{table-layout:fixed}
.c-index{width:4%}.c-phase{width:9%}.c-name{width:21%}.c-kind{width:18%}.c-status{width:10%}.c-duration{width:12%}.c-budget{width:15%}.c-attempts{width:11%}
table.entries tbody.entry tr:first-child td{border-bottom:0;padding-bottom:0}
tbody.entry{break-inside:avoid;page-break-inside:avoid}
tr.details td{padding-top:2px}
td.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
td.name{overflow-wrap:anywhere;max-width:220px}
.status{font-weight:600}.status.ok{color:var(--ok)}.status.bad{color:var(--bad)}.status.skipped{color:var(--muted)}.status.unknown{color:var(--unknown)}
.over{color:var(--bad);font-weight:600}
.message{margin:0;overflow-wrap:anywhere}
ul.warnings{color:#9a6700;margin:2px 0;padding-left:18px}
dl.evidence{display:grid;grid-template-columns:max-content minmax(0,1fr) max-content minmax(0,1fr);gap:0 10px;margin:4px 0 0;font-size:12px}
dl.evidence dt{color:var(--muted)}
dl.evidence dd{margin:0;font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;overflow-wrap:anywhere;white-space:pre-wrap}
.more{color:var(--muted);font-size:12px}
ul.keys{columns:3;font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:12px;overflow-wrap:anywhere}
footer{margin-top:24px;color:var(--muted);font-size:12px;overflow-wrap:anywhere}
@page{size:A4;margin:12mm}
@media print{
body{margin:0;max-width:none;padding:0;font-size:10pt}
*{-webkit-print-color-adjust:exact;print-color-adjust:exact}
.verdict,.tile,figure,tr,.facts,tbody.entry{break-inside:avoid;page-break-inside:avoid}
h2,h3{break-after:avoid;page-break-after:avoid}
section.entries{break-before:page;page-break-before:always}
thead{display:table-header-group}
.big{font-size:20pt}
table{font-size:9pt}
}
)css";

// Nothing to show: "", [], {} (an exec step's empty stderr_tail).
bool empty_value(const json& value) {
  return (value.is_string() && value.get_ref<const std::string&>().empty()) ||
         (value.is_structured() && value.empty());
}

// A value of evidence as text: numbers as written, text cut to what a table cell can hold.
std::string value_text(const json& value) {
  if (value.is_string()) return html::clip(value.get<std::string>(), 400);
  if (value.is_number_float()) {
    const double v = value.get<double>();
    return std::abs(v) < 1e15 && v == std::floor(v) ? fmt::format("{:.0f}", v)
                                                    : fmt::format("{:.2f}", v);
  }
  if (value.is_null()) return "none";
  return html::clip(dump_json(value), 400);
}

// The evidence that matters per kind (what lib/kinds writes; "a.b" reads a nested value). A key
// is read from the evidence, else from the outputs. Other kinds show their first scalar fields.
struct KindEvidence {
  std::string_view kind;
  std::vector<std::string_view> keys;
};

const std::vector<KindEvidence>& kind_evidence() {
  static const std::vector<KindEvidence> table = {
      {"mysql_switchover",
       {"mode", "freeze_ms", "catchup_ms", "repoint_ms", "total_ms", "final_gtid",
        "new_primary_gtid", "written_through_freeze", "candidate_gtid_after", "rpo_transactions",
        "received_gtid", "last_gtid", "gtid", "lost", "recovered_from_old_primary"}},
      {"routing_reload",
       {"takeover_ms", "stable_ms", "requests", "stale", "errors", "flaps", "action_ms", "expect"}},
      {"etcd_watch_handoff",
       {"canary_ms", "propagation.p99_ms", "events", "lost", "duplicates", "out_of_order",
        "revision", "to_revision", "topology"}},
      {"etcd_watch_latency",
       {"propagation.p99_ms", "propagation.p50_ms", "lost", "max_p99_ms", "watch_reconnects"}},
      {"cache_warmup", {"version", "keys", "bytes", "revision", "file", "verify_ms"}},
      {"exec", {"exit_code", "signal", "argv0", "stderr_tail", "stdout_tail"}},
      {"http", {"status", "url", "total_ms", "first_byte_ms"}},
      {"etcd_put", {"previous_mod_revision"}},
  };
  return table;
}

constexpr std::size_t k_fallback_fields = 8;

const json* find_key(const json& entry, std::string_view key) {
  const json* at = &json_member(entry, "evidence");
  for (const auto& part : split(key, '.')) {
    auto it = at->is_object() ? at->find(part) : at->end();
    if (!at->is_object() || it == at->end()) {
      at = nullptr;  // "propagation.p99_ms" without a "propagation": absent, not followed
      break;
    }
    at = &*it;
  }
  if (at != nullptr) return at;
  const json& outputs = json_member(entry, "outputs");
  if (auto it = outputs.is_object() ? outputs.find(std::string(key)) : outputs.end();
      outputs.is_object() && it != outputs.end())
    return &*it;
  return nullptr;
}

std::string evidence_list(const json& entry) {
  const json& evidence = json_member(entry, "evidence");
  std::vector<std::pair<std::string, const json*>> shown;
  if (const json* error = find_key(entry, "error")) shown.emplace_back("error", error);
  const std::string kind = json_text(entry, "kind");
  auto known = std::find_if(kind_evidence().begin(), kind_evidence().end(),
                            [&](const KindEvidence& k) { return k.kind == kind; });
  std::size_t more = 0;
  if (known != kind_evidence().end()) {
    for (auto key : known->keys) {
      if (const json* value = find_key(entry, key); value != nullptr && !empty_value(*value))
        shown.emplace_back(std::string(key), value);
    }
  } else if (evidence.is_object()) {
    for (const auto& [key, value] : evidence.items()) {
      if (key == "error" || value.is_structured() || empty_value(value)) continue;
      if (shown.size() >= k_fallback_fields) {
        ++more;
        continue;
      }
      shown.emplace_back(key, &value);
    }
  }
  if (shown.empty()) return "";
  std::string out = "<dl class=\"evidence\">";
  for (const auto& [key, value] : shown)
    fmt::format_to(std::back_inserter(out), "<dt>{}</dt><dd>{}</dd>", escape(key),
                   escape(value_text(*value)));
  out += "</dl>";
  if (more > 0)
    fmt::format_to(std::back_inserter(out),
                   "<p class=\"more\">{} more evidence field{} in the JSON report</p>", more,
                   more == 1 ? "" : "s");
  return out;
}

void entry_rows(std::string& out, const json& list, const char* phase, std::size_t& index) {
  if (!list.is_array()) return;
  auto it = std::back_inserter(out);
  for (const auto& entry : list) {
    if (!entry.is_object()) continue;
    const std::string status = json_text(entry, "status", "unknown");
    const char* tone = html::tone_of(status);
    std::string budget = "&#8212;";
    if (const json& b = json_member(entry, "budget_ms"); b.is_number()) {
      const json& pct = json_member(entry, "budget_pct");
      budget = fmt::format("<span class=\"{}\">{}{}</span>",
                           json_bool(entry, "budget_exceeded") ? "over" : "",
                           html::ms_text(b.get<double>()),
                           pct.is_number() ? fmt::format(" ({:.0f}%)", pct.get<double>()) : "");
    }
    const auto attempts = json_int(entry, "attempts", 1);
    // One tbody per entry (its facts, then a full-width row of what it said and measured), so
    // a printed page never splits an entry.
    fmt::format_to(it,
                   "<tbody class=\"entry {}\"><tr><td class=\"num\">{}</td><td>{}</td><td "
                   "class=\"name\">{}</td><td class=\"name\">{}</td><td class=\"status {}\">{}</td>"
                   "<td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num{}\">{}</td>"
                   "</tr>\n<tr class=\"details\"><td></td><td colspan=\"7\">",
                   tone, index, escape(json_text(entry, "phase", phase)),
                   escape(json_text(entry, "name")), escape(json_text(entry, "kind")), tone,
                   escape(status), html::ms_text(json_number(entry, "duration_ms")), budget,
                   attempts > 1 ? " over" : "",
                   attempts > 1 ? fmt::format("\u00d7{}", attempts) : std::to_string(attempts));
    fmt::format_to(it, "<p class=\"message\">{}</p>", escape(json_text(entry, "message")));
    if (const json& warnings = json_member(entry, "warnings");
        warnings.is_array() && !warnings.empty()) {
      out += "<ul class=\"warnings\">";
      for (const auto& w : warnings) {
        if (w.is_string()) fmt::format_to(it, "<li>{}</li>", escape(w.get<std::string>()));
      }
      out += "</ul>";
    }
    out += evidence_list(entry);
    out += "</td></tr></tbody>\n";
    ++index;
  }
}

std::string entries_table(const json& report) {
  std::string out =
      "<section class=\"entries\">\n<h2>Entries</h2>\n<table class=\"entries\">\n<colgroup>"
      "<col class=\"c-index\"><col class=\"c-phase\"><col class=\"c-name\"><col "
      "class=\"c-kind\"><col class=\"c-status\"><col class=\"c-duration\"><col "
      "class=\"c-budget\"><col class=\"c-attempts\"></colgroup>\n<thead><tr><th>#</th>"
      "<th>phase</th><th>name</th><th>kind</th><th>status</th><th>duration</th><th>budget</th>"
      "<th>attempts</th></tr></thead>\n";
  std::size_t index = 0;
  entry_rows(out, json_member(report, "checks"), "check", index);
  entry_rows(out, json_member(report, "steps"), "step", index);
  entry_rows(out, json_member(report, "rollbacks"), "rollback", index);
  if (index == 0)
    out += "<tbody><tr><td colspan=\"8\" class=\"absent\">no entries</td></tr></tbody>\n";
  out += "</table>\n</section>\n";
  return out;
}

// ---- the header and the verdict

std::string operator_text(const json& report) {
  const json& who = json_member(report, "operator");
  // A journal that could not tell writes "?".
  std::string user = json_text(who, "user"), host = json_text(who, "host");
  if (user == "?") user.clear();
  if (host == "?") host.clear();
  if (user.empty() && host.empty()) return "unknown";
  return fmt::format("{} @ {}", user.empty() ? "unknown" : user, host.empty() ? "unknown" : host);
}

std::string result_badge(const std::string& result) {
  const char* tone = result == "success" ? "ok" : result == "unfinished" ? "unknown" : "bad";
  return fmt::format("<span class=\"badge {}\">{}</span>", tone, escape(result));
}

std::string verdict_word(const std::string& verdict) {
  return fmt::format("<span class=\"word {}\">{}</span>", html::class_token(verdict),
                     escape(replace_all(verdict, "_", " ")));
}

// A list of names as one line, cut to what a tile holds.
std::string clip_list(const json& names) {
  std::vector<std::string> parts;
  for (const auto& n : names) {
    if (n.is_string()) parts.push_back(n.get<std::string>());
  }
  return html::clip(join(parts, ", "), 200);
}

// The takeover's own verdict: the steps against sla.total and their budgets, never the
// probes' (a write probe's breach is the write tile's, not a slow takeover).
std::string takeover_verdict(const json& sla) {
  if (json_text(sla, "verdict", "not_evaluated") == "not_evaluated") return "not_evaluated";
  const json& over = json_member(sla, "over_budget_steps");
  const bool steps_over = over.is_array() && !over.empty();
  return json_bool(sla, "total_exceeded") || steps_over ? "breached" : "met";
}

std::string takeover_tile(const json& report) {
  const json& sla = json_member(report, "sla");
  const std::string verdict = takeover_verdict(sla);
  const json& steps = json_member(report, "steps");
  std::string big, detail;
  if (!steps.is_array() || steps.empty()) {
    big = "no steps";
    const std::string mode = json_text(report, "mode");
    detail = mode == "check"      ? "a check run: only the checks ran"
             : mode == "rollback" ? "a rollback run: only rollbacks ran"
                                  : "no step ran";
  } else {
    const double elapsed = json_number(sla, "steps_elapsed_ms");
    const json& total = json_member(sla, "total_budget_ms");
    big = total.is_number()
              ? fmt::format("{} <small>of {}</small>", escape(html::short_duration(elapsed)),
                            escape(html::short_duration(total.get<double>())))
              : escape(html::short_duration(elapsed)) + " <small>no sla.total</small>";
    detail = verdict_word(verdict);
    if (const json& over = json_member(sla, "over_budget_steps"); over.is_array() && !over.empty())
      detail += fmt::format("; over budget: {}", escape(clip_list(over)));
  }
  return fmt::format(
      "<div class=\"tile {}\"><h2>Takeover: the steps against sla.total</h2><div "
      "class=\"big\">{}</div><p>{}</p></div>\n",
      html::class_token(verdict), big, detail);
}

std::string read_tile(const json& report) {
  const json& probe = json_member(json_member(report, "sla"), "probe");
  if (!probe.is_object())
    return "<div class=\"tile\"><h2>Read availability</h2><div class=\"big\">no probe</div><p "
           "class=\"absent\">sla.probe not set</p></div>\n";
  const std::string verdict = json_text(probe, "verdict", "not_evaluated");
  const double p99 = json_number(json_member(probe, "latency"), "p99_ms");
  const double rate = json_number(probe, "error_rate");
  std::string limits;
  if (const json& b = json_member(probe, "p99_budget_ms"); b.is_number())
    limits += fmt::format(", P99 budget {}", html::short_duration(b.get<double>()));
  if (const json& m = json_member(probe, "max_error_rate"); m.is_number())
    limits += fmt::format(", max error rate {:.2f}%", 100 * m.get<double>());
  return fmt::format(
      "<div class=\"tile {}\"><h2>Read availability</h2><div class=\"big\">P99 {:.1f} ms "
      "<small>errors {:.2f}%</small></div><p>{} ({} requests, {} failed{})</p></div>\n",
      html::class_token(verdict), p99, 100 * rate, verdict_word(verdict),
      json_int(probe, "requests"), json_int(probe, "errors"), escape(limits));
}

std::string write_tile(const json& report) {
  const json& probe = json_member(json_member(report, "sla"), "write_probe");
  if (!probe.is_object())
    return "<div class=\"tile\"><h2>Writes</h2><div class=\"big\">no probe</div><p "
           "class=\"absent\">no write probe in this run</p></div>\n";
  const std::string verdict = json_text(probe, "verdict", "not_verified");
  // Null until the writes were read back: never shown as 0. Not every write read back, a
  // number is only the losses proven so far.
  const json& lost = json_member(probe, "lost");
  const bool verified = json_bool(json_member(probe, "verification"), "verified");
  std::string lost_text = "lost: unknown";
  if (lost.is_number() && verified)
    lost_text = value_text(lost) + " lost";
  else if (lost.is_number() && lost.get<double>() > 0)
    lost_text = "at least " + value_text(lost) + " lost";
  // The counts under the verdict, as the read tile has them: what the loss is out of.
  return fmt::format(
      "<div class=\"tile {}\"><h2>Writes</h2><div class=\"big\">{} <small>longest gap "
      "{}</small></div><p>{} ({} sent, {} acknowledged, {} failed, {} unknown)</p></div>\n",
      html::class_token(verdict), escape(lost_text),
      escape(html::ms_text(json_number(probe, "longest_write_gap_ms"))), verdict_word(verdict),
      json_int(probe, "attempts"), json_int(probe, "acknowledged"), json_int(probe, "failed"),
      json_int(probe, "unknown"));
}

std::string header(const json& report) {
  const json& playbook = json_member(report, "playbook");
  const std::string name = json_text(playbook, "name", "(unnamed playbook)");
  const std::string result = json_text(report, "result", "unknown");
  const json& exit_code = json_member(report, "exit_code");
  auto fact = [](std::string_view label, const std::string& value_html) {
    return fmt::format("<dt>{}</dt><dd>{}</dd>", label, value_html);
  };
  std::string facts;
  facts += fact("run id", escape(json_text(report, "run_id", "?")));
  facts += fact("mode", escape(json_text(report, "mode", "?")));
  facts += fact("operator", escape(operator_text(report)));
  facts += fact("playbook", escape(json_text(playbook, "path", "?")));
  facts += fact("started", escape(json_text(report, "started_at", "?")));
  facts += fact("finished", escape(json_text(report, "finished_at", "?")));
  facts += fact("result", result_badge(result));
  facts +=
      fact("exit code", exit_code.is_number_integer() ? std::to_string(exit_code.get<long long>())
                                                      : std::string("none (the run has no end)"));
  facts += fact("duration", html::ms_text(json_number(report, "duration_ms")));
  if (const std::string from = json_text(report, "resumed_from"); !from.empty())
    facts += fact("resumes run", escape(from));
  if (const std::string undone = json_text(report, "rolls_back"); !undone.empty())
    facts += fact("rolls back run", escape(undone));
  return fmt::format(
      "<header>\n<p class=\"kicker\">drctl drill report</p>\n<h1>{}</h1>\n<dl "
      "class=\"facts\">{}</dl>\n<p class=\"summary\">{}</p>\n</header>\n",
      escape(name), facts, escape(json_text(report, "summary")));
}

constexpr std::size_t k_lost_keys_shown = 1000;

// 1000 as "1,000".
std::string grouped(std::size_t n) {
  std::string digits = std::to_string(n);
  for (auto at = digits.size(); at > 3; at -= 3) digits.insert(at - 3, ",");
  return digits;
}

// Where writes went missing: the lost keys, and the failures (and the read probe's errors) by
// the entry running when they happened.
std::string losses(const json& report) {
  const json& sla = json_member(report, "sla");
  const json& writes = json_member(sla, "write_probe");
  const json& lost_keys = json_member(writes, "lost_keys");
  const json& failures = json_member(writes, "failures_by_entry");
  const json& read_errors = json_member(json_member(sla, "probe"), "errors_by_entry");
  const bool any_lost = lost_keys.is_array() && !lost_keys.empty();
  const bool any_failures = failures.is_object() && !failures.empty();
  const bool any_read = read_errors.is_object() && !read_errors.empty();
  const json& error_classes = json_member(writes, "errors_by_class");
  const bool any_classes = error_classes.is_object() && !error_classes.empty();
  if (!any_lost && !any_failures && !any_read && !any_classes) return "";
  std::string out = "<section class=\"losses\">\n<h2>Lost writes and failures by entry</h2>\n";
  auto it = std::back_inserter(out);
  if (any_lost) {
    // The count is `lost`: the report lists only the first 1,000 keys (and so does this page).
    const std::size_t listed = std::min(lost_keys.size(), k_lost_keys_shown);
    const json& lost_count = json_member(writes, "lost");
    const std::size_t lost =
        lost_count.is_number_integer() && lost_count.get<long long>() > 0
            ? std::max(static_cast<std::size_t>(lost_count.get<long long>()), listed)
            : listed;
    const bool verified = json_bool(json_member(writes, "verification"), "verified");
    fmt::format_to(it, "<h3>{}{} lost key{}</h3>\n<ul class=\"keys\">", verified ? "" : "at least ",
                   grouped(lost), lost == 1 ? "" : "s");
    std::size_t shown = 0;
    for (const auto& key : lost_keys) {
      if (shown++ == listed) break;
      fmt::format_to(
          it, "<li>{}</li>",
          escape(key.is_string() ? html::clip(key.get<std::string>(), 200) : value_text(key)));
    }
    out += "</ul>\n";
    if (lost > listed)
      fmt::format_to(it, "<p class=\"more\">the first {} are listed</p>\n", grouped(listed));
  }
  auto by_entry = [&](const json& counts, const char* title, const char* column) {
    fmt::format_to(it,
                   "<h3>{}</h3>\n<table class=\"by-entry\"><thead><tr><th>entry</th><th>{}</th>"
                   "</tr></thead><tbody>\n",
                   title, column);
    for (const auto& [entry, count] : counts.items())
      fmt::format_to(it, "<tr><td>{}</td><td class=\"num\">{}</td></tr>\n", escape(entry),
                     escape(value_text(count)));
    out += "</tbody></table>\n";
  };
  // failures_by_entry counts the failed writes and those of unknown outcome alike.
  if (any_failures)
    by_entry(failures, "Write probe failures by entry", "not acknowledged (failed or unknown)");
  if (any_read) by_entry(read_errors, "Read probe errors by entry", "failed requests");
  // Why writes were refused: each class, how often, and the first answer of its kind.
  const json& classes = json_member(writes, "errors_by_class");
  const json& samples = json_member(writes, "error_samples");
  if (classes.is_object() && !classes.empty()) {
    out +=
        "<h3>Why writes were not acknowledged</h3>\n<table class=\"by-entry\"><thead><tr>"
        "<th>class</th><th>writes</th><th>first answer</th></tr></thead><tbody>\n";
    for (const auto& [name, count] : classes.items()) {
      fmt::format_to(it, "<tr><td>{}</td><td class=\"num\">{}</td><td>{}</td></tr>\n", escape(name),
                     escape(value_text(count)),
                     escape(html::clip(json_text(samples, name.c_str()), 160)));
    }
    out += "</tbody></table>\n";
  }
  out += "</section>\n";
  return out;
}

}  // namespace

std::string report_to_html(const nlohmann::json& input) {
  // Already masked when drctl wrote it; masked again in case the HTML is made from a report
  // read back while secrets are loaded (before escaping: an escaped secret would not match).
  const json report = redact_json(input);
  const json& playbook = json_member(report, "playbook");
  std::string out;
  out.reserve(64 * 1024);
  fmt::format_to(std::back_inserter(out),
                 "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
                 "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
                 "<meta name=\"generator\" content=\"drctl\">\n"
                 "<title>drill report: {} (run {})</title>\n<style>{}</style>\n</head>\n<body>\n",
                 escape(json_text(playbook, "name", "(unnamed playbook)")),
                 escape(json_text(report, "run_id", "?")), k_style);
  out += header(report);
  out += "<section class=\"verdict\">\n";
  out += takeover_tile(report);
  out += read_tile(report);
  out += write_tile(report);
  out += "</section>\n<section class=\"timeline\">\n<h2>Timeline</h2>\n";
  out += html::timeline_html(report);
  out += "</section>\n";
  out += entries_table(report);
  out += losses(report);
  fmt::format_to(std::back_inserter(out),
                 "<footer>Made by drctl from the run's {} report; playbook {} ({}).</footer>\n"
                 "</body>\n</html>\n",
                 escape(json_text(report, "schema", "drctl.report/v1")),
                 escape(json_text(playbook, "path", "?")),
                 escape(json_text(playbook, "hash", "?")));
  return out;
}

void HtmlReporter::run_finished(const RunReport& report) {
  // Like the JUnit file: a new temp file beside it, 0644 whatever the umask, renamed over it.
  if (auto written = replace_file(m_path, report_to_html(report_to_json(report)), 0644); !written)
    m_error = fmt::format("cannot write HTML report {}: {}", m_path, written.error().message);
}

}  // namespace drctl
