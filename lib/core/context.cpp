#include "core/context.hpp"

namespace drctl {

std::chrono::milliseconds AttemptContext::remaining() const {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
      deadline - std::chrono::steady_clock::now());
  return left.count() > 0 ? left : std::chrono::milliseconds(0);
}

}  // namespace drctl
