#include "kinds/http.hpp"

#include <fmt/format.h>

#include "clients/curl_api.hpp"
#include "clients/http_client.hpp"
#include "kinds/failure.hpp"
#include "kinds/tls_fields.hpp"
#include "util/secrets.hpp"
#include "util/strings.hpp"

namespace drctl {
namespace {

const Field k_url = Field::string("url", "http:// or https:// URL.").mandatory();
const Field k_method = Field::string("method", "HTTP method.")
                           .one_of({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
                           .defaults_to("GET");
const Field k_headers = Field::string_map("headers", "Request headers (not for secrets).");
const Field k_headers_env = Field::string_map(
    "headers_env", "Header name -> environment variable holding its (secret) value.");
const Field k_headers_file =
    Field::string_map("headers_file", "Header name -> file holding its (secret) value.");
const Field k_body = Field::string("body", "Request body.");
const Field k_expect_status =
    Field::integer_list("expect_status", "Status code(s) that pass; default any 2xx.");
const Field k_expect_body_contains =
    Field::string("expect_body_contains", "Text the body must contain.");
const Field k_connect_timeout =
    Field::duration("connect_timeout", "Limit for establishing the connection.").defaults_to(5000);

constexpr std::size_t k_body_output_limit = 64 * 1024;

class HttpOperation : public Operation {
 public:
  // libcurl is loaded here, before the attempt's clock starts: a check's duration is the
  // target's time, not drctl's one-time library load (the run's total still includes it).
  explicit HttpOperation(Spec spec) : m_spec(std::move(spec)) { curl_api(); }

  Outcome run(const AttemptContext& ctx) override {
    HttpRequest request;
    request.method = m_spec.str(k_method);
    request.url = m_spec.str(k_url);
    request.body = m_spec.str(k_body);
    request.tls = {m_spec.str(k_tls_ca), m_spec.str(k_tls_cert), m_spec.str(k_tls_key),
                   m_spec.boolean(k_tls_insecure)};
    request.connect_timeout = m_spec.duration(k_connect_timeout).value();
    for (const auto& [name, value] : m_spec.string_map(k_headers))
      request.headers.emplace_back(name, value);
    const std::string endpoint = fmt::format("{} {}", request.method, request.url);
    for (const auto& [name, source] : m_spec.string_map(k_headers_env)) {
      auto value = secret_from_env(source);
      if (!value)
        return Outcome::fail(Status::failed,
                             fmt::format("{}: headers_env.{}: {}", endpoint, name, value.error()),
                             Changed::no);
      request.headers.emplace_back(name, *value);
    }
    for (const auto& [name, path] : m_spec.string_map(k_headers_file)) {
      auto value = secret_from_file(path);
      if (!value)
        return Outcome::fail(Status::failed,
                             fmt::format("{}: headers_file.{}: {}", endpoint, name, value.error()),
                             Changed::no);
      request.headers.emplace_back(name, *value);
    }

    auto response = http_request(request, ctx.deadline, ctx.cancel);
    if (!response) {
      bool sent = response.error().kind != HttpError::Class::refused &&
                  response.error().kind != HttpError::Class::resolve;
      return Outcome::fail(status_for(response.error().kind),
                           redact(fmt::format("{}: {}", endpoint, response.error().message)),
                           sent ? Changed::unknown : Changed::no);
    }
    Outcome outcome;
    outcome.changed = Changed::unknown;
    outcome.evidence["url"] = redact(request.url);
    outcome.evidence["status"] = response->status;
    outcome.evidence["connect_ms"] = response->connect_ms;
    outcome.evidence["reused_connection"] = response->reused;
    outcome.evidence["first_byte_ms"] = response->first_byte_ms;
    outcome.evidence["total_ms"] = response->total_ms;
    outcome.outputs["status"] = std::to_string(response->status);
    // Masked first, then cut: a cut through a secret would leave part of it unrecognisable.
    const std::string body = redact(response->body);
    outcome.outputs["body"] = body.substr(0, k_body_output_limit);

    auto expected = m_spec.integers(k_expect_status);
    bool status_ok = expected.empty() ? (response->status >= 200 && response->status < 300)
                                      : std::find(expected.begin(), expected.end(),
                                                  response->status) != expected.end();
    if (!status_ok) {
      outcome.status = Status::failed;
      outcome.evidence["body_tail"] = tail(body, 5, 512);
      outcome.message = redact(
          fmt::format("{}: status {} (expected {})", endpoint, response->status,
                      expected.empty() ? "2xx" : fmt::format("{}", fmt::join(expected, " or "))));
      return outcome;
    }
    auto needle = m_spec.opt_str(k_expect_body_contains);
    if (needle && response->body.find(*needle) == std::string::npos) {
      outcome.status = Status::failed;
      outcome.evidence["body_tail"] = tail(body, 5, 512);
      outcome.message = redact(fmt::format("{}: status {} but the body does not contain '{}'{}",
                                           endpoint, response->status, *needle,
                                           response->truncated ? " (body truncated)" : ""));
      return outcome;
    }
    outcome.status = Status::ok;
    outcome.message = fmt::format("{}: status {} in {:.1f} ms", redact(endpoint), response->status,
                                  response->total_ms);
    return outcome;
  }

 private:
  Spec m_spec;
};

class HttpKind : public Kind {
 public:
  std::string_view name() const override { return "http"; }
  std::string_view summary() const override {
    return "Sends one HTTP request and checks its status and body.";
  }
  bool allowed_as(Role) const override { return true; }

  const Fields& fields() const override {
    static const Fields fields =
        with_fields({k_url, k_method, k_headers, k_headers_env, k_headers_file, k_body,
                     k_expect_status, k_expect_body_contains, k_connect_timeout},
                    tls_client_fields());
    return fields;
  }

  std::vector<std::string> outputs() const override { return {"status", "body"}; }

  std::vector<SpecProblem> check_spec(const Spec& spec) const override {
    std::vector<SpecProblem> problems;
    auto url = spec.str(k_url);
    if (url.rfind("http://", 0) != 0 && url.rfind("https://", 0) != 0 && url.find("${") != 0) {
      problems.push_back(
          {k_url.name, fmt::format("expected an http:// or https:// URL, got '{}'", url)});
    }
    if (spec.has(k_tls_cert) != spec.has(k_tls_key))
      problems.push_back({"", "cert and key go together"});
    return problems;
  }

  std::string target(const Spec& spec) const override {
    return fmt::format("{} {}", spec.str(k_method), spec.str(k_url));
  }
  std::string describe(const Spec& spec) const override {
    return fmt::format("send {}", target(spec));
  }
  bool mutates(const Spec& spec) const override {
    auto method = spec.str(k_method);
    return method != "GET" && method != "HEAD" && method != "OPTIONS";
  }
  std::unique_ptr<Operation> prepare(const Spec& spec) const override {
    return std::make_unique<HttpOperation>(spec);
  }
};

}  // namespace

std::unique_ptr<Kind> make_http_kind() {
  return std::make_unique<HttpKind>();
}

}  // namespace drctl
