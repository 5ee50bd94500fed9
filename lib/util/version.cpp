#include "util/version.hpp"

namespace drctl {

std::string_view version() {
  return DRCTL_VERSION;
}

}  // namespace drctl
