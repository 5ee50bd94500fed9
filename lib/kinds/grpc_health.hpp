#pragma once
#include <memory>

#include "core/kind.hpp"

namespace drctl {

// `grpc_health`: grpc.health.v1.Health/Check answers SERVING (on at least min_serving addresses).
std::unique_ptr<Kind> make_grpc_health_kind();

}  // namespace drctl
