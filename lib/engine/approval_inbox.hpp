#pragma once
// Where operators' decisions on a run's approval steps are posted (`drctl approve`, `drctl
// reject`) and where the waiting run reads them: a file in the state dir
// (<state dir>/approvals/<run id>/<step>.json), and, for a playbook with a run lock, a key
// beside the journal's etcd copy (<lock key>/approvals/<run id>/<step>), so an operator on
// another machine can decide. A decision is posted once: the first one stands.
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <tl/expected.hpp>
#include <vector>

#include "core/approval.hpp"
#include "core/cancel.hpp"
#include "core/model.hpp"
#include "util/duration.hpp"

namespace drctl {

struct ApprovalPlace {
  std::string state_dir;
  std::optional<LockSpec> lock;  // decisions go to etcd when set
};

struct PostedDecision {
  bool approve = true;
  std::string by, comment, at, host;
  std::string login;  // the account that posted it (`by` is what --by declared)

  nlohmann::json to_json() const;
  // nullopt for anything that is not a decision drctl posted.
  static std::optional<PostedDecision> from_json(const nlohmann::json& j);
  std::string describe() const;  // "approved by ana at 2026-12-02T10:00:00.000Z"
};

std::string approval_etcd_key(const LockSpec& lock, const std::string& run_id,
                              const std::string& step);

// Posts `decision` on `step` of run `run_id`: to etcd when the place has a lock, else to the
// state dir. An error says why, naming where, or who decided first.
tl::expected<void, std::string> post_decision(const ApprovalPlace& place, const std::string& run_id,
                                              const std::string& step,
                                              const PostedDecision& decision);

// What a run's journal says it waits for: its last approval_waiting line, when no end of that
// entry and no end of the run came after it.
struct ApprovalWaiting {
  std::string phase, step, message, since;
};
std::optional<ApprovalWaiting> approval_waiting_in(const std::vector<nlohmann::json>& lines);

// Waits for the decision on one step: typed on the run's terminal (when `terminal`; the
// decision's `by` is then left for the caller, who knows the operator), or posted in the state
// dir or etcd. Polls every 100 ms (etcd every 250 ms).
class ApprovalInbox {
 public:
  ApprovalInbox(ApprovalPlace place, bool terminal)
      : m_place(std::move(place)), m_terminal(terminal) {}
  // What was typed before the wait is shown is no decision on it: called before showing it.
  void discard_typed_ahead();
  ApprovalDecision wait(const std::string& run_id, const std::string& step, Deadline deadline,
                        const CancelToken& cancel);

 private:
  ApprovalPlace m_place;
  bool m_terminal;
  std::string m_typed;  // what was typed on the terminal and not yet a whole line
};

}  // namespace drctl
