#include "shown_run.hpp"

#include <fmt/format.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <fstream>

#include "common.hpp"
#include "engine/approval_inbox.hpp"
#include "engine/etcd_journal.hpp"
#include "engine/exit_codes.hpp"
#include "engine/journal.hpp"
#include "engine/journal_chain.hpp"
#include "engine/record_json.hpp"
#include "report/html_report.hpp"
#include "report/journal_report.hpp"
#include "util/json_fields.hpp"
#include "util/safe_files.hpp"

namespace drctl::cli {
namespace {

// The runs journaled here and, with a playbook, in the etcd copy: who continued whom.
std::vector<ChainLink> known_links(const GlobalOptions& global, const Playbook* playbook) {
  std::vector<ChainLink> links;
  for (const auto& entry : list_journals(state_dir_of(global))) links.push_back(entry.link);
  if (playbook != nullptr && playbook->lock) {
    if (auto remote = list_etcd_journal_links(*playbook->lock))
      links.insert(links.end(), remote->begin(), remote->end());
  }
  return links;
}

}  // namespace

Process process_of(const nlohmann::json& run_started) {
  char name[256] = {};
  ::gethostname(name, sizeof name - 1);
  const std::string host = json_text(run_started, "host");
  const auto pid = json_int(run_started, "pid");
  if (host.empty() || pid <= 0) return {"unknown", "the journal names no process"};
  if (host != name) return {"unknown", fmt::format("it ran on host {} as pid {}", host, pid)};
  if (::kill(static_cast<pid_t>(pid), 0) != 0 && errno == ESRCH)
    return {"killed", fmt::format("pid {} on this host is gone", pid)};
  std::ifstream comm(fmt::format("/proc/{}/comm", pid));
  std::string program;
  if (comm && std::getline(comm, program) && program != "drctl")
    return {"killed", fmt::format("pid {} on this host is now '{}', not drctl", pid, program)};
  return {"running", fmt::format("pid {} on this host is alive", pid)};
}

std::optional<ShownRun> load_shown_run(const GlobalOptions& global, const std::string& run_id,
                                       const std::string& playbook_path, int& exit_code) {
  std::optional<Playbook> playbook;
  if (!playbook_path.empty()) {
    playbook = load_or_report(playbook_path, global, exit_code);
    if (!playbook) return std::nullopt;
  }
  auto lines = find_journal(global, run_id, playbook ? &*playbook : nullptr);
  if (!lines) {
    print_error(lines.error());
    exit_code = k_exit_usage;
    return std::nullopt;
  }
  ShownRun run;
  for (const auto& line : *lines) {
    const std::string type = json_text(line, "type");
    if (type == "run_started" && run.run_started.is_null()) run.run_started = line;
    if (type == "run_finished" && json_member(line, "report").is_object())
      run.journaled = line["report"];
  }
  run.report = journal_report(*lines);
  run.lines = *lines;
  run.fate = chain_fate(known_links(global, playbook ? &*playbook : nullptr), run_id);
  if (run.report.result == RunResult::unfinished) {
    Process process = process_of(run.run_started);
    if (auto waiting = approval_waiting_in(*lines);
        waiting && run.fate.empty() && process.state != "killed") {
      // Not a stop: the run waits, by design (its journal's end comes with the decision).
      run.report.summary =
          fmt::format("the run waits for approval at step '{}' since {} ({}): drctl approve {} {}",
                      waiting->step, waiting->since, waiting->message, run_id, waiting->step);
    }
    run.report.summary +=
        !run.fate.empty()            ? "; the process was killed"
        : process.state == "killed"  ? "; the process was killed (" + process.evidence + ")"
        : process.state == "running" ? "; it may still be running (" + process.evidence + ")"
                                     : "; killed, or still running (" + process.evidence + ")";
  }
  if (!run.fate.empty()) run.report.summary += "; then " + run.fate;
  return run;
}

nlohmann::json ShownRun::document() const {
  nlohmann::json doc = journaled.is_object() ? journaled : report_to_json(report);
  doc["summary"] = report.summary;
  const auto& who = json_member(doc, "operator");
  if (json_text(who, "user").empty() && json_text(who, "host").empty()) {
    // A report older than the operator field, or one rebuilt from the lines: run_started
    // names who ran it ("?" when the journal could not tell).
    const std::string user = json_text(run_started, "user"), host = json_text(run_started, "host");
    if ((!user.empty() && user != "?") || !host.empty())
      doc["operator"] = {{"user", user == "?" ? "" : user}, {"host", host}};
  }
  return doc;
}

bool write_html_report(const std::string& path, const nlohmann::json& document) {
  if (auto written = replace_file(path, report_to_html(document), 0644); !written) {
    report_output_failure(
        fmt::format("cannot write HTML report {}: {}", path, written.error().message));
    return false;
  }
  return true;
}

}  // namespace drctl::cli
