// drctl runs: the journaled runs, newest first, as a history (what each was, how it ended,
// what became of it). drctl show RUN_ID: one run's journal, as its final report (text, JSON,
// JUnit or HTML), or, for a run whose journal has no end, what was done and where it stopped.
#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string_view>

#include "command.hpp"
#include "common.hpp"
#include "engine/approval_inbox.hpp"
#include "engine/etcd_journal.hpp"
#include "engine/exit_codes.hpp"
#include "engine/journal.hpp"
#include "engine/journal_chain.hpp"
#include "engine/record_json.hpp"
#include "report/drill_trend.hpp"
#include "report/junit_report.hpp"
#include "report/text_report.hpp"
#include "runs_prune.hpp"
#include "shown_run.hpp"
#include "util/clock.hpp"
#include "util/duration.hpp"
#include "util/json_dump.hpp"
#include "util/json_fields.hpp"
#include "util/print.hpp"
#include "util/strings.hpp"

namespace drctl::cli {
namespace {

// The first line of a journal file: its run_started record (null when torn or absent).
nlohmann::json first_line_of(const std::string& path) {
  std::ifstream in(path);
  std::string line;
  std::getline(in, line);
  return nlohmann::json::parse(line, nullptr, false);
}

// One run of the history: its journal's first and last word, and the runs that continued it.
struct Run {
  JournalEntry entry;
  nlohmann::json run_started;  // for a journal without an end: whose process it was
  std::vector<ChainLink> followers;
  std::optional<ApprovalWaiting> waiting;  // a journal without an end: the approval it waits at
};

// "resume of R1", "rollback of R1", "run".
std::string mode_text(const ChainLink& link) {
  if (link.mode == "rollback")
    return link.parent.empty() ? "rollback" : "rollback of " + link.parent;
  if (!link.parent.empty()) return "resume of " + link.parent;
  return link.mode.empty() ? "?" : link.mode;
}

// "killed; resumed by R2", "partial (exit 3); rolled back by R3", "success (exit 0)".
std::string result_text(const Run& run) {
  std::string text;
  if (run.entry.exit_code >= 0) {
    text = fmt::format("{} (exit {})", run.entry.result, run.entry.exit_code);
    if (run.entry.result == "lock_held") text += ": refused, no step ran";
  } else if (!run.followers.empty()) {
    text = "killed";  // a later run took over its journal: its process had stopped
  } else {
    Process process = process_of(run.run_started);
    const std::string waits = run.waiting
                                  ? fmt::format("waiting for approval at step '{}' since {}",
                                                run.waiting->step, run.waiting->since)
                                  : "";
    text = process.state == "killed" ? "killed"
           : !waits.empty()          ? fmt::format("{} ({})", waits, process.evidence)
           : process.state == "running"
               ? "no end yet: running (" + process.evidence + ")"
               : "no end: killed, or still running (" + process.evidence + ")";
  }
  std::string fate = chain_fate(run.followers, run.entry.run_id);
  return fate.empty() ? text : text + "; " + fate;
}

nlohmann::json run_json(const Run& run) {
  const auto& e = run.entry;
  nlohmann::json followers = nlohmann::json::array();
  for (const auto& f : run.followers)
    followers.push_back(
        {{"run_id", f.run_id}, {"mode", f.mode == "rollback" ? "rollback" : "resume"}});
  auto or_null = [](const std::string& text) {
    return text.empty() ? nlohmann::json(nullptr) : nlohmann::json(text);
  };
  const bool rollback = e.link.mode == "rollback";
  return {{"run_id", e.run_id},
          {"mode", e.link.mode.empty() ? nlohmann::json(nullptr) : nlohmann::json(e.link.mode)},
          {"resumed_from", or_null(rollback ? "" : e.link.parent)},
          {"rolls_back", or_null(rollback ? e.link.parent : "")},
          {"playbook", e.playbook},
          {"started_at", e.started_at},
          {"result", e.exit_code < 0 ? nlohmann::json(nullptr) : nlohmann::json(e.result)},
          {"exit_code", e.exit_code < 0 ? nlohmann::json(nullptr) : nlohmann::json(e.exit_code)},
          {"process", e.exit_code >= 0         ? nlohmann::json(nullptr)
                      : !run.followers.empty() ? nlohmann::json("killed")
                                               : nlohmann::json(process_of(run.run_started).state)},
          {"followed_by", followers},
          {"waiting_for_approval", run.waiting && e.exit_code < 0 && run.followers.empty() &&
                                           process_of(run.run_started).state != "killed"
                                       ? nlohmann::json{{"step", run.waiting->step},
                                                        {"message", run.waiting->message},
                                                        {"since", run.waiting->since}}
                                       : nlohmann::json(nullptr)},
          {"journal", e.path}};
}

// Each run with the runs that resumed or rolled it back, newest first.
std::vector<Run> history(std::vector<Run> runs) {
  std::vector<ChainLink> links;
  for (const auto& run : runs) links.push_back(run.entry.link);
  for (auto& run : runs) {
    for (const auto& link : links) {
      if (!link.parent.empty() && link.parent == run.entry.run_id) run.followers.push_back(link);
    }
  }
  std::stable_sort(runs.begin(), runs.end(), [](const Run& a, const Run& b) {
    return a.entry.started_at > b.entry.started_at;
  });
  return runs;
}

void print_history(const std::vector<Run>& runs, const GlobalOptions& global) {
  if (global.output == OutputFormat::json) {
    nlohmann::json out = nlohmann::json::array();
    for (const auto& run : runs) out.push_back(run_json(run));
    print_to(stdout, "{}\n", dump_json(out, 2));
    return;
  }
  std::vector<std::array<std::string, 5>> rows{{"RUN ID", "STARTED", "MODE", "PLAYBOOK", "RESULT"}};
  for (const auto& run : runs) {
    rows.push_back({run.entry.run_id, run.entry.started_at, mode_text(run.entry.link),
                    run.entry.playbook, result_text(run)});
  }
  std::array<std::size_t, 4> width{};
  for (const auto& row : rows) {
    for (std::size_t i = 0; i < width.size(); ++i) width[i] = std::max(width[i], row[i].size());
  }
  for (const auto& row : rows) {
    print_to(stdout, "{:<{}}  {:<{}}  {:<{}}  {:<{}}  {}\n", row[0], width[0], row[1], width[1],
             row[2], width[2], row[3], width[3], row[4]);
  }
}

bool all_digits(std::string_view text) {
  // On unsigned char: std::isdigit of a negative char (any non-ASCII byte) is UB.
  return std::all_of(text.begin(), text.end(),
                     [](unsigned char c) { return std::isdigit(c) != 0; });
}

// "2026-11-01" or "2026-11-01T08:00:00Z" (seconds may have a fraction), in UTC only: nothing
// else (no offset, no trailing text), as the cutoff. A time is written as drctl writes
// started_at (".000Z"), so the two compare as text: "08:00:00Z" would sort after "08:00:00.5Z".
std::optional<std::string> date_cutoff(std::string_view text) {
  auto number = [&](std::size_t at, std::size_t digits, int low, int high) {
    const std::string_view part = text.substr(at, digits);
    if (part.size() != digits || !all_digits(part)) return false;
    const int value = std::stoi(std::string(part));
    return value >= low && value <= high;
  };
  if (text.size() < 10 || text[4] != '-' || text[7] != '-' || !number(0, 4, 0, 9999) ||
      !number(5, 2, 1, 12) || !number(8, 2, 1, 31))
    return std::nullopt;
  if (text.size() == 10) return std::string(text);
  if (text.size() < 20 || text[10] != 'T' || text[13] != ':' || text[16] != ':' ||
      !number(11, 2, 0, 23) || !number(14, 2, 0, 59) || !number(17, 2, 0, 60) || text.back() != 'Z')
    return std::nullopt;
  std::string_view fraction = text.substr(19, text.size() - 20);  // ".5" of ":00.5Z", or ""
  if (!fraction.empty()) {
    if (fraction.size() < 2 || fraction.size() > 10 || fraction[0] != '.' ||
        !all_digits(fraction.substr(1)))
      return std::nullopt;
    fraction.remove_prefix(1);
  }
  std::string millis(fraction.substr(0, 3));
  millis.resize(3, '0');
  return fmt::format("{}.{}Z", text.substr(0, 19), millis);
}

// --since: "7d", "12h", "90m" (ago), or a date or time "2026-11-01", "2026-11-01T08:00:00Z";
// the earliest started_at to list (RFC 3339 strings compare in time order).
std::optional<std::string> since_cutoff(const std::string& text) {
  std::optional<Millis> ago;
  if (text.size() > 1 && text.back() == 'd' &&
      all_digits(std::string_view(text).substr(0, text.size() - 1))) {
    if (text.size() > 6) return std::nullopt;
    ago = Millis(std::stoll(text.substr(0, text.size() - 1)) * 24 * 3600 * 1000);
  } else {
    ago = parse_duration(text);
  }
  if (ago) return rfc3339_utc(std::chrono::system_clock::now() - *ago);
  return date_cutoff(text);
}

// The run's figures from its journal's lines: its report, or, without an end, its start.
DrillFigures figures_of(const std::string& run_id, const std::vector<nlohmann::json>& lines) {
  for (const auto& line : lines) {
    if (json_text(line, "type") == "run_finished")
      return drill_figures(run_id, json_member(line, "report"));
  }
  DrillFigures figures = drill_figures(run_id, nullptr);
  for (const auto& line : lines) {
    if (json_text(line, "type") != "run_started") continue;
    figures.started_at = json_text(line, "started_at");
    figures.playbook = json_text(json_member(line, "playbook"), "name");
    figures.mode = json_text(line, "mode");
  }
  return figures;
}

void print_trend(std::vector<DrillFigures> runs, const GlobalOptions& global) {
  std::stable_sort(runs.begin(), runs.end(), [](const DrillFigures& a, const DrillFigures& b) {
    return a.started_at < b.started_at;
  });
  if (global.output == OutputFormat::json) {
    nlohmann::json out = nlohmann::json::array();
    for (const auto& run : runs) out.push_back(drill_figures_json(run));
    print_to(stdout, "{}\n", dump_json(out, 2));
    return;
  }
  print_to(stdout, "{}", drill_trend_text(runs));
}

class RunsCommand : public Command {
 public:
  const char* name() const override { return "runs"; }
  const char* help() const override {
    return "List the journaled runs, newest first: mode, result and what became of each";
  }
  void setup(CLI::App& app) override {
    app.add_option("--playbook", m_playbook_path,
                   "List the runs in the etcd copy of the journal, under this playbook's run lock");
    app.add_option("--since", m_since,
                   "The trend: runs started since then (7d, 12h, 2026-11-01), oldest first, "
                   "with takeover time, database freeze, writes lost, write gap and result");
    app.add_option("--name", m_name, "Only the runs of the playbook with this name");
    add_prune_options(app, m_prune);
  }
  int run(const GlobalOptions& global) override {
    if (m_prune.any()) return run_prune(m_prune, m_playbook_path, m_name, m_since, global);
    if (!m_since.empty()) {
      auto cutoff = since_cutoff(m_since);
      if (!cutoff) {
        print_error(
            fmt::format("--since {}: expected a duration (7d, 12h, 30m) or a date "
                        "(2026-11-01, 2026-11-01T08:00:00Z)",
                        m_since));
        return k_exit_usage;
      }
      m_cutoff = *cutoff;
    }
    if (!m_playbook_path.empty()) return list_etcd(global);
    std::vector<Run> runs;
    std::vector<DrillFigures> trend;
    std::string refused;
    for (auto& entry : list_journals(state_dir_of(global), &refused)) {
      if (!wanted(entry.playbook, entry.started_at)) continue;
      if (!m_since.empty()) {
        auto lines = read_journal(state_dir_of(global), entry.run_id);
        trend.push_back(figures_of(entry.run_id, lines ? *lines : std::vector<nlohmann::json>{}));
        continue;
      }
      Run run{std::move(entry), nullptr, {}, std::nullopt};
      if (run.entry.exit_code < 0) {
        run.run_started = first_line_of(run.entry.path);
        if (auto lines = read_journal(state_dir_of(global), run.entry.run_id))
          run.waiting = approval_waiting_in(*lines);
      }
      runs.push_back(std::move(run));
    }
    if (!refused.empty()) print_to(stderr, "drctl: warning: {} (not listed)\n", refused);
    if (!m_since.empty())
      return trend_or_none(std::move(trend), global, state_dir_of(global) + "/runs");
    if (runs.empty() && global.output == OutputFormat::text) {
      print_to(stdout, "no runs in {}/runs\n", state_dir_of(global));
      return 0;
    }
    print_history(history(std::move(runs)), global);
    return 0;
  }

 private:
  int list_etcd(const GlobalOptions& global) {
    int exit_code = 0;
    auto playbook = load_or_report(m_playbook_path, global, exit_code);
    if (!playbook) return exit_code;
    if (!playbook->lock) {
      print_error(
          fmt::format("{}: has no lock:, so its runs have no etcd journal", m_playbook_path));
      return k_exit_usage;
    }
    auto ids = list_etcd_journals(*playbook->lock);
    if (!ids) {
      print_error(ids.error());
      return 1;
    }
    std::vector<Run> runs;
    std::vector<DrillFigures> trend;
    for (const auto& id : *ids) {
      auto lines = read_etcd_journal(*playbook->lock, id);
      if (!lines) {
        print_error(lines.error());
        return 1;
      }
      if (!m_since.empty()) {
        DrillFigures figures = figures_of(id, *lines);
        if (wanted(figures.playbook, figures.started_at)) trend.push_back(std::move(figures));
        continue;
      }
      Run run{{}, nullptr, {}, approval_waiting_in(*lines)};
      run.entry.run_id = id;
      run.entry.path = etcd_journal_prefix(*playbook->lock, id);
      for (const auto& line : *lines) {
        const std::string type = json_text(line, "type");
        if (type == "run_started") {
          run.run_started = line;
          run.entry.link = chain_link(line);
          run.entry.playbook = json_text(json_member(line, "playbook"), "name");
          run.entry.started_at = json_text(line, "started_at");
        } else if (type == "run_finished") {
          run.entry.result = json_text(json_member(line, "report"), "result");
          run.entry.exit_code =
              static_cast<int>(json_int(json_member(line, "report"), "exit_code", -1));
        }
      }
      if (!wanted(run.entry.playbook, run.entry.started_at)) continue;
      runs.push_back(std::move(run));
    }
    if (!m_since.empty())
      return trend_or_none(std::move(trend), global, "the etcd journal of " + m_playbook_path);
    if (runs.empty() && global.output == OutputFormat::text) {
      print_to(stdout, "no runs in the etcd journal of {}\n", m_playbook_path);
      return 0;
    }
    print_history(history(std::move(runs)), global);
    return 0;
  }
  bool wanted(const std::string& playbook, const std::string& started_at) const {
    return (m_name.empty() || playbook == m_name) && (m_cutoff.empty() || started_at >= m_cutoff);
  }
  int trend_or_none(std::vector<DrillFigures> trend, const GlobalOptions& global,
                    const std::string& where) const {
    if (trend.empty() && global.output == OutputFormat::text) {
      print_to(stdout, "no runs{} since {} in {}\n",
               m_name.empty() ? "" : fmt::format(" of '{}'", m_name), m_cutoff, where);
      return 0;
    }
    print_trend(std::move(trend), global);
    return 0;
  }
  std::string m_playbook_path, m_since, m_name, m_cutoff;
  PruneFlags m_prune;
};

class ShowCommand : public Command {
 public:
  const char* name() const override { return "show"; }
  const char* help() const override {
    return "Show one run's journal: its report, or what was done before it stopped";
  }
  void setup(CLI::App& app) override {
    app.add_option("run_id", m_run_id, "Run id (drctl runs lists them)")->required();
    app.add_option("--playbook", m_playbook_path,
                   "Also look in the etcd copy of the journal, under this playbook's run lock");
  }
  int run(const GlobalOptions& global) override {
    int exit_code = 0;
    auto shown = load_shown_run(global, m_run_id, m_playbook_path, exit_code);
    if (!shown) return exit_code;
    const RunReport& report = shown->report;
    const nlohmann::json& run_started = shown->run_started;
    const std::string& fate = shown->fate;

    if (!global.junit_path.empty()) {
      JunitReporter junit(global.junit_path);
      junit.run_finished(report);
      if (!junit.error().empty()) {
        report_output_failure(junit.error());
        return k_exit_output_failed;
      }
    }
    if (!global.html_path.empty() && !write_html_report(global.html_path, shown->document()))
      return k_exit_output_failed;
    if (global.output == OutputFormat::json) {
      // A finished run: the report it printed, as journaled. Else the rebuilt one.
      print_to(
          stdout, "{}\n",
          dump_json(shown->journaled.is_object() ? shown->journaled : report_to_json(report), 2));
      return 0;
    }
    const std::string user = json_text(run_started, "user");
    print_to(stdout, "run {} ({}) of playbook '{}' ({}), started {} on host {}{}\n", report.run_id,
             mode_text(chain_link(run_started)), report.playbook_name, report.playbook_path,
             json_text(run_started, "started_at"), json_text(run_started, "host", "?"),
             user.empty() || user == "?" ? "" : " by " + user);
    TextStyle style;
    style.color = ::isatty(STDOUT_FILENO) != 0 && std::getenv("NO_COLOR") == nullptr;
    style.verbose = global.verbose;
    TextReporter(stdout, style).run_finished(report);
    auto waiting = approval_waiting_in(shown->lines);
    if (report.result == RunResult::unfinished && fate.empty() && waiting &&
        process_of(run_started).state != "killed") {
      print_to(stdout,
               "next: drctl approve {0} {1} (it goes on), or drctl reject {0} {1} (it rolls "
               "back)\n",
               report.run_id, waiting->step);
    } else if (report.result == RunResult::unfinished && fate.empty()) {
      const std::string path = report.playbook_path.empty() ? "PLAYBOOK" : report.playbook_path;
      print_to(stdout,
               "next: drctl run {0} --resume {1} (to finish it), or drctl rollback {1} (to undo "
               "it)\n",
               path, report.run_id);
    }
    return 0;
  }

 private:
  std::string m_run_id, m_playbook_path;
};

}  // namespace

std::unique_ptr<Command> make_runs_command() {
  return std::make_unique<RunsCommand>();
}
std::unique_ptr<Command> make_show_command() {
  return std::make_unique<ShowCommand>();
}

}  // namespace drctl::cli
