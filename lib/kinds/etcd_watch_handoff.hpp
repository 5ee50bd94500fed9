#pragma once
#include <memory>

#include "core/kind.hpp"

namespace drctl {

// `etcd_watch_handoff`: resume a prefix's watch on the backup (same cluster or through a
// mirror) and prove it continuous; time a canary from the primary to the new watch.
std::unique_ptr<Kind> make_etcd_watch_handoff_kind();

}  // namespace drctl
