#include "kinds/route_verify.hpp"

#include <fmt/format.h>

#include <thread>

#include "util/clock.hpp"
#include "util/secrets.hpp"
#include "util/strings.hpp"

namespace drctl {
namespace {
using Clock = std::chrono::steady_clock;
}  // namespace

RouteExpect RouteExpect::from(const Spec& expect) {
  RouteExpect out;
  if (expect.has(k_expect_status)) out.status = expect.integer(k_expect_status);
  out.headers = expect.string_map(k_expect_headers);
  out.body_contains = expect.opt_str(k_expect_body_contains);
  return out;
}

bool RouteExpect::matches(const HttpResponse& response) const {
  if (status && response.status != *status) return false;
  for (const auto& [name, value] : headers) {
    if (response.header(to_lower(name)) != value) return false;
  }
  return !body_contains || response.body.find(*body_contains) != std::string::npos;
}

std::string RouteExpect::describe() const {
  std::vector<std::string> parts;
  if (status) parts.push_back(fmt::format("status {}", *status));
  for (const auto& [name, value] : headers) {
    // An answer without the header (a proxy's own error page) reads "no X-Site".
    parts.push_back(value.empty() ? "no " + name : fmt::format("{}: {}", name, value));
  }
  if (body_contains) parts.push_back(fmt::format("body containing '{}'", *body_contains));
  return parts.empty() ? "any answer" : join(parts, ", ");
}

RouteExpect RouteExpect::observed(const HttpResponse& response) const {
  RouteExpect out;
  out.status = response.status;
  for (const auto& [name, value] : headers) out.headers[name] = response.header(to_lower(name));
  return out;
}

nlohmann::json RouteExpect::to_json() const {
  nlohmann::json out = nlohmann::json::object();
  if (status) out[k_expect_status.name] = *status;
  if (!headers.empty()) out[k_expect_headers.name] = headers;
  if (body_contains) out[k_expect_body_contains.name] = *body_contains;
  return out;
}

std::string VerifyResult::describe_last() const {
  std::vector<std::string> parts;
  if (!last_error.empty()) parts.push_back("last error: " + last_error);
  if (!last_stale.empty()) parts.push_back("last stale: " + last_stale);
  return parts.empty() ? "no answer" : join(parts, "; ");
}

nlohmann::json VerifyResult::to_json() const {
  nlohmann::json out = {
      {"requests", requests}, {"stale", stale}, {"errors", errors}, {"flaps", flaps}};
  if (!last_error.empty()) out["last_error"] = redact(last_error);
  if (!last_stale.empty()) out["last_stale"] = redact(last_stale);
  out["takeover_ms"] = takeover_ms >= 0 ? nlohmann::json(takeover_ms) : nlohmann::json(nullptr);
  out["stable_ms"] = stable_ms >= 0 ? nlohmann::json(stable_ms) : nlohmann::json(nullptr);
  return out;
}

VerifyResult verify_route(const VerifyPlan& plan, Clock::time_point since,
                          const AttemptContext& outer) {
  VerifyResult result;
  AttemptContext ctx = outer;
  ctx.deadline = std::min(outer.deadline, Clock::now() + plan.timeout);
  HttpRequest request;
  request.url = plan.url;
  request.connect_timeout = std::min<Millis>(plan.timeout, Millis(2000));
  request.fresh_connection =
      true;  // what a new client sees: a kept-alive connection may still reach the old target
  int in_a_row = 0;
  bool new_answered = false;  // since the last stale answer: the next stale one is a flap
  while (true) {
    ++result.requests;
    auto response = http_request(request, ctx.deadline, ctx.cancel);
    auto answered = Clock::now();
    if (!response && response.error().kind == HttpError::Class::timeout &&
        ctx.remaining() <= Millis(0) && result.requests > 1) {
      // Cut short by the window's own deadline (a late start on a loaded machine): not an
      // answer, and the last real one stays what is reported.
      --result.requests;
      return result;
    }
    if (!response) {
      ++result.errors;
      in_a_row = 0;
      result.last_error = response.error().message;
    } else if (plan.expect.matches(*response)) {
      new_answered = true;
      if (result.takeover_ms < 0) result.takeover_ms = ms_between(since, answered);
      if (++in_a_row >= plan.consecutive) {
        result.stable_ms = ms_between(since, answered);
        result.ok = true;
        return result;
      }
    } else if (plan.old && plan.old->matches(*response)) {
      if (new_answered) ++result.flaps;  // back to the old target after the new one answered
      new_answered = false;
      in_a_row = 0;
      ++result.stale;
      result.last_stale = plan.expect.observed(*response).describe();
    } else {
      // Neither target: the proxy's 502, another status, an answer from somewhere else.
      in_a_row = 0;
      ++result.errors;
      result.last_error = plan.expect.observed(*response).describe();
    }
    auto next = Clock::now() + plan.interval;
    if (next >= ctx.deadline || ctx.cancelled()) return result;
    std::this_thread::sleep_until(next);
    // A sleep that overshot the deadline (a loaded machine) leaves no time for a request: stop
    // with the last real answer, not "no time left" in its place.
    if (ctx.remaining() <= Millis(0)) return result;
  }
}

}  // namespace drctl
