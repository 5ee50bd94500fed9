// drctl runs: the journaled runs, newest first. drctl show RUN_ID: one run's journal, as its
// final report (text, JSON or JUnit), or, for a run that never finished, what was done.
#include <fmt/format.h>

#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>

#include "command.hpp"
#include "common.hpp"
#include "engine/etcd_journal.hpp"
#include "engine/exit_codes.hpp"
#include "engine/journal.hpp"
#include "report/journal_report.hpp"
#include "report/junit_report.hpp"
#include "util/json_dump.hpp"
#include "util/json_fields.hpp"
#include "util/print.hpp"

namespace drctl::cli {
namespace {

class RunsCommand : public Command {
 public:
  const char* name() const override { return "runs"; }
  const char* help() const override { return "List the journaled runs, newest first"; }
  void setup(CLI::App& app) override {
    app.add_option("--playbook", m_playbook_path,
                   "List the runs in the etcd copy of the journal, under this playbook's run lock");
  }
  int run(const GlobalOptions& global) override {
    if (!m_playbook_path.empty()) return list_etcd(global);
    auto runs = list_journals(state_dir_of(global));
    if (global.output == OutputFormat::json) {
      nlohmann::json out = nlohmann::json::array();
      for (const auto& r : runs) {
        out.push_back(
            {{"run_id", r.run_id},
             {"playbook", r.playbook},
             {"started_at", r.started_at},
             {"result", r.exit_code < 0 ? nlohmann::json(nullptr) : nlohmann::json(r.result)},
             {"exit_code", r.exit_code < 0 ? nlohmann::json(nullptr) : nlohmann::json(r.exit_code)},
             {"journal", r.path}});
      }
      std::puts(dump_json(out, 2).c_str());
      return 0;
    }
    if (runs.empty()) print_to(stdout, "no runs in {}/runs\n", state_dir_of(global));
    for (const auto& r : runs) {
      print_to(stdout, "{:<28} {:<24} {:<26} {}\n", r.run_id, r.started_at, r.playbook,
               r.exit_code < 0 ? std::string("(no end: killed, or still running)")
                               : fmt::format("{} (exit {})", r.result, r.exit_code));
    }
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
    auto runs = list_etcd_journals(*playbook->lock);
    if (!runs) {
      print_error(runs.error());
      return 1;
    }
    if (global.output == OutputFormat::json) {
      std::puts(dump_json(nlohmann::json(*runs), 2).c_str());
    } else {
      for (const auto& run : *runs) print_to(stdout, "{}\n", run);
    }
    return 0;
  }
  std::string m_playbook_path;
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
    std::optional<Playbook> playbook;
    if (!m_playbook_path.empty()) {
      int exit_code = 0;
      playbook = load_or_report(m_playbook_path, global, exit_code);
      if (!playbook) return exit_code;
    }
    auto lines = find_journal(global, m_run_id, playbook ? &*playbook : nullptr);
    if (!lines) {
      print_error(lines.error());
      return 1;
    }
    if (!global.junit_path.empty()) {
      JunitReporter junit(global.junit_path);
      junit.run_finished(journal_report(*lines));
      if (!junit.error().empty()) {
        report_output_failure(junit.error());
        return k_exit_output_failed;
      }
    }
    const nlohmann::json* report = nullptr;
    for (const auto& line : *lines) {
      if (json_text(line, "type") == "run_finished") report = &json_member(line, "report");
    }
    if (global.output == OutputFormat::json) {
      std::puts(dump_json((report ? *report
                                  : nlohmann::json{{"run_id", m_run_id},
                                                   {"result", nullptr},
                                                   {"journal", *lines}}),
                          2)
                    .c_str());
      return 0;
    }
    for (const auto& line : *lines) {
      if (json_text(line, "type") != "entry_finished") continue;
      print_to(stdout, "{:<9} {:<28} {:<18} {:<14} {:>10.1f} ms  {}\n", json_text(line, "phase"),
               json_text(line, "name"), json_text(line, "kind"), json_text(line, "status"),
               json_number(line, "duration_ms"), json_text(line, "message"));
    }
    if (report) {
      print_to(stdout, "result: {} (exit {}): {}\n", json_text(*report, "result"),
               json_int(*report, "exit_code", -1), json_text(*report, "summary"));
    } else {
      print_to(stdout,
               "result: none: the journal ends here (the run was killed, or is still running)\n");
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
