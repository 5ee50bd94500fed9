#include "engine/journal_retention.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <map>
#include <set>

#include "clients/etcd_connection.hpp"
#include "engine/etcd_journal.hpp"
#include "engine/record.hpp"
#include "util/clock.hpp"
#include "util/safe_files.hpp"
#include "util/secrets.hpp"

namespace drctl {
namespace {

// One chain of runs as found in one place.
struct Chain {
  std::vector<const RetentionRun*> runs;  // oldest first
  bool candidate = true;
  std::string newest_start;
};

// The root of `id`'s chain: up its parents while they are among the runs.
std::string root_of(const std::string& id,
                    const std::map<std::string, const RetentionRun*>& by_id) {
  std::string root = id;
  std::set<std::string> seen{root};
  for (auto it = by_id.find(root); it != by_id.end() && !it->second->entry.link.parent.empty();
       it = by_id.find(root)) {
    root = it->second->entry.link.parent;
    if (!seen.insert(root).second) break;  // a cycle (a hand-edited journal)
  }
  return root;
}

bool valid_run_id(const std::string& run_id) {
  return !run_id.empty() && run_id != "." && run_id != ".." &&
         run_id.find('/') == std::string::npos;
}

// Removes the entry `name` of the directory `parent` (a directory with what it holds, at most
// a few levels deep), never following a symlink.
tl::expected<void, std::string> remove_tree_at(int parent, const std::string& name,
                                               const std::string& shown, int depth) {
  struct stat st {};
  if (::fstatat(parent, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
    if (errno == ENOENT) return {};
    return tl::unexpected(fmt::format("{}: {}", shown, std::strerror(errno)));
  }
  if (S_ISDIR(st.st_mode)) {
    if (depth > 3) return tl::unexpected(fmt::format("{}: nested too deep", shown));
    int fd = ::openat(parent, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) return tl::unexpected(fmt::format("{}: {}", shown, std::strerror(errno)));
    DIR* dir = ::fdopendir(fd);
    if (dir == nullptr) {
      ::close(fd);
      return tl::unexpected(fmt::format("{}: {}", shown, std::strerror(errno)));
    }
    std::vector<std::string> names;
    while (const dirent* entry = ::readdir(dir)) {
      std::string child = entry->d_name;
      if (child != "." && child != "..") names.push_back(child);
    }
    tl::expected<void, std::string> removed;
    for (const auto& child : names) {
      removed = remove_tree_at(::dirfd(dir), child, shown + "/" + child, depth + 1);
      if (!removed) break;
    }
    ::closedir(dir);
    if (!removed) return removed;
  }
  if (::unlinkat(parent, name.c_str(), S_ISDIR(st.st_mode) ? AT_REMOVEDIR : 0) != 0 &&
      errno != ENOENT)
    return tl::unexpected(fmt::format("{}: {}", shown, std::strerror(errno)));
  return {};
}

}  // namespace

bool result_needs_recovery(const std::string& result) {
  for (RunResult needs : {RunResult::partial, RunResult::interrupted, RunResult::lock_lost,
                          RunResult::journal_failed}) {
    if (result == run_result_name(needs)) return true;
  }
  return false;
}

std::vector<std::vector<JournalEntry>> runs_to_prune(const std::vector<RetentionRun>& runs,
                                                     const std::string& playbook,
                                                     const JournalRetention& policy,
                                                     std::chrono::system_clock::time_point now,
                                                     const std::string& keep) {
  std::map<std::string, const RetentionRun*> by_id;
  for (const auto& run : runs) by_id.emplace(run.entry.run_id, &run);
  std::map<std::string, Chain> chains;  // by root
  for (const auto& run : runs) chains[root_of(run.entry.run_id, by_id)].runs.push_back(&run);
  // Runs another run continued (resumed or rolled back): their own end does not matter.
  std::set<std::string> continued;
  for (const auto& run : runs) continued.insert(run.entry.link.parent);

  std::vector<Chain*> candidates;
  for (auto& [root, chain] : chains) {
    std::stable_sort(chain.runs.begin(), chain.runs.end(),
                     [](const RetentionRun* a, const RetentionRun* b) {
                       return a->entry.started_at < b->entry.started_at;
                     });
    const RetentionRun& newest = *chain.runs.back();
    chain.newest_start = newest.entry.started_at;
    bool mine = std::any_of(chain.runs.begin(), chain.runs.end(), [&](const RetentionRun* run) {
      return run->entry.playbook == playbook;
    });
    bool all_mine = std::all_of(chain.runs.begin(), chain.runs.end(), [&](const RetentionRun* run) {
      return run->entry.playbook == playbook;
    });
    if (!mine) continue;  // another playbook's chain: neither counted nor pruned
    chain.candidate = all_mine;
    for (const RetentionRun* run : chain.runs) {
      const bool kept = !keep.empty() && run->entry.run_id == keep;
      if (run->in_use && !kept) chain.candidate = false;
      // A run without an end that nothing continued is running, here or elsewhere (its start
      // may even read older than its parent's, by another host's clock), or killed with its
      // steps for a human: the chain is not settled, whatever the start times say.
      if (run->entry.exit_code < 0 && !continued.count(run->entry.run_id) && !kept)
        chain.candidate = false;
      if (run->entry.exit_code >= 0 && result_needs_recovery(run->entry.result))
        chain.candidate = false;
    }
    if (chain.candidate) candidates.push_back(&chain);
  }
  std::stable_sort(candidates.begin(), candidates.end(), [](const Chain* a, const Chain* b) {
    return a->newest_start > b->newest_start;
  });

  const std::string cutoff = policy.age ? rfc3339_utc(now - *policy.age) : std::string();
  std::vector<std::vector<JournalEntry>> out;
  std::size_t newer_runs = 0;
  for (const Chain* chain : candidates) {
    const bool beyond_count = !policy.runs || newer_runs >= static_cast<std::size_t>(*policy.runs);
    const bool too_old = !policy.age || chain->newest_start < cutoff;
    newer_runs += chain->runs.size();
    const bool kept = std::any_of(chain->runs.begin(), chain->runs.end(), [&](const auto* run) {
      return !keep.empty() && run->entry.run_id == keep;
    });
    if (kept || !beyond_count || !too_old || (!policy.runs && !policy.age)) continue;
    std::vector<JournalEntry> pruned;
    for (const RetentionRun* run : chain->runs) pruned.push_back(run->entry);
    out.push_back(std::move(pruned));
  }
  std::reverse(out.begin(), out.end());
  return out;
}

std::vector<RetentionRun> local_retention_runs(const std::string& state_dir, std::string* refused) {
  std::vector<RetentionRun> runs;
  for (auto& entry : list_journals(state_dir, refused)) {
    bool in_use = journal_in_use(state_dir, entry.run_id);
    runs.push_back({std::move(entry), in_use});
  }
  return runs;
}

tl::expected<std::vector<RetentionRun>, std::string> etcd_retention_runs(const LockSpec& lock) {
  auto entries = list_etcd_journal_runs(lock);
  if (!entries) return tl::unexpected(entries.error());
  std::vector<RetentionRun> runs;
  for (auto& entry : *entries) runs.push_back({std::move(entry), false});
  return runs;
}

tl::expected<void, std::string> prune_local_run(const std::string& state_dir,
                                                const std::string& run_id) {
  if (!valid_run_id(run_id)) return tl::unexpected(fmt::format("not a run id: {}", run_id));
  auto runs = open_dir_checked(state_dir + "/runs", DirTrust::private_to_user);
  if (!runs)
    return tl::unexpected(fmt::format("state dir {}: {}", state_dir, runs.error().message));
  const std::string name = run_id + ".jsonl";
  const std::string shown = fmt::format("{}/runs/{}", state_dir, name);
  UniqueFd fd(::openat(runs->get(), name.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC));
  if (!fd && errno != ENOENT)
    return tl::unexpected(fmt::format("journal {}: {}", shown, std::strerror(errno)));
  if (fd) {
    if (auto problem = untrusted_file(fd.get(), shown))
      return tl::unexpected(fmt::format("journal {}: not trusted, not pruned", problem->message));
    // Held while it goes: a run still writing it holds it, and is left alone.
    if (::flock(fd.get(), LOCK_EX | LOCK_NB) != 0)
      return tl::unexpected(fmt::format("journal {}: in use, not pruned", shown));
    struct stat opened {};
    struct stat named {};
    if (::fstat(fd.get(), &opened) != 0 ||
        ::fstatat(runs->get(), name.c_str(), &named, AT_SYMLINK_NOFOLLOW) != 0 ||
        opened.st_dev != named.st_dev || opened.st_ino != named.st_ino)
      return tl::unexpected(fmt::format("journal {}: replaced while pruning, not pruned", shown));
    if (::unlinkat(runs->get(), name.c_str(), 0) != 0 && errno != ENOENT)
      return tl::unexpected(fmt::format("journal {}: {}", shown, std::strerror(errno)));
  }
  auto approvals = open_dir_checked(state_dir + "/approvals", DirTrust::private_to_user);
  if (!approvals && approvals.error().error == ENOENT) return {};
  if (!approvals)
    return tl::unexpected(
        fmt::format("approvals of run {}: {}", run_id, approvals.error().message));
  return remove_tree_at(approvals->get(), run_id, fmt::format("{}/approvals/{}", state_dir, run_id),
                        0);
}

tl::expected<std::int64_t, std::string> prune_etcd_runs(const LockSpec& lock,
                                                        const std::vector<std::string>& run_ids) {
  if (run_ids.empty()) return 0;
  auto deadline = [] { return std::chrono::steady_clock::now() + std::chrono::seconds(5); };
  auto session = etcd_connect(Spec(lock.etcd), deadline(), "journal");
  if (!session) return tl::unexpected(redact(session.error().message));
  // Only while nobody holds the run lock (its key absent): a run that took it between the
  // listing and now (a resume of a chain listed as settled) keeps every line.
  (*session)->fence_writes(lock.key, 0);
  // Under etcd's --max-txn-ops (128 by default): two ranges a run.
  constexpr std::size_t k_runs_per_txn = 32;
  std::int64_t deleted = 0;
  for (std::size_t at = 0; at < run_ids.size(); at += k_runs_per_txn) {
    std::vector<std::pair<std::string, std::string>> ranges;
    for (std::size_t i = at; i < std::min(run_ids.size(), at + k_runs_per_txn); ++i) {
      if (!valid_run_id(run_ids[i]))
        return tl::unexpected(fmt::format("not a run id: {}", run_ids[i]));
      for (const std::string& prefix :
           {etcd_journal_prefix(lock, run_ids[i]), lock.key + "/approvals/" + run_ids[i] + "/"})
        ranges.emplace_back(prefix, etcd_prefix_end(prefix));
    }
    auto erased = (*session)->erase_ranges(ranges, deadline());
    if (!erased && erased.error().kind == EtcdError::Class::fenced)
      return tl::unexpected(fmt::format(
          "the run lock {} is held by a run now: its journals were not pruned (next time)",
          lock.key));
    if (!erased)
      return tl::unexpected(redact(
          fmt::format("etcd journal {}: {}", ranges.front().first, erased.error().to_string())));
    deleted += *erased;
  }
  return deleted;
}

}  // namespace drctl
