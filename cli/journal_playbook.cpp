#include "journal_playbook.hpp"

#include <fmt/format.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "common.hpp"
#include "engine/etcd_journal.hpp"
#include "playbook/loader.hpp"
#include "util/print.hpp"
#include "util/secrets.hpp"
#include "util/strings.hpp"

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

std::optional<JournalState> load_chain_state(const GlobalOptions& global, const std::string& run_id,
                                             const Playbook* playbook) {
  auto asked = load_journal_state(global, run_id, playbook);
  if (!asked) return std::nullopt;
  std::vector<ChainLink> links;
  for (auto& entry : list_journals(state_dir_of(global))) links.push_back(std::move(entry.link));
  if (playbook != nullptr && playbook->lock) {
    auto remote = list_etcd_journal_links(*playbook->lock);
    if (remote) {
      for (auto& link : *remote) {
        bool known = std::any_of(links.begin(), links.end(),
                                 [&](const ChainLink& l) { return l.run_id == link.run_id; });
        if (!known) links.push_back(std::move(link));
      }
    } else {
      print_to(stderr,
               "drctl: warning: the etcd journals could not be listed ({}): the runs that "
               "continued run {} are looked for on this machine only\n",
               remote.error(), run_id);
    }
  }
  auto chain = chain_of(links, run_id);
  const std::string head = chain.back().run_id;
  if (head == run_id && chain.size() == 1) {
    asked->chain = std::move(chain);
    return asked;
  }
  // Each journal of the chain, root first, read as one: see journal_state().
  std::vector<nlohmann::json> lines;
  std::vector<std::string> later;
  for (const auto& link : chain) {
    auto journal = find_journal(global, link.run_id, playbook);
    if (!journal) {
      print_error(journal.error());
      return std::nullopt;
    }
    lines.insert(lines.end(), std::make_move_iterator(journal->begin()),
                 std::make_move_iterator(journal->end()));
    if (!link.parent.empty())
      later.push_back(fmt::format("{} ({} of {})", link.run_id,
                                  link.mode == "rollback" ? "a rollback" : "a resume",
                                  link.parent));
  }
  auto state = journal_state(lines);
  if (!state) {
    print_error(fmt::format("run {}: {}", run_id, state.error()));
    return std::nullopt;
  }
  print_to(stderr, "drctl: run {} has later runs: {}; their journals are read together\n",
           chain.front().run_id, join(later, ", "));
  state->run_id = run_id;
  state->chain = std::move(chain);
  return std::move(*state);
}

namespace {

// Whether a process group still has a live member: a zombie (killed, not yet reaped by init)
// changes nothing any more.
bool group_alive(long long pgid) {
  if (::kill(static_cast<pid_t>(-pgid), 0) != 0 && errno == ESRCH) return false;
  std::error_code error;
  for (const auto& entry : std::filesystem::directory_iterator("/proc", error)) {
    std::ifstream in(entry.path() / "stat");
    std::string stat;
    if (!in || !std::getline(in, stat)) continue;
    // pid (comm) state ppid pgrp ...: comm may hold spaces and parentheses, so from the last ')'.
    std::istringstream rest(stat.substr(stat.rfind(')') + 1));
    char state = 0;
    long long ppid = 0, pgrp = 0;
    if ((rest >> state >> ppid >> pgrp) && pgrp == pgid && state != 'Z') return true;
  }
  return false;
}

}  // namespace

bool chain_idle(const GlobalOptions& global, const JournalState& journal) {
  std::vector<ChainLink> runs = journal.chain;
  if (runs.empty()) runs.push_back(ChainLink{journal.run_id, "", journal.mode, "", "", 0});
  for (const auto& link : runs) {
    if (!journal_in_use(state_dir_of(global), link.run_id)) continue;
    print_error(fmt::format(
        "run {} is still running (pid {} on host {} holds its journal): let it end, or interrupt "
        "it (SIGINT or SIGTERM: no new step starts, the running one gets --grace, the end is "
        "journaled), then try again",
        link.run_id, link.pid, link.host.empty() ? "?" : link.host));
    return false;
  }
  // A killed drctl's step may go on without it: its process group, journaled when it started.
  char host[256] = {};
  ::gethostname(host, sizeof host - 1);
  for (const auto& process : journal.open_processes) {
    if (process.host != host || process.pgid <= 0) continue;
    if (!group_alive(process.pgid)) continue;
    print_error(fmt::format(
        "{} of run {} is still running as process group {} on this host, though drctl is gone: "
        "let it end or stop it (kill -TERM -- -{}), then try again",
        process.entry, process.run_id, process.pgid, process.pgid));
    return false;
  }
  return true;
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

std::optional<std::map<std::string, std::string>> recovery_vars(const JournalState& journal,
                                                                const GlobalOptions& global,
                                                                std::vector<std::string>& notices) {
  auto given = parse_vars(global.vars);
  if (!given) return std::nullopt;
  std::map<std::string, std::string> vars = journal.vars;
  std::vector<std::string> used, overridden;
  for (const auto& [name, value] : *given) {
    auto journaled = journal.vars.find(name);
    if (journaled != journal.vars.end() && journaled->second == value) continue;
    overridden.push_back(fmt::format(
        "{}={} (run {} used {}: the steps it did ran with that; what runs now, the rollbacks of "
        "those steps too, uses the new value)",
        name, value, journal.run_id,
        journaled == journal.vars.end() ? "the playbook's own value"
                                        : "'" + journaled->second + "'"));
    vars[name] = value;
  }
  for (const auto& [name, value] : journal.vars) {
    if (!given->count(name)) used.push_back(fmt::format("{}={}", name, value));
  }
  if (!used.empty())
    print_to(stderr, "drctl: using the --var values of run {}: {}\n", journal.run_id,
             redact(join(used, ", ")));
  for (const auto& what : overridden) {
    notices.push_back(redact("--var overrides a journaled value: " + what));
    print_to(stderr, "drctl: --var overrides: {}\n", redact(what));
  }
  return vars;
}

GlobalOptions with_vars(GlobalOptions global, const std::map<std::string, std::string>& vars) {
  global.vars.clear();
  for (const auto& [name, value] : vars) global.vars.push_back(name + "=" + value);
  return global;
}

std::optional<Playbook> journaled_playbook(const JournalState& journal,
                                           const std::map<std::string, std::string>& vars) {
  if (journal.playbook_source.empty()) {
    print_error(
        fmt::format("run {}: the journal holds no playbook source: give it with --playbook FILE",
                    journal.run_id));
    return std::nullopt;
  }
  LoadOptions options;
  options.var_overrides = vars;
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
