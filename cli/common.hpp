#pragma once
// What several subcommands share: loading a playbook with its diagnostics, building the
// reporters from the global options, and printing one-line errors.
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <tl/expected.hpp>
#include <vector>

#include "command.hpp"
#include "core/cancel.hpp"
#include "engine/runner.hpp"
#include "playbook/loader.hpp"

namespace drctl::cli {

// "drctl: error: <message>" on stderr.
void print_error(const std::string& message);

// A report the caller asked for (stdout, --junit) could not be written: prints why, and the
// process exits 74 instead of 0 (a non-zero result keeps its own code). See main.cpp.
void report_output_failure(const std::string& message);
bool output_failed();

// Parses --var NAME=VALUE into overrides; nullopt (after printing why) when one is malformed.
std::optional<std::map<std::string, std::string>> parse_vars(const std::vector<std::string>& vars);

// Fails (printing why) when a report file asked for cannot be written: checked before anything
// runs, so a pipeline never gets a switch without the report it asked for.
bool report_files_writable(const GlobalOptions& global);

// --state-dir, or its default.
std::string state_dir_of(const GlobalOptions& global);

// One run's journal lines: from the state dir, else from the etcd copy under `playbook`'s
// run lock (when it has one); the error says where it looked.
tl::expected<std::vector<nlohmann::json>, std::string> find_journal(const GlobalOptions& global,
                                                                    const std::string& run_id,
                                                                    const Playbook* playbook);

// The journal directory of `run` (<state dir>/runs), created if needed; prints why not.
std::optional<std::string> journal_dir(const GlobalOptions& global);

// Loads and validates; prints every diagnostic to stderr. Returns nullopt with `exit_code`
// set (65 invalid, 64 unreadable or bad --var) when the playbook cannot be used.
std::optional<Playbook> load_or_report(const std::string& path, const GlobalOptions& global,
                                       int& exit_code);

// Runs the playbook in `mode` with the reporters the global options ask for; returns the exit code.
int execute(const Playbook& playbook, Mode mode, const GlobalOptions& global);
// The same, returning the whole report (for callers that derive their own exit code).
RunReport execute_report(const Playbook& playbook, Mode mode, const GlobalOptions& global);
// With run options (resume, rollback); options.parallel comes from the global options.
RunReport execute_report(const Playbook& playbook, RunOptions options, const GlobalOptions& global);

}  // namespace drctl::cli
