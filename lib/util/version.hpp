#pragma once
#include <string_view>

namespace drctl {

// "0.1.0", from the CMake project version.
std::string_view version();

}  // namespace drctl
