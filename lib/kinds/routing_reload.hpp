#pragma once
#include <memory>

#include "core/kind.hpp"

namespace drctl {

// `routing_reload`: flip the route (etcd_put, http, file_and_exec or exec), then prove traffic
// landed on the backup (verify: N matching answers in a row); rollback restores, reloads and
// proves the old target serves again.
std::unique_ptr<Kind> make_routing_reload_kind();

}  // namespace drctl
