#pragma once
#include <memory>

#include "core/kind.hpp"

namespace drctl {

// `etcd_watch_latency`: canary puts through one side, watched through the other; passes when
// the put->event P99 is within max_p99 (the config-watch propagation SLA).
std::unique_ptr<Kind> make_etcd_watch_latency_kind();

}  // namespace drctl
