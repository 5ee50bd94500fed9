#pragma once
#include <memory>

#include "core/kind.hpp"

namespace drctl {

// `etcd_put`: put a key, optionally only if its value or mod_revision is as expected (one Txn);
// its undo restores the previous value unless someone changed the key since.
std::unique_ptr<Kind> make_etcd_put_kind();

}  // namespace drctl
