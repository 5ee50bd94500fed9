#pragma once
// The ways routing_reload flips a route: etcd_put (a gateway watching etcd), http (an admin
// API), file_and_exec (write a proxy config atomically, precheck, reload) and exec. Each
// keeps what its undo needs.
#include <chrono>
#include <memory>
#include <optional>
#include <string>

#include "kinds/kind.hpp"

namespace drctl {

class RouteAction {
 public:
  virtual ~RouteAction() = default;
  // Flips the route; outcome.changed says whether anything was changed (a failed precheck: no).
  virtual Outcome apply(const AttemptContext& ctx) = 0;
  virtual bool can_undo() const = 0;
  virtual Outcome undo(const AttemptContext& ctx) = 0;
  // As Operation::undo_state / adopt_undo_state: what the undo needs, journaled.
  virtual nlohmann::json undo_state() const = 0;
  virtual void adopt_undo_state(const nlohmann::json& state) = 0;
  // When the change itself began, if later than the call (after a precheck): takeover is
  // measured from here, so guards that change nothing do not count as switch time.
  virtual std::optional<std::chrono::steady_clock::time_point> change_started() const { return std::nullopt; }
};

// The four action keys, as optional object fields (exactly one is given).
Fields route_action_fields();
const std::vector<std::string>& route_action_names();
std::vector<SpecProblem> check_route_action(const Spec& spec);
std::string describe_route_action(const Spec& spec);
std::unique_ptr<RouteAction> make_route_action(const Spec& spec);
// Kind::undo_state_before_changes for the action the spec gives.
bool route_action_undo_state_first(const Spec& spec);

}  // namespace drctl
