#include "core/kind.hpp"

#include <fmt/format.h>

namespace drctl {

Outcome Operation::undo(const AttemptContext& /*ctx*/) {
  return Outcome::fail(Status::failed, "this kind has no built-in undo", Changed::no);
}

Preview Kind::preview(const Spec& spec, const AttemptContext& /*ctx*/,
                      PreviewOverlay& /*overlay*/) const {
  Preview preview;
  if (!mutates(spec)) {
    preview.changes_nothing = true;
    return preview;
  }
  preview.unreadable.push_back(
      fmt::format("{} cannot read what it would change: it would {}", name(), describe(spec)));
  return preview;
}

}  // namespace drctl
