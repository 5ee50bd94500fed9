#pragma once
#include <memory>

#include "core/kind.hpp"

namespace drctl {

// `http`: one HTTP request with expectations on status and body.
std::unique_ptr<Kind> make_http_kind();

}  // namespace drctl
