#pragma once
// One journaled run as `drctl show` and `drctl report` render it: found in the state dir or,
// with --playbook, in the etcd copy under the playbook's lock; its report as journaled (a
// finished run) or rebuilt from the journal's lines (a run without an end), with a summary
// that says what became of its process and of the run.
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "command.hpp"
#include "engine/record.hpp"

namespace drctl::cli {

// What the process of a run whose journal has no end came to, judged from its run_started
// line: on this host its pid tells; elsewhere it cannot be known from here.
struct Process {
  std::string state;     // killed, running, unknown
  std::string evidence;  // "pid 4242 on this host is gone"
};
Process process_of(const nlohmann::json& run_started);

struct ShownRun {
  RunReport report;            // its summary completed: the process's fate, the chain's
  nlohmann::json journaled;    // the run_finished line's report; null for a run without an end
  nlohmann::json run_started;  // the journal's first line: who ran it, where, with what
  std::string fate;            // "resumed by R2"; "" when no later run continued it
  std::vector<nlohmann::json> lines;  // the journal's lines

  // The drctl.report/v1 document: as journaled (else rebuilt), with the completed summary
  // and, when it names none, the operator from the journal's run_started line.
  nlohmann::json document() const;
};

// The run `run_id`; `playbook_path` ("" for none) adds the etcd copy. nullopt after printing
// why, with `exit_code` set (64: not found; the playbook's own codes when it cannot be loaded).
std::optional<ShownRun> load_shown_run(const GlobalOptions& global, const std::string& run_id,
                                       const std::string& playbook_path, int& exit_code);

// --html FILE: the run's HTML report, written atomically. False after printing why (the
// caller exits 74).
bool write_html_report(const std::string& path, const nlohmann::json& document);

}  // namespace drctl::cli
