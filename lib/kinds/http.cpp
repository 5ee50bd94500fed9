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

constexpr std::size_t k_body_output_limit = 64 * 1024;

class HttpOperation : public Operation {
 public:
  // libcurl is loaded here, before the attempt's clock starts: a check's duration is the
  // target's time, not drctl's one-time library load (the run's total still includes it).
  explicit HttpOperation(Spec spec) : m_spec(std::move(spec)) { curl_api(); }

  Outcome run(const AttemptContext& ctx) override {
    HttpRequest request;
    request.method = m_spec.str("method");
    request.url = m_spec.str("url");
    request.body = m_spec.str("body");
    request.tls = {m_spec.str("ca"), m_spec.str("cert"), m_spec.str("key"),
                   m_spec.boolean("insecure")};
    if (auto connect = m_spec.duration("connect_timeout")) request.connect_timeout = *connect;
    for (const auto& [name, value] : m_spec.string_map("headers"))
      request.headers.emplace_back(name, value);
    const std::string endpoint = fmt::format("{} {}", request.method, request.url);
    for (const auto& [name, source] : m_spec.string_map("headers_env")) {
      auto value = secret_from_env(source);
      if (!value)
        return Outcome::fail(Status::failed,
                             fmt::format("{}: headers_env.{}: {}", endpoint, name, value.error()),
                             Changed::no);
      request.headers.emplace_back(name, *value);
    }
    for (const auto& [name, path] : m_spec.string_map("headers_file")) {
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
    outcome.outputs["body"] = redact(response->body.substr(0, k_body_output_limit));

    auto expected = m_spec.integers("expect_status");
    bool status_ok = expected.empty() ? (response->status >= 200 && response->status < 300)
                                      : std::find(expected.begin(), expected.end(),
                                                  response->status) != expected.end();
    if (!status_ok) {
      outcome.status = Status::failed;
      outcome.evidence["body_tail"] = redact(tail(response->body, 5, 512));
      outcome.message = redact(
          fmt::format("{}: status {} (expected {})", endpoint, response->status,
                      expected.empty() ? "2xx" : fmt::format("{}", fmt::join(expected, " or "))));
      return outcome;
    }
    auto needle = m_spec.opt_str("expect_body_contains");
    if (needle && response->body.find(*needle) == std::string::npos) {
      outcome.status = Status::failed;
      outcome.evidence["body_tail"] = redact(tail(response->body, 5, 512));
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
    static const Fields fields = with_fields(
        {
            Field::string("url", "http:// or https:// URL.").mandatory(),
            Field::string("method", "HTTP method.")
                .one_of({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
                .defaults_to("GET"),
            Field::string_map("headers", "Request headers (not for secrets)."),
            Field::string_map("headers_env",
                              "Header name -> environment variable holding its (secret) value."),
            Field::string_map("headers_file", "Header name -> file holding its (secret) value."),
            Field::string("body", "Request body."),
            Field::integer_list("expect_status", "Status code(s) that pass; default any 2xx."),
            Field::string("expect_body_contains", "Text the body must contain."),
            Field::duration("connect_timeout", "Limit for establishing the connection.")
                .defaults_to(5000),
        },
        tls_client_fields());
    return fields;
  }

  std::vector<std::string> outputs() const override { return {"status", "body"}; }

  std::vector<SpecProblem> check_spec(const Spec& spec) const override {
    std::vector<SpecProblem> problems;
    auto url = spec.str("url");
    if (url.rfind("http://", 0) != 0 && url.rfind("https://", 0) != 0 && url.find("${") != 0) {
      problems.push_back(
          {"url", fmt::format("expected an http:// or https:// URL, got '{}'", url)});
    }
    if (spec.has("cert") != spec.has("key")) problems.push_back({"", "cert and key go together"});
    return problems;
  }

  std::string target(const Spec& spec) const override {
    return fmt::format("{} {}", spec.str("method"), spec.str("url"));
  }
  std::string describe(const Spec& spec) const override {
    return fmt::format("send {}", target(spec));
  }
  bool mutates(const Spec& spec) const override {
    auto method = spec.str("method");
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
