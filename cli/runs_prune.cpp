#include "runs_prune.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <nlohmann/json.hpp>
#include <set>

#include "common.hpp"
#include "engine/exit_codes.hpp"
#include "engine/journal_retention.hpp"
#include "util/duration.hpp"
#include "util/json_dump.hpp"
#include "util/print.hpp"
#include "util/strings.hpp"

namespace drctl::cli {
namespace {

// What one pass pruned (or, with --dry-run, would prune) in one place.
struct Pruned {
  std::string where;  // "state dir" or "etcd"
  JournalEntry run;
};

struct PassResult {
  std::vector<Pruned> pruned;
  std::int64_t etcd_keys = 0;
  std::vector<std::string> errors;  // one line each
};

// Prunes the chosen chains of one place: the state dir, or (with `lock`) the etcd copy.
void prune_place(const std::vector<RetentionRun>& runs, const std::string& playbook,
                 const JournalRetention& policy, const std::string& keep, bool dry_run,
                 const std::string& state_dir, const LockSpec* lock, PassResult& result) {
  const std::string where = lock != nullptr ? "etcd" : "state dir";
  for (const auto& chain :
       runs_to_prune(runs, playbook, policy, std::chrono::system_clock::now(), keep)) {
    if (dry_run) {
      for (const auto& run : chain) result.pruned.push_back({where, run});
      continue;
    }
    if (lock != nullptr) {
      std::vector<std::string> ids;
      for (const auto& run : chain) ids.push_back(run.run_id);
      auto deleted = prune_etcd_runs(*lock, ids);
      if (!deleted) {
        result.errors.push_back(deleted.error());
        return;  // etcd refused or is gone: the next chain would fare no better
      }
      result.etcd_keys += *deleted;
      for (const auto& run : chain) result.pruned.push_back({where, run});
      continue;
    }
    // Locally, run by run, oldest first: a chain cut short keeps its newest runs, which is
    // what recovery reads first (and the next pass finishes it).
    for (const auto& run : chain) {
      auto gone = prune_local_run(state_dir, run.run_id);
      if (!gone) {
        result.errors.push_back(gone.error());
        break;
      }
      result.pruned.push_back({where, run});
    }
  }
}

JournalRetention policy_of(const Playbook& playbook) {
  return playbook.lock ? playbook.lock->journal_retention
                       : JournalRetention{k_default_journal_retention, std::nullopt};
}

std::string describe(const JournalRetention& policy) {
  std::vector<std::string> parts;
  if (policy.runs) parts.push_back(fmt::format("keep {} finished runs", *policy.runs));
  if (policy.age)
    parts.push_back(fmt::format("keep runs younger than {}", format_duration(*policy.age)));
  return join(parts, ", ");
}

void print_result(const PassResult& result, const std::string& policy, bool dry_run,
                  const GlobalOptions& global) {
  if (global.output == OutputFormat::json) {
    nlohmann::json runs = nlohmann::json::array();
    for (const auto& p : result.pruned)
      runs.push_back({{"run_id", p.run.run_id},
                      {"playbook", p.run.playbook},
                      {"started_at", p.run.started_at},
                      {"result", p.run.exit_code < 0 ? nlohmann::json("killed")
                                                     : nlohmann::json(p.run.result)},
                      {"where", p.where}});
    print_to(stdout, "{}\n",
             dump_json({{"dry_run", dry_run},
                        {"policy", policy},
                        {"pruned", runs},
                        {"etcd_keys_deleted", result.etcd_keys},
                        {"errors", result.errors}},
                       2));
    return;
  }
  for (const auto& p : result.pruned) {
    print_to(stdout, "{} {}  {}  {}  {}  ({})\n", dry_run ? "would prune" : "pruned", p.run.run_id,
             p.run.started_at, p.run.playbook,
             p.run.exit_code < 0 ? std::string("killed; its chain ended") : p.run.result, p.where);
  }
  std::size_t local = std::count_if(result.pruned.begin(), result.pruned.end(),
                                    [](const Pruned& p) { return p.where == "state dir"; });
  std::size_t etcd = result.pruned.size() - local;
  // A run is often in both places: count runs once, then say where.
  std::set<std::string> runs;
  for (const auto& p : result.pruned) runs.insert(p.run.run_id);
  print_to(stdout, "{} {} run(s): {} from the state dir, {} from etcd{} ({})\n",
           dry_run ? "would prune" : "pruned", runs.size(), local, etcd,
           dry_run || etcd == 0 ? "" : fmt::format(" ({} keys)", result.etcd_keys), policy);
}

bool all_digits(const std::string& text) {
  return !text.empty() && std::all_of(text.begin(), text.end(),
                                      [](unsigned char c) { return std::isdigit(c) != 0; });
}

}  // namespace

void add_prune_options(CLI::App& app, PruneFlags& flags) {
  app.add_flag("--prune", flags.prune,
               "Prune finished runs' journals now, here and (with --playbook) in its etcd copy: "
               "by --keep/--older-than, else the playbook's lock.journal_retention (default 100)");
  app.add_option("--keep", flags.keep, "With --prune: the finished runs to keep per playbook");
  app.add_option("--older-than", flags.older_than,
                 "With --prune: prune runs older than this (30d, 12h); with --keep, only runs "
                 "both would prune");
  app.add_flag("--dry-run", flags.dry_run,
               "With --prune: list what would be pruned, change nothing");
}

int run_prune(const PruneFlags& flags, const std::string& playbook_path, const std::string& name,
              const std::string& since, const GlobalOptions& global) {
  if (!flags.prune) {
    const char* stray = !flags.keep.empty()         ? "--keep"
                        : !flags.older_than.empty() ? "--older-than"
                                                    : "--dry-run";
    print_error(fmt::format("{} goes with --prune", stray));
    return k_exit_usage;
  }
  if (!since.empty()) {
    print_error("--prune and --since cannot be used together");
    return k_exit_usage;
  }
  if (!playbook_path.empty() && !name.empty()) {
    print_error("--prune takes --playbook or --name, not both (the playbook names its runs)");
    return k_exit_usage;
  }
  std::optional<JournalRetention> given;
  if (!flags.keep.empty() || !flags.older_than.empty()) given = JournalRetention{};
  if (!flags.keep.empty()) {
    if (!all_digits(flags.keep) || flags.keep.size() > 7) {
      print_error(fmt::format("--keep {}: expected a number of runs (0 to 9999999)",
                              one_line(flags.keep.substr(0, 40))));
      return k_exit_usage;
    }
    given->runs = std::stoll(flags.keep);
  }
  if (!flags.older_than.empty()) {
    auto age = parse_age(flags.older_than);
    if (!age || age->count() <= 0) {
      print_error(fmt::format("--older-than {}: expected an age (30d, 12h, 90m)",
                              one_line(flags.older_than.substr(0, 40))));
      return k_exit_usage;
    }
    given->age = *age;
  }

  const std::string state_dir = state_dir_of(global);
  PassResult result;
  std::string refused;
  auto local = local_retention_runs(state_dir, &refused);
  if (!refused.empty()) print_to(stderr, "drctl: warning: {} (left alone)\n", refused);
  std::string policy_text;
  if (!playbook_path.empty()) {
    int exit_code = 0;
    auto playbook = load_or_report(playbook_path, global, exit_code);
    if (!playbook) return exit_code;
    const JournalRetention policy = given ? *given : policy_of(*playbook);
    policy_text = describe(policy);
    prune_place(local, playbook->name, policy, "", flags.dry_run, state_dir, nullptr, result);
    if (playbook->lock) {
      auto remote = etcd_retention_runs(*playbook->lock);
      if (remote) {
        prune_place(*remote, playbook->name, policy, "", flags.dry_run, state_dir, &*playbook->lock,
                    result);
      } else {
        result.errors.push_back(remote.error());
      }
    }
  } else {
    const JournalRetention policy =
        given ? *given : JournalRetention{k_default_journal_retention, std::nullopt};
    policy_text = describe(policy);
    std::set<std::string> names;
    for (const auto& run : local) {
      if (name.empty() || run.entry.playbook == name) names.insert(run.entry.playbook);
    }
    for (const auto& one : names)
      prune_place(local, one, policy, "", flags.dry_run, state_dir, nullptr, result);
  }
  print_result(result, policy_text, flags.dry_run, global);
  for (const auto& error : result.errors) print_error(error);
  return result.errors.empty() ? 0 : 1;
}

void prune_after_run(const Playbook& playbook, const GlobalOptions& global,
                     const std::string& run_id) {
  if (run_id.empty()) return;
  const std::string state_dir = state_dir_of(global);
  const JournalRetention policy = policy_of(playbook);
  PassResult result;
  prune_place(local_retention_runs(state_dir), playbook.name, policy, run_id, false, state_dir,
              nullptr, result);
  if (playbook.lock) {
    auto remote = etcd_retention_runs(*playbook.lock);
    if (remote) {
      prune_place(*remote, playbook.name, policy, run_id, false, state_dir, &*playbook.lock,
                  result);
    } else {
      result.errors.push_back(remote.error());
    }
  }
  if (!result.errors.empty()) {
    print_to(
        stderr, "drctl: warning: journal retention: {}{} (the run's result stands)\n",
        one_line(result.errors.front()),
        result.errors.size() > 1 ? fmt::format(", and {} more", result.errors.size() - 1) : "");
  } else if (global.verbose && !result.pruned.empty()) {
    print_to(stderr, "drctl: journal retention ({}): pruned {} run(s)\n", describe(policy),
             result.pruned.size());
  }
}

}  // namespace drctl::cli
