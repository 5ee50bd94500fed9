#pragma once
#include <memory>

#include "core/kind.hpp"

namespace drctl {

// `exec`: runs a program (argv, no shell unless `shell: true`) in its own process group.
std::unique_ptr<Kind> make_exec_kind();

}  // namespace drctl
