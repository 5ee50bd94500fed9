#pragma once
// Warmup hooks: tell services to warm their caches, then poll until each says it is ready.
// Used inside cache_warmup (`hooks:`) and as the `warmup_hooks` step kind.
#include <memory>
#include <vector>

#include "core/kind.hpp"

namespace drctl {

// One hook's keys, for reading them: hook.str(k_hook_url). Inline, so a kind's namespace-scope
// Fields may be built from warmup_hook_fields() (these are initialized first).
inline const Field k_hook_name = Field::string("name", "Name in the report (default: its URL).");
inline const Field k_hook_url = Field::string("url", "The warmup call.").mandatory();
inline const Field k_hook_method = Field::string("method", "HTTP method.").defaults_to("POST");
inline const Field k_hook_headers = Field::string_map("headers", "Request headers.");
inline const Field k_hook_body = Field::string("body", "Request body.");
inline const Field k_hook_expect_status =
    Field::integer_list("expect_status", "Statuses that accept the call (default: any 2xx).");
inline const Field k_hook_ready_url =
    Field::string("ready_url", "Polled until ready (without it, an accepted call is ready).");
inline const Field k_hook_ready_expect_status =
    Field::integer("status", "Expected status.").defaults_to(200);
inline const Field k_hook_ready_expect_body_contains =
    Field::string("body_contains", "Text the body must contain.");
inline const Field k_hook_ready_expect =
    Field::object("ready_expect", "What ready looks like.",
                  {k_hook_ready_expect_status, k_hook_ready_expect_body_contains});
inline const Field k_hook_interval =
    Field::duration("interval", "Time between polls.").defaults_to("100ms");
inline const Field k_hook_timeout =
    Field::duration("timeout", "Limit for the call and the polls together.").defaults_to("30s");

// One hook: {name, url, method, headers, body, expect_status, ready_url, ready_expect, interval,
// timeout}.
Fields warmup_hook_fields();
std::vector<SpecProblem> check_warmup_hooks(const Spec& spec, const std::string& key);

// Runs the hooks, at most `parallel` at a time. evidence.hooks[] has each hook's
// trigger status, time to ready and polls; fails (naming the hook) unless all are ready.
Outcome run_warmup_hooks(const std::vector<Spec>& hooks, int parallel, const AttemptContext& ctx);

std::unique_ptr<Kind> make_warmup_hooks_kind();

}  // namespace drctl
