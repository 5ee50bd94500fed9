#pragma once
#include <memory>

#include "core/kind.hpp"

namespace drctl {

// `file_and_exec`: writes a config file atomically (temp file, fsync, rename), prechecks the
// candidate before it is in place (or, with precheck_in_place, the whole configuration with the
// candidate under the real name, restored if that fails, never reloaded in between), then runs a
// reload command; its undo restores the previous file and reloads. A route action of
// `routing_reload` (route_actions.cpp); not in the kind table on its own.
std::unique_ptr<Kind> make_file_and_exec_kind();

}  // namespace drctl
