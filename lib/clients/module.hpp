#pragma once
// Heavy clients (gRPC: ~12 ms of library loading per process start, measured) live in
// modules that are loaded the first time a check needs them, so `drctl version`, `validate`
// and http/exec-only runs never pay for them.
#include <string>
#include <tl/expected.hpp>

namespace drctl {

// dlopen()s `drctl-<name>.so` and returns the address of `symbol`. Looks in $DRCTL_MODULE_DIR,
// then <binary>/../lib/drctl (installed), then the build tree. Loaded once, kept loaded.
tl::expected<void*, std::string> module_symbol(const std::string& name, const std::string& symbol);

}  // namespace drctl
