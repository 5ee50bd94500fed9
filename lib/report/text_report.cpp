#include "report/text_report.hpp"

#include <fmt/format.h>

#include "core/preview.hpp"
#include "engine/exit_codes.hpp"
#include "util/json_dump.hpp"
#include "util/print.hpp"
#include "util/strings.hpp"

namespace drctl {
namespace {

constexpr const char* k_green = "32";
constexpr const char* k_red = "31";
constexpr const char* k_yellow = "33";
constexpr const char* k_dim = "2";
constexpr const char* k_bold = "1";

std::string key_of(const EntryRecord& r) {
  return fmt::format("{} {}", phase_name(r.phase), r.name);
}

std::string fmt_ms(double ms) {
  if (ms < 1000) return fmt::format("{:.1f}ms", ms);
  return fmt::format("{:.2f}s", ms / 1000);
}

std::string fit(std::string text, std::size_t width) {
  if (text.size() > width) text = text.substr(0, width - 1) + "~";
  return text;
}

}  // namespace

TextReporter::TextReporter(std::FILE* out, TextStyle style) : m_out(out), m_style(style) {
  if (m_style.live && !m_style.quiet) m_ticker = std::thread([this] { ticker(); });
}

TextReporter::~TextReporter() {
  {
    std::lock_guard lock(m_mutex);
    m_stopping = true;
  }
  m_wake.notify_all();
  if (m_ticker.joinable()) m_ticker.join();
}

std::string TextReporter::paint(std::string_view text, const char* code) const {
  if (!m_style.color) return std::string(text);
  return fmt::format("\033[{}m{}\033[0m", code, text);
}

std::string TextReporter::status_text(Status status, bool budget_exceeded) const {
  std::string name(status_name(status));
  if (status == Status::ok)
    return budget_exceeded ? paint("ok/late", k_yellow) : paint(name, k_green);
  if (status == Status::skipped) return paint(name, k_yellow);
  return paint(name, k_red);
}

void TextReporter::clear_live_line() {
  if (m_live_line_shown) {
    std::fputs("\r\033[K", m_out);
    m_live_line_shown = false;
  }
}

void TextReporter::draw_live_line() {
  if (m_running.empty()) return;
  auto now = std::chrono::steady_clock::now();
  std::vector<std::string> parts;
  for (const auto& [key, start] : m_running) {
    parts.push_back(
        fmt::format("{} {:.1f}s", key, std::chrono::duration<double>(now - start).count()));
  }
  std::string line = fmt::format("  … {}", join(parts, ", "));
  std::fputs(("\r\033[K" + paint(fit(line, 110), k_dim)).c_str(), m_out);
  std::fflush(m_out);
  m_live_line_shown = true;
}

void TextReporter::ticker() {
  std::unique_lock lock(m_mutex);
  while (!m_stopping) {
    m_wake.wait_for(lock, std::chrono::milliseconds(100));
    if (!m_stopping) draw_live_line();
  }
}

void TextReporter::run_started(const RunReport& header) {
  std::lock_guard lock(m_mutex);
  m_run_id = header.run_id;
  if (m_style.quiet || !m_style.banner) return;
  if (header.mode == Mode::rollback) {
    print_to(m_out, "{} rolling back run {} of '{}' (run {})\n", paint("drctl", k_bold),
             header.rolls_back, header.playbook_name, header.run_id);
    std::fflush(m_out);
    return;
  }
  print_to(m_out, "{} {} '{}': {} checks, {} steps (run {}{})\n", paint("drctl", k_bold),
           header.mode == Mode::dry_run ? "dry run of"
                                        : (header.mode == Mode::check ? "checks of" : "running"),
           header.playbook_name, header.planned_checks, header.planned_steps, header.run_id,
           header.resumed_from.empty() ? "" : ", resuming run " + header.resumed_from);
  std::fflush(m_out);
}

void TextReporter::entry_started(const EntryRecord& record) {
  std::lock_guard lock(m_mutex);
  m_running[key_of(record)] = record.started.steady;
  if (m_style.quiet) return;
  if (m_style.live) {
    draw_live_line();
  } else if (!m_style.banner) {
    return;
  } else {
    print_to(m_out, "{} {:<8} {} ({}: {})\n", rfc3339_utc(record.started.wall),
             phase_name(record.phase), record.name, record.kind, record.target);
    std::fflush(m_out);
  }
}

void TextReporter::notice(const std::string& text) {
  std::lock_guard lock(m_mutex);
  clear_live_line();
  print_to(m_out, "{} {}\n", paint("note:", k_bold), text);
  draw_live_line();
}

void TextReporter::entry_waiting(const EntryRecord& record, const std::string& message) {
  std::lock_guard lock(m_mutex);
  m_running.erase(key_of(record));  // no live line over what the operator types
  clear_live_line();
  const auto until = record.started.wall + record.timeout;
  print_to(m_out, "{} {} '{}' waits for approval until {} (timeout {}): {}\n",
           paint("approval:", k_bold), phase_name(record.phase), record.name, rfc3339_utc(until),
           format_duration(record.timeout), message);
  if (m_style.terminal_input)
    print_to(m_out,
             "    approve: type '{0}' on this terminal ('reject' rejects; '{0}: why' or 'reject: "
             "why' records a comment), or run\n",
             record.name);
  else
    print_to(m_out, "    approve: run\n");
  print_to(m_out,
           "    drctl approve {} {}{} [--by NAME] [--comment TEXT]   (drctl reject ... rolls "
           "back)\n",
           m_run_id, record.name, m_style.approve_flags);
  std::fflush(m_out);
}

void TextReporter::entry_finished(const EntryRecord& record) {
  std::lock_guard lock(m_mutex);
  m_running.erase(key_of(record));
  bool bad = record.status != Status::ok && record.status != Status::skipped;
  if (m_style.quiet && !bad) return;
  clear_live_line();
  std::string budget;
  if (record.budget) {
    budget = fmt::format(" [budget {}{}]", format_duration(*record.budget),
                         record.budget_exceeded ? ", EXCEEDED" : "");
  }
  std::string attempts =
      record.attempts > 1 ? fmt::format(" after {} attempts", record.attempts) : "";
  // A TTY shows events as they happen; logs need the timestamp.
  std::string stamp = m_style.live ? "" : rfc3339_utc(record.finished.wall) + " ";
  print_to(m_out, "{}{:<8} {} {} in {}{}{}: {}\n", stamp, phase_name(record.phase), record.name,
           status_text(record.status, record.budget_exceeded), fmt_ms(to_ms(record.duration)),
           attempts, budget, record.message);
  for (const auto& warning : record.warnings)
    print_to(m_out, "    {} {}\n", paint("warning:", k_yellow), warning);
  if (bad) {
    // A script's own words say why it failed ("lag 900ms > 200ms"): its last line of each.
    for (const char* stream : {"stdout", "stderr"}) {
      auto out = record.outputs.find(stream);
      if (out == record.outputs.end()) continue;
      std::string text = trim(out->second);
      if (!text.empty())
        print_to(m_out, "    {}: {}\n", stream, fit(text.substr(text.rfind('\n') + 1), 160));
    }
  }
  // A dry run's preview: the diff and the states under the step (core/preview.hpp).
  for (const auto& line : preview_lines(record.evidence.value("preview", nlohmann::json())))
    print_to(m_out, "    {}\n", line);
  if (m_style.verbose && !record.evidence.empty())
    print_to(m_out, "    evidence: {}\n", dump_json(record.evidence));
  if (m_style.live) draw_live_line();
  std::fflush(m_out);
}

void TextReporter::run_finished(const RunReport& report) {
  std::lock_guard lock(m_mutex);
  clear_live_line();
  if (m_style.table && !m_style.quiet) {
    print_to(m_out, "\n{:<10} {:<28} {:<14} {:<14} {:>10} {:>8} {:>7}\n", "PHASE", "NAME", "KIND",
             "STATUS", "DURATION", "BUDGET", "%BUDGET");
    auto rows = [&](const std::vector<EntryRecord>& records) {
      for (const auto& r : records) {
        std::string status =
            std::string(status_name(r.status)) + (r.budget_exceeded ? "/late" : "");
        std::string padded = fmt::format("{:<14}", status);
        std::string coloured =
            m_style.color ? status_text(r.status, r.budget_exceeded) + padded.substr(status.size())
                          : padded;
        std::string pct = r.budget && r.budget->count() > 0
                              ? fmt::format("{:.0f}%", 100.0 * to_ms(r.duration) /
                                                           static_cast<double>(r.budget->count()))
                              : "-";
        print_to(m_out, "{:<10} {:<28} {:<14} {} {:>10} {:>8} {:>7}\n", phase_name(r.phase),
                 fit(r.name, 28), fit(r.kind, 14), coloured, fmt_ms(to_ms(r.duration)),
                 r.budget ? format_duration(*r.budget) : "-", pct);
      }
    };
    rows(report.checks);
    rows(report.steps);
    rows(report.rollbacks);
    const auto& sla = report.sla;
    // A journal without an end has no SLA verdict (nor the playbook's sla.total at hand).
    if (report.mode == Mode::run && report.result != RunResult::unfinished) {
      std::string elapsed = fmt_ms(to_ms(sla.steps_elapsed));
      std::string verdict =
          !sla.evaluated
              ? paint(report.resumed_from.empty()
                          ? "not evaluated (the steps did not all complete)"
                          : "not evaluated (a resumed run: its steps began in another run)",
                      k_yellow)
          : sla.total_exceeded || !sla.over_budget_steps.empty() ? paint("BREACHED", k_red)
          : sla.breached()
              ? paint(fmt::format("BREACHED by the {} (below)", sla.probe && sla.probe->breached()
                                                                    ? "availability probe"
                                                                    : "write probe"),
                      k_red)
          : !sla.writes_verified()
              ? paint("NOT VERIFIED (the writes could not be read back)", k_yellow)
              : paint("met", k_green);
      if (sla.approval_wait.count() > 0) {
        elapsed +=
            fmt::format(" ({} of it waiting for approval{})", fmt_ms(to_ms(sla.approval_wait)),
                        sla.exclude_approvals ? ", left out of the SLA" : "");
      }
      if (sla.total_budget) {
        print_to(
            m_out, "\nSLA: steps took {} of {} ({:.0f}%): {}\n", elapsed,
            format_duration(*sla.total_budget),
            100.0 * to_ms(sla.counted_elapsed()) / static_cast<double>(sla.total_budget->count()),
            verdict);
      } else {
        print_to(m_out, "\nSLA: steps took {} (no sla.total set): {}\n", elapsed, verdict);
      }
      if (report.confirmation.is_object()) {
        const bool yes = report.confirmation.value("answer", "") == "yes";
        print_to(m_out, "{} at the prompt after {}{}\n", yes ? "confirmed" : "declined",
                 fmt_ms(report.confirmation.value("waited_ms", 0.0)),
                 yes ? " (not in the SLA: its clock starts at the first step)" : "");
      }
      if (sla.probe && sla.probe_spec) {
        const auto& p = *sla.probe;
        std::string limits;
        if (sla.probe_spec->p99)
          limits += fmt::format(", P99 budget {}", format_duration(*sla.probe_spec->p99));
        if (sla.probe_spec->max_error_rate)
          limits +=
              fmt::format(", max error rate {:.2f}%", 100.0 * *sla.probe_spec->max_error_rate);
        print_to(m_out,
                 "availability: {} requests to {}, {} failed ({:.2f}%), P50 {:.1f} ms, P99 {:.1f} "
                 "ms, max {:.1f} ms{}: {}\n",
                 p.requests, p.url, p.errors, 100.0 * p.error_rate(), p.latency.p50, p.latency.p99,
                 p.latency.max, limits,
                 p.breached() ? paint("BREACHED", k_red) : paint("met", k_green));
        if (p.longest_streak > 0) {
          std::vector<std::string> where;
          for (const auto& [entry, count] : p.errors_by_entry)
            where.push_back(fmt::format("{} during {}", count, entry));
          print_to(m_out, "  errors: {}; longest streak {} requests ({:.0f} ms) from {}\n",
                   join(where, ", "), p.longest_streak, p.longest_streak_ms,
                   p.longest_streak_during);
        }
      }
      if (sla.write_probe && sla.write_probe_spec)
        print_writes(*sla.write_probe, *sla.write_probe_spec);
    }
  }
  if (!m_style.banner) return;
  const char* colour = report.result == RunResult::success ? k_green : k_red;
  const std::string exit = report.result == RunResult::unfinished
                               ? std::string("no exit")
                               : fmt::format("exit {}", exit_code_for(report.result));
  print_to(m_out, "{} {}\n",
           paint(fmt::format("result: {} ({}):", run_result_name(report.result), exit), colour),
           report.summary);
  std::fflush(m_out);
}

// The write probe: what was sent, what was lost (only when read back), the longest refusal.
void TextReporter::print_writes(const WriteProbeReport& w, const WriteProbeSpec& spec) {
  const auto verdict = w.verdict();
  const std::string shown = verdict == WriteVerdict::met        ? paint("met", k_green)
                            : verdict == WriteVerdict::breached ? paint("BREACHED", k_red)
                                                                : paint("NOT VERIFIED", k_yellow);
  // The verdict heads the block; each line below says what it judged.
  print_to(m_out, "writes: {} sent to {}, {} acknowledged, {} failed, {} unknown outcome{}: {}\n",
           w.attempts, w.url, w.acknowledged, w.failed, w.unknown,
           w.missed_slots ? fmt::format(" ({} not sent: every sender busy)", w.missed_slots) : "",
           shown);
  if (w.verified) {
    print_to(m_out,
             "  lost: {} of {} acknowledged (read back by {} in {:.0f} ms, max_lost {}), "
             "{} duplicated{}{}\n",
             w.lost, w.acknowledged, w.verify_method, w.verify_ms, spec.max_lost, w.duplicates,
             w.unknown
                 ? fmt::format("; {} of {} unknown outcomes landed", w.unknown_landed, w.unknown)
                 : "",
             w.lost_exceeded ? paint(": BREACHED", k_red) : "");
  } else {
    print_to(m_out, "  lost: {}{}: {}\n", w.lost ? fmt::format("at least {}, ", w.lost) : "",
             paint("not verified", k_yellow), w.not_verified_why);
  }
  if (!w.lost_keys.empty()) {
    print_to(m_out, "  lost keys: {}{}\n", join(w.lost_keys, ", "),
             w.lost > static_cast<long long>(w.lost_keys.size()) ? ", ..." : "");
  }
  if (w.longest_gap_ms > 0) {
    std::vector<std::string> where;
    for (const auto& [entry, count] : w.failures_by_entry)
      where.push_back(fmt::format("{} during {}", count, entry));
    print_to(m_out, "  longest write gap {:.0f} ms from {}{}{}{}; not acknowledged: {}\n",
             w.longest_gap_ms, w.longest_gap_during,
             w.longest_gap_recovered ? "" : " (never recovered)",
             spec.max_write_gap
                 ? fmt::format(" (max_write_gap {})", format_duration(*spec.max_write_gap))
                 : "",
             w.gap_exceeded ? paint(": BREACHED", k_red) : "", join(where, ", "));
  }
  // Why they were refused: each class with the first answer of its kind.
  for (const auto& [error_class, count] : w.errors_by_class) {
    auto sample = w.error_samples.find(error_class);
    print_to(m_out, "  {} x{}{}\n", error_class, count,
             sample == w.error_samples.end() || sample->second.empty()
                 ? ""
                 : fmt::format(": {}", sample->second.substr(0, 120)));
  }
}

}  // namespace drctl
