#pragma once
#include <memory>

#include "core/kind.hpp"

namespace drctl {

// `cache_warmup`: snapshot an etcd prefix into a versioned, checksummed file, verify it,
// switch `current` to it atomically, keep the last versions, then run warmup hooks.
std::unique_ptr<Kind> make_cache_warmup_kind();

}  // namespace drctl
