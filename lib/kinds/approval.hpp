#pragma once
#include <memory>

#include "core/kind.hpp"

namespace drctl {

// `approval`: the run stops at this step until an operator approves it (typing the step's name
// on the run's terminal, or `drctl approve`); rejected or timed out, it fails, and the steps
// before it are rolled back.
std::unique_ptr<Kind> make_approval_kind();

}  // namespace drctl
