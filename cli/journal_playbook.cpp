#include "journal_playbook.hpp"

#include <fmt/format.h>

#include "common.hpp"
#include "playbook/loader.hpp"
#include "util/print.hpp"

namespace drctl::cli {

std::optional<JournalState> load_journal_state(const GlobalOptions& global,
                                               const std::string& run_id,
                                               const Playbook* playbook) {
  auto lines = find_journal(global, run_id, playbook);
  if (!lines) {
    print_error(lines.error());
    return std::nullopt;
  }
  auto state = journal_state(*lines);
  if (!state) {
    print_error(fmt::format("run {}: {}", run_id, state.error()));
    return std::nullopt;
  }
  return std::move(*state);
}

bool same_playbook(const JournalState& journal, const Playbook& playbook, bool force) {
  if (journal.playbook_hash == playbook.hash) return true;
  std::string why = fmt::format("run {} was made from another version of the playbook ({}, now {})",
                                journal.run_id, journal.playbook_hash, playbook.hash);
  if (!force) {
    print_error(why + ": use --force to go on anyway");
    return false;
  }
  print_to(stderr, "drctl: warning: {}; going on (--force)\n", why);
  return true;
}

std::optional<Playbook> journaled_playbook(const JournalState& journal) {
  if (journal.playbook_source.empty()) {
    print_error(
        fmt::format("run {}: the journal holds no playbook source: give it with --playbook FILE",
                    journal.run_id));
    return std::nullopt;
  }
  LoadOptions options;
  options.var_overrides = journal.vars;
  std::string name = fmt::format("<playbook of run {}>", journal.run_id);
  auto result = parse_playbook(journal.playbook_source, name, options);
  for (const auto& d : result.diagnostics) {
    if (d.severity == Diagnostic::Severity::error) print_to(stderr, "{}\n", d.to_string());
  }
  if (!result.playbook) {
    print_error(fmt::format(
        "{}: does not load here (see above): give the playbook with --playbook FILE", name));
    return std::nullopt;
  }
  return std::move(result.playbook);
}

}  // namespace drctl::cli
