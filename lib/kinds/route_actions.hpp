#pragma once
// The ways routing_reload flips a route, as one table of kinds: etcd_put (a gateway watching
// etcd), http (an admin API), file_and_exec (write a proxy config atomically, precheck,
// reload) and exec. An action is an ordinary Operation of its kind; http and exec take an
// `undo:` spec (the call that reverses them) since they cannot undo themselves.
#include <memory>
#include <string>
#include <vector>

#include "core/kind.hpp"

namespace drctl {

// The action keys, as optional object fields of routing_reload (exactly one is given).
Fields route_action_fields();
const std::vector<std::string>& route_action_names();
std::vector<SpecProblem> check_route_action(const Spec& spec);
std::string describe_route_action(const Spec& spec);
std::unique_ptr<Operation> make_route_action(const Spec& spec);
// Kind::preview of the action the spec gives, by its own kind.
Preview preview_route_action(const Spec& spec, const AttemptContext& ctx, PreviewOverlay& overlay);
// Kind::undo_state_before_changes for the action the spec gives.
bool route_action_undo_state_first(const Spec& spec);

}  // namespace drctl
