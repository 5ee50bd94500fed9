#include "common.hpp"

#include <fmt/format.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <regex>

#include "engine/etcd_journal.hpp"
#include "engine/exit_codes.hpp"
#include "engine/journal.hpp"
#include "report/html_report.hpp"
#include "report/json_report.hpp"
#include "report/junit_report.hpp"
#include "report/pushgateway.hpp"
#include "report/text_report.hpp"
#include "runs_prune.hpp"
#include "signals.hpp"
#include "util/print.hpp"
#include "util/safe_files.hpp"
#include "util/strings.hpp"

namespace drctl::cli {

void print_error(const std::string& message) {
  print_to(stderr, "drctl: error: {}\n", message);
}

namespace {
bool g_output_failed = false;
}  // namespace

void report_output_failure(const std::string& message) {
  print_error(message);
  g_output_failed = true;
}

bool output_failed() {
  return g_output_failed;
}

std::optional<std::map<std::string, std::string>> parse_vars(const std::vector<std::string>& vars) {
  // The value may be anything, several lines included (a config file's content).
  static const std::regex k_name(R"(^[A-Za-z0-9_-]+$)");
  std::map<std::string, std::string> out;
  for (const auto& v : vars) {
    auto equals = v.find('=');
    std::string name = equals == std::string::npos ? v : v.substr(0, equals);
    if (equals == std::string::npos || !std::regex_match(name, k_name)) {
      print_error(fmt::format("--var {}: expected NAME=VALUE (NAME of letters, digits, '-', '_')",
                              one_line(v.substr(0, 80))));
      return std::nullopt;
    }
    out[name] = v.substr(equals + 1);
  }
  return out;
}

namespace {

// The file is written as the reporters will (a new temp file beside it, renamed over it):
// never through a name someone could have planted, and not in a directory others can write.
bool report_file_writable(const char* flag, const std::string& path) {
  if (path.empty()) return true;
  auto dir = open_dir_checked(parent_dir(path), DirTrust::not_shared);
  if (!dir) {
    print_error(
        dir.error().unsafe
            ? fmt::format("{} {}: {}: a file there could be replaced by others", flag, path,
                          dir.error().message)
            : fmt::format("{} {}: cannot write there: {}", flag, path, dir.error().message));
    return false;
  }
  auto probe = create_temp_beside(path, 0600);
  if (!probe) {
    print_error(fmt::format("{} {}: cannot write there: {}", flag, path, probe.error().message));
    return false;
  }
  ::unlink(probe->path.c_str());
  return true;
}

}  // namespace

bool report_files_writable(const GlobalOptions& global) {
  return report_file_writable("--junit", global.junit_path) &&
         report_file_writable("--html", global.html_path);
}

std::optional<Playbook> load_or_report(const std::string& path, const GlobalOptions& global,
                                       int& exit_code) {
  if (!report_files_writable(global)) {
    exit_code = k_exit_usage;
    return std::nullopt;
  }
  auto overrides = parse_vars(global.vars);
  if (!overrides) {
    exit_code = k_exit_usage;
    return std::nullopt;
  }
  LoadOptions options;
  options.var_overrides = *overrides;
  auto result = load_playbook(path, options);
  if (result.unreadable) {
    print_error(fmt::format("{}: cannot read the playbook file", path));
    exit_code = k_exit_usage;
    return std::nullopt;
  }
  for (const auto& d : result.diagnostics) {
    if (d.severity == Diagnostic::Severity::error || !global.quiet)
      print_to(stderr, "{}\n", d.to_string());
  }
  if (!result.playbook) {
    std::size_t errors = std::count_if(
        result.diagnostics.begin(), result.diagnostics.end(),
        [](const Diagnostic& d) { return d.severity == Diagnostic::Severity::error; });
    print_error(
        fmt::format("{}: invalid playbook ({} error{})", path, errors, errors == 1 ? "" : "s"));
    exit_code = k_exit_invalid_playbook;
    return std::nullopt;
  }
  return std::move(result.playbook);
}

std::string state_dir_of(const GlobalOptions& global) {
  return global.state_dir.empty() ? default_state_dir() : global.state_dir;
}

tl::expected<std::vector<nlohmann::json>, std::string> find_journal(const GlobalOptions& global,
                                                                    const std::string& run_id,
                                                                    const Playbook* playbook) {
  auto local = read_journal(state_dir_of(global), run_id);
  if (local) return local;
  if (playbook == nullptr)
    return tl::unexpected(local.error() +
                          " (--playbook FILE also reads the etcd copy under its run lock)");
  if (!playbook->lock)
    return tl::unexpected(local.error() + " (the playbook has no lock:, so no etcd copy)");
  auto remote = read_etcd_journal(*playbook->lock, run_id);
  if (remote) return remote;
  return tl::unexpected(fmt::format("{}; {}", local.error(), remote.error()));
}

std::optional<std::string> journal_dir(const GlobalOptions& global) {
  auto dir = prepare_journal_dir(global.state_dir.empty() ? default_state_dir() : global.state_dir);
  if (!dir) {
    print_error(dir.error());
    return std::nullopt;
  }
  return *dir;
}

int execute(const Playbook& playbook, Mode mode, const GlobalOptions& global) {
  return exit_code_for(execute_report(playbook, mode, global).result);
}

RunReport execute_report(const Playbook& playbook, Mode mode, const GlobalOptions& global) {
  RunOptions options;
  options.mode = mode;
  return execute_report(playbook, options, global);
}

RunReport execute_report(const Playbook& playbook, RunOptions options,
                         const GlobalOptions& global) {
  const Mode mode = options.mode;
  // First, before any reporter starts a thread (the terminal's ticker, the journal's sync
  // lanes): threads inherit the blocked signals, so only the watcher ever takes SIGINT.
  CancelToken cancel;
  SignalWatch signals(cancel, parse_duration(global.grace).value_or(Millis(10'000)));
  ReporterList reporters;
  // Text goes to stdout, unless stdout carries the JSON document: then progress goes to stderr.
  std::FILE* text_out = global.output == OutputFormat::json ? stderr : stdout;
  bool tty = ::isatty(::fileno(text_out)) != 0;
  TextStyle style;
  style.live = tty;
  style.color = tty && std::getenv("NO_COLOR") == nullptr;
  style.verbose = global.verbose;
  style.quiet = global.quiet;
  style.table = global.output == OutputFormat::text && !global.probe;
  style.banner = !global.probe;
  style.terminal_input = ::isatty(STDIN_FILENO) != 0;
  if (!global.state_dir.empty()) style.approve_flags += " --state-dir " + global.state_dir;
  if (playbook.lock && !playbook.source_path.empty())
    style.approve_flags += " [--playbook " + playbook.source_path + " from another machine]";
  reporters.add(std::make_unique<TextReporter>(text_out, style));
  if (global.output == OutputFormat::json) reporters.add(std::make_unique<JsonReporter>(stdout));
  JunitReporter* junit = nullptr;
  if (!global.junit_path.empty()) {
    auto reporter = std::make_unique<JunitReporter>(global.junit_path);
    junit = reporter.get();
    reporters.add(std::move(reporter));
  }
  HtmlReporter* html = nullptr;
  if (!global.html_path.empty()) {
    auto reporter = std::make_unique<HtmlReporter>(global.html_path);
    html = reporter.get();
    reporters.add(std::move(reporter));
  }

  JournalReporter* journal = nullptr;
  if (mode == Mode::run || mode == Mode::rollback) {
    if (auto dir = journal_dir(global)) {
      std::vector<std::unique_ptr<JournalSink>> sinks;
      sinks.push_back(file_journal_sink(*dir));
      if (playbook.lock)
        sinks.push_back(
            etcd_journal_sink(*playbook.lock));  // so another machine can resume or roll back
      auto reporter = std::make_unique<JournalReporter>(std::move(sinks), playbook);
      journal = reporter.get();
      reporters.add(std::move(reporter));
    }
  }

  // Last: the journal is complete before a slow Pushgateway is called.
  PushgatewayReporter* pusher = nullptr;
  if (!global.push_metrics.empty()) {
    auto reporter = std::make_unique<PushgatewayReporter>(global.push_metrics);
    pusher = reporter.get();
    reporters.add(std::move(reporter));
  }

  options.parallel = global.parallel;
  // Approval steps wait here: typed on this terminal, or posted by drctl approve (the state
  // dir, or etcd beside the journal's copy when the playbook has a lock).
  std::optional<ApprovalInbox> approvals;
  if (mode == Mode::run || mode == Mode::rollback) {
    approvals.emplace(ApprovalPlace{state_dir_of(global), playbook.lock},
                      ::isatty(STDIN_FILENO) != 0);
    options.approvals = &*approvals;
  }
  RunReport report = run_playbook(playbook, builtin_kinds(), reporters, options, cancel);
  if (junit != nullptr && !junit->error().empty()) report_output_failure(junit->error());
  if (html != nullptr && !html->error().empty()) report_output_failure(html->error());
  if (journal != nullptr && !journal->error().empty()) print_error(journal->error());
  if (pusher != nullptr && !pusher->error().empty()) print_error(pusher->error());
  if (journal != nullptr && journal->error().empty())
    prune_after_run(playbook, global, report.run_id);  // lock.journal_retention
  return report;
}

}  // namespace drctl::cli
