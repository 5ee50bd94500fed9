#pragma once
#include <memory>

#include "core/kind.hpp"

namespace drctl {

// `etcd_health`: every endpoint is reachable, in the expected cluster, knows a leader, is
// within max_raft_lag of it, serves a linearizable read (quorum) and has no alarm.
std::unique_ptr<Kind> make_etcd_health_kind();

}  // namespace drctl
