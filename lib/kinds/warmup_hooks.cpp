#include "kinds/warmup_hooks.hpp"

#include <fmt/format.h>

#include <atomic>
#include <thread>

#include "clients/curl_api.hpp"
#include "clients/http_client.hpp"
#include "kinds/failure.hpp"
#include "util/secrets.hpp"
#include "util/strings.hpp"

namespace drctl {
namespace {

const Field k_hooks =
    Field::object_list("hooks", "The hooks, each an HTTP call and a readiness poll.",
                       warmup_hook_fields())
        .mandatory();
const Field k_parallel =
    Field::integer("parallel", "Hooks in flight at once.").range(1, 256).defaults_to(4);

using Clock = std::chrono::steady_clock;
double ms_since(Clock::time_point start) {
  return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

struct HookResult {
  nlohmann::json evidence;
  Status status = Status::ok;
  std::string problem;  // "" when ready
};

std::string hook_name(const Spec& hook, std::size_t index) {
  return hook.has(k_hook_name) ? hook.str(k_hook_name)
                               : fmt::format("hooks[{}] {}", index, hook.str(k_hook_url));
}

bool status_matches(long status, const std::vector<long long>& wanted) {
  return wanted.empty() ? status >= 200 && status < 300
                        : std::find(wanted.begin(), wanted.end(), status) != wanted.end();
}

HookResult run_hook(const Spec& hook, std::size_t index, const AttemptContext& outer) {
  HookResult result;
  const std::string name = hook_name(hook, index);
  auto started = Clock::now();
  AttemptContext ctx = outer;
  ctx.deadline = std::min(outer.deadline, started + hook.duration(k_hook_timeout).value());
  result.evidence = {{"name", name}, {"url", redact(hook.str(k_hook_url))}};

  HttpRequest trigger;
  trigger.method = hook.str(k_hook_method);
  trigger.url = hook.str(k_hook_url);
  trigger.body = hook.str(k_hook_body);
  for (const auto& [header, value] : hook.string_map(k_hook_headers))
    trigger.headers.emplace_back(header, value);
  auto answer = http_request(trigger, ctx.deadline, ctx.cancel);
  if (!answer) {
    result.status = status_for(answer.error().kind);
    result.problem = fmt::format("hook {}: {} {}: {}", name, trigger.method, trigger.url,
                                 answer.error().message);
    result.evidence["error"] = error_name(answer.error().kind);
    return result;
  }
  result.evidence["trigger_status"] = answer->status;
  result.evidence["trigger_ms"] = ms_since(started);
  if (!status_matches(answer->status, hook.integers(k_hook_expect_status))) {
    result.status = Status::failed;
    result.problem = fmt::format("hook {}: {} {} answered {}", name, trigger.method, trigger.url,
                                 answer->status);
    result.evidence["error"] = "trigger_status";
    return result;
  }
  if (!hook.has(k_hook_ready_url)) {
    result.evidence["ready_ms"] = ms_since(started);
    return result;
  }
  // Poll until ready, or the hook's timeout.
  Spec expect = hook.object(k_hook_ready_expect);
  long long want_status = expect.integer(k_hook_ready_expect_status);
  auto want_body = expect.opt_str(k_hook_ready_expect_body_contains);
  auto interval = hook.duration(k_hook_interval).value();
  HttpRequest poll;
  poll.url = hook.str(k_hook_ready_url);
  int polls = 0;
  std::string last;
  while (true) {
    ++polls;
    auto ready = http_request(poll, ctx.deadline, ctx.cancel);
    if (ready) {
      bool ok = ready->status == want_status &&
                (!want_body || ready->body.find(*want_body) != std::string::npos);
      if (ok) {
        result.evidence["ready_ms"] = ms_since(started);
        result.evidence["polls"] = polls;
        return result;
      }
      last = fmt::format("status {}{}", ready->status,
                         want_body ? fmt::format(", body without '{}'", *want_body) : "");
    } else {
      last = ready.error().message;
    }
    auto next = Clock::now() + interval;
    if (next >= ctx.deadline || ctx.cancelled()) break;
    std::this_thread::sleep_until(next);
  }
  result.status = ctx.cancelled() ? Status::failed : Status::timeout;
  result.evidence["polls"] = polls;
  result.evidence["error"] = "not_ready";
  result.problem = fmt::format(
      "hook {}: {} not ready after {} ({} polls; last: {})", name, poll.url,
      format_duration(std::chrono::duration_cast<Millis>(Clock::now() - started)), polls, last);
  return result;
}

class WarmupHooksOperation : public Operation {
 public:
  explicit WarmupHooksOperation(Spec spec) : m_spec(std::move(spec)) { curl_api(); }
  Outcome run(const AttemptContext& ctx) override {
    return run_warmup_hooks(m_spec.objects(k_hooks), static_cast<int>(m_spec.integer(k_parallel)),
                            ctx);
  }

 private:
  Spec m_spec;
};

class WarmupHooksKind : public Kind {
 public:
  std::string_view name() const override { return "warmup_hooks"; }
  std::string_view summary() const override {
    return "Call each service's warmup endpoint, then poll until it reports ready.";
  }
  bool allowed_as(Role role) const override { return role == Role::step; }
  const Fields& fields() const override {
    static const Fields fields = {k_hooks, k_parallel};
    return fields;
  }
  std::vector<SpecProblem> check_spec(const Spec& spec) const override {
    return check_warmup_hooks(spec, k_hooks.name);
  }
  std::string target(const Spec& spec) const override {
    return fmt::format("{} warmup hooks", spec.objects(k_hooks).size());
  }
  std::string describe(const Spec& spec) const override {
    std::vector<std::string> urls;
    for (const auto& hook : spec.objects(k_hooks)) urls.push_back(hook.str(k_hook_url));
    return fmt::format("call {} and wait until ready", join(urls, ", "));
  }
  std::unique_ptr<Operation> prepare(const Spec& spec) const override {
    return std::make_unique<WarmupHooksOperation>(spec);
  }
};

}  // namespace

Fields warmup_hook_fields() {
  return {k_hook_name,     k_hook_url,           k_hook_method,    k_hook_headers,
          k_hook_body,     k_hook_expect_status, k_hook_ready_url, k_hook_ready_expect,
          k_hook_interval, k_hook_timeout};
}

std::vector<SpecProblem> check_warmup_hooks(const Spec& spec, const std::string& key) {
  std::vector<SpecProblem> problems;
  auto hooks = spec.objects(key);
  for (std::size_t i = 0; i < hooks.size(); ++i) {
    for (const Field* url_key : {&k_hook_url, &k_hook_ready_url}) {
      std::string url = hooks[i].str(*url_key);
      if (!url.empty() && url.rfind("http://", 0) != 0 && url.rfind("https://", 0) != 0) {
        problems.push_back({fmt::format("{}[{}].{}", key, i, url_key->name),
                            fmt::format("expected an http:// or https:// URL, got '{}'", url)});
      }
    }
  }
  return problems;
}

Outcome run_warmup_hooks(const std::vector<Spec>& hooks, int parallel, const AttemptContext& ctx) {
  std::vector<HookResult> results(hooks.size());
  std::atomic<std::size_t> next{0};
  auto worker = [&] {
    for (std::size_t i = next++; i < hooks.size(); i = next++)
      results[i] = run_hook(hooks[i], i, ctx);
  };
  std::vector<std::thread> pool;
  std::size_t workers =
      std::min<std::size_t>(static_cast<std::size_t>(std::max(parallel, 1)), hooks.size());
  for (std::size_t w = 1; w < workers; ++w) pool.emplace_back(worker);
  if (workers > 0) worker();
  for (auto& thread : pool) thread.join();

  Outcome outcome;
  outcome.changed = Changed::unknown;  // a warmup changes caches, harmlessly
  nlohmann::json evidence = nlohmann::json::array();
  std::vector<std::string> problems;
  Status worst = Status::ok;
  double slowest = 0;
  for (const auto& result : results) {
    evidence.push_back(result.evidence);
    if (!result.problem.empty()) {
      problems.push_back(result.problem);
      if (worst == Status::ok) worst = result.status;
    } else if (result.evidence.contains("ready_ms")) {
      slowest = std::max(slowest, result.evidence["ready_ms"].get<double>());
    }
  }
  outcome.evidence["hooks"] = evidence;
  outcome.outputs["ready_ms"] = fmt::format("{:.1f}", slowest);
  if (!problems.empty()) {
    outcome.status = worst;
    outcome.evidence["error"] = "hook";
    outcome.message = redact(fmt::format("{} of {} warmup hooks not ready: {}", problems.size(),
                                         hooks.size(), join(problems, "; ")));
    return outcome;
  }
  outcome.status = Status::ok;
  outcome.message =
      fmt::format("{} warmup hooks ready, slowest in {:.1f} ms", hooks.size(), slowest);
  return outcome;
}

std::unique_ptr<Kind> make_warmup_hooks_kind() {
  return std::make_unique<WarmupHooksKind>();
}

}  // namespace drctl
