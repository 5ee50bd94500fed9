#pragma once
#include <memory>

#include "core/kind.hpp"

namespace drctl {

// `consul`: the backup's service has at least `min_passing` instances whose every check passes.
std::unique_ptr<Kind> make_consul_kind();

}  // namespace drctl
