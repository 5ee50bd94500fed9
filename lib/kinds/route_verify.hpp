#pragma once
// Proof that traffic moved: poll a URL on fresh connections until `consecutive` answers in a
// row match what the new target says (status, headers such as X-Site, body text). Of the other
// answers only those of the old target are stale; everything else (another status, a proxy's
// 502, a connection error, an answer of neither target) is an error.
#include <chrono>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "clients/http_client.hpp"
#include "core/context.hpp"
#include "core/field.hpp"
#include "core/spec.hpp"

namespace drctl {

// The keys of an expectation (routing_reload's verify.expect), as RouteExpect::from reads them.
inline const Field k_expect_status = Field::integer("status", "Status.");
inline const Field k_expect_headers =
    Field::string_map("headers", "Headers, e.g. {X-Site: bantian}.");
inline const Field k_expect_body_contains = Field::string("body_contains", "Text in the body.");

struct RouteExpect {
  std::optional<long> status;
  std::map<std::string, std::string> headers;  // names as written; matched case-insensitively
  std::optional<std::string> body_contains;

  static RouteExpect from(const Spec& expect);
  bool matches(const HttpResponse& response) const;
  std::string describe() const;  // "status 200, X-Site: bantian"; "status 502, no X-Site"
  // What the current target answers for the same fields: the expectation that means "the old
  // target again" (used to verify a rollback).
  RouteExpect observed(const HttpResponse& response) const;
  nlohmann::json to_json() const;  // the shape `from` reads, for the journal
};

struct VerifyResult {
  bool ok = false;
  double takeover_ms = -1;  // since `since`: the first matching answer
  double stable_ms = -1;    // the `consecutive`-th matching answer in a row
  int requests = 0;
  int stale = 0;   // answers of the old target
  int errors = 0;  // anything else that did not match: status, 502, no answer, another target
  int flaps = 0;   // old-target answers after the new target had answered
  std::string last_error;  // the last error ("status 502, X-Site: " or a transport error)
  std::string last_stale;  // the last old-target answer
  // "last error: ...; last stale: ..." (those seen), for a failure message.
  std::string describe_last() const;

  nlohmann::json to_json() const;
};

struct VerifyPlan {
  std::string url;
  RouteExpect expect;
  // What the target being left answers; only an answer matching it is stale. Unknown (the old
  // target did not answer before the change): every answer that does not match is an error.
  std::optional<RouteExpect> old;
  int consecutive = 5;
  Millis interval{50};
  Millis timeout{10'000};
};

VerifyResult verify_route(const VerifyPlan& plan, std::chrono::steady_clock::time_point since,
                          const AttemptContext& ctx);

}  // namespace drctl
