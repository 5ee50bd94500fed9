#pragma once
// Warmup hooks: tell services to warm their caches, then poll until each says it is ready.
// Used inside cache_warmup (`hooks:`) and as the `warmup_hooks` step kind.
#include <memory>
#include <vector>

#include "core/kind.hpp"

namespace drctl {

// One hook: {name, url, method, headers, body, expect_status, ready_url, ready_expect, interval,
// timeout}.
Fields warmup_hook_fields();
std::vector<SpecProblem> check_warmup_hooks(const Spec& spec, const std::string& key);

// Runs the hooks, at most `parallel` at a time. evidence.hooks[] has each hook's
// trigger status, time to ready and polls; fails (naming the hook) unless all are ready.
Outcome run_warmup_hooks(const std::vector<Spec>& hooks, int parallel, const AttemptContext& ctx);

std::unique_ptr<Kind> make_warmup_hooks_kind();

}  // namespace drctl
