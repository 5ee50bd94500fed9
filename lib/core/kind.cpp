#include "core/kind.hpp"

namespace drctl {

Outcome Operation::undo(const AttemptContext& /*ctx*/) {
  return Outcome::fail(Status::failed, "this kind has no built-in undo", Changed::no);
}

}  // namespace drctl
