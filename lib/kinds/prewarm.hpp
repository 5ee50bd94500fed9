#pragma once
#include <memory>

#include "core/kind.hpp"

namespace drctl {

// `prewarm`: resolve and connect to the backup's endpoints before the switch (HTTP(S), gRPC,
// etcd, plain TCP) and report each connect time; the connections stay in the process's pools
// and later steps reuse them instead of dialing again.
std::unique_ptr<Kind> make_prewarm_kind();

}  // namespace drctl
