#pragma once
// What an action may know about the attempt it runs in: its deadline and whether the run
// is being cancelled. Every kind must give up by the deadline: the engine's timeout is a
// hard stop, enforced by the action itself (curl timeouts, killing a process group, ...).
#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "core/approval.hpp"
#include "core/cancel.hpp"

namespace drctl {

// The run lock, for the steps and rollbacks of a locked run: a kind that writes to etcd fences
// its writes with it (kinds/failure.hpp, open_etcd_for_writes) when they go to the lock's
// cluster, so a run that lost its lock cannot overwrite the next run's work.
struct LockFence {
  std::string key;
  std::int64_t revision = 0;  // the fencing token
  std::uint64_t cluster_id = 0;
  std::vector<std::string> endpoints;  // the lock's: a session sharing one is the same cluster
};

struct AttemptContext {
  std::string entry_name;
  std::chrono::steady_clock::time_point deadline;
  const CancelToken* cancel = nullptr;
  std::string run_id;
  std::string fencing_token;         // "" without a run lock
  const LockFence* fence = nullptr;  // steps and rollbacks under a run lock
  std::function<bool()> checkpoint;  // journals the operation's undo_state(), durably
  // Journals a process group the action started (a child that may outlive a killed drctl), so
  // that recovery does not act while it still runs. Unset for checks.
  std::function<void(long long)> process_started;
  // Steps only: waits for an operator's decision on this step (the `approval` kind).
  AwaitApproval await_approval;

  // Called by an operation right before it changes anything, so a crash in the middle still
  // leaves what its undo needs in the journal. False when the journal could not record it:
  // the operation must then change nothing (return journal_refused()).
  [[nodiscard]] bool save_undo_state() const { return !checkpoint || checkpoint(); }

  std::chrono::milliseconds remaining() const;
  bool expired() const { return std::chrono::steady_clock::now() >= deadline; }
  bool cancelled() const { return cancel != nullptr && cancel->cancelled(); }
};

}  // namespace drctl
