#include "kinds/consul.hpp"

#include <fmt/format.h>

#include "clients/curl_api.hpp"
#include "clients/http_client.hpp"
#include "kinds/failure.hpp"
#include "kinds/tls_fields.hpp"
#include "util/secrets.hpp"
#include "util/strings.hpp"

namespace drctl {
namespace {

const Field k_address =
    Field::string("address", "Consul HTTP API, http:// or https:// (e.g. http://10.2.0.5:8500).")
        .mandatory();
const Field k_service = Field::string("service", "Service name.").mandatory();
const Field k_min_passing = Field::integer("min_passing", "Instances that must pass.")
                                .range(0, std::nullopt)
                                .defaults_to(1);
const Field k_dc = Field::string("dc", "Datacenter (default: the agent's).");
const Field k_filter =
    Field::string("filter", "Consul filter expression, e.g. Service.Tags contains \"v2\".");
const Field k_token_env = Field::string(
    "token_env", "Environment variable holding the ACL token (sent as X-Consul-Token).");
const Field k_token_file = Field::string("token_file", "File holding the ACL token.");
const Field k_connect_timeout =
    Field::duration("connect_timeout", "Connection limit.").defaults_to(5000);

constexpr std::size_t k_failing_listed = 20;

// What one /v1/health/service answer says, after checking its shape.
struct ServiceHealth {
  std::size_t instances = 0;
  std::size_t passing = 0;
  std::vector<std::string> failing;  // "node/instance: check (status)"
};

// Consul's ?passing is not trusted on its own: an instance counts only if every check passes.
tl::expected<ServiceHealth, std::string> read_health(const std::string& body) {
  nlohmann::json doc = nlohmann::json::parse(body, nullptr, false);
  if (doc.is_discarded()) return tl::unexpected(std::string("the body is not JSON"));
  if (!doc.is_array())
    return tl::unexpected(fmt::format("expected a JSON array, got {}", doc.type_name()));
  ServiceHealth health;
  for (std::size_t i = 0; i < doc.size(); ++i) {
    const auto& entry = doc[i];
    if (!entry.is_object() || !entry.contains("Node") || !entry.contains("Service") ||
        !entry.contains("Checks") || !entry["Checks"].is_array() || !entry["Service"].is_object() ||
        !entry["Node"].is_object()) {
      return tl::unexpected(fmt::format("element {} lacks Node, Service or a Checks array", i));
    }
    ++health.instances;
    std::string node = entry["Node"].value("Node", "?");
    std::string id = entry["Service"].value("ID", "?");
    bool all_pass = true;
    for (const auto& check : entry["Checks"]) {
      if (!check.is_object() || !check.contains("Status") || !check["Status"].is_string()) {
        return tl::unexpected(fmt::format("element {} has a check without a Status string", i));
      }
      std::string status = check["Status"].get<std::string>();
      if (status != "passing") {
        all_pass = false;
        health.failing.push_back(fmt::format(
            "{}/{}: {} ({})", node, id, check.value("Name", check.value("CheckID", "?")), status));
      }
    }
    if (all_pass) ++health.passing;
  }
  return health;
}

class ConsulOperation : public Operation {
 public:
  explicit ConsulOperation(Spec spec) : m_spec(std::move(spec)) {
    curl_api();
  }  // loaded before the clock starts

  Outcome run(const AttemptContext& ctx) override {
    std::string address = m_spec.str(k_address);
    while (!address.empty() && address.back() == '/') address.pop_back();
    const std::string service = m_spec.str(k_service);
    HttpRequest request;
    request.url = fmt::format("{}/v1/health/service/{}?passing", address, url_encode(service));
    if (m_spec.has(k_dc)) request.url += "&dc=" + url_encode(m_spec.str(k_dc));
    if (m_spec.has(k_filter)) request.url += "&filter=" + url_encode(m_spec.str(k_filter));
    request.tls = {m_spec.str(k_tls_ca), m_spec.str(k_tls_cert), m_spec.str(k_tls_key),
                   m_spec.boolean(k_tls_insecure)};
    request.connect_timeout = m_spec.duration(k_connect_timeout).value();
    const std::string endpoint = fmt::format("consul {} service '{}'", address, service);

    auto token = m_spec.secret("token");
    if (!token)
      return failed(Status::failed, "config",
                    fmt::format("{}: token: {}", endpoint, token.error()));
    if (!token->empty()) request.headers.emplace_back("X-Consul-Token", *token);

    auto response = http_request(request, ctx.deadline, ctx.cancel);
    if (!response) {
      const auto& error = response.error();
      return http_failure(error, endpoint, Changed::no);
    }
    Outcome outcome;
    outcome.changed = Changed::no;
    outcome.evidence["http_status"] = response->status;
    outcome.evidence["consul_index"] = response->header("x-consul-index");
    outcome.evidence["known_leader"] = response->header("x-consul-knownleader");
    std::string body_line = one_line(response->body.substr(0, 200));
    if (response->status == 403) {
      return failed(outcome, Status::failed, "acl_denied",
                    fmt::format("{}: ACL denied (403): {}", endpoint, body_line));
    }
    if (response->status >= 400 && response->status < 500) {
      return failed(
          outcome, Status::failed, "client_error",
          fmt::format("{}: request rejected ({}): {}", endpoint, response->status, body_line));
    }
    if (response->status >= 500) {
      return failed(
          outcome, Status::failed, "server_error",
          fmt::format("{}: server error ({}): {}", endpoint, response->status, body_line));
    }
    if (response->status != 200) {
      return failed(outcome, Status::invalid_answer, "unexpected_status",
                    fmt::format("{}: unexpected status {}", endpoint, response->status));
    }
    auto health = read_health(response->body);
    if (!health) {
      return failed(outcome, Status::invalid_answer, "bad_shape",
                    fmt::format("{}: invalid answer: {}", endpoint, health.error()));
    }
    long long min_passing = m_spec.integer(k_min_passing);
    bool filtered = response->header("x-consul-results-filtered-by-acls") == "true";
    outcome.evidence["instances_returned"] = health->instances;
    outcome.evidence["instances_passing"] = health->passing;
    outcome.evidence["min_passing"] = min_passing;
    outcome.evidence["filtered_by_acls"] = filtered;
    std::vector<std::string> failing(
        health->failing.begin(),
        health->failing.begin() + std::min(health->failing.size(), k_failing_listed));
    outcome.evidence["failing_checks"] = failing;
    if (filtered)
      outcome.warnings.push_back(
          fmt::format("{}: results filtered by ACLs: the passing count may be too low", endpoint));
    if (health->instances > health->passing) {
      outcome.warnings.push_back(fmt::format(
          "{}: Consul returned {} instance(s) for ?passing whose checks are not all passing",
          endpoint, health->instances - health->passing));
    }
    outcome.outputs["passing"] = std::to_string(health->passing);
    outcome.outputs["instances"] = std::to_string(health->instances);
    outcome.outputs["index"] = response->header("x-consul-index");
    std::string summary = fmt::format("{}: {} of {} instance(s) passing, need {}", endpoint,
                                      health->passing, health->instances, min_passing);
    if (static_cast<long long>(health->passing) < min_passing) {
      std::string why = failing.empty() ? "" : fmt::format(" (failing: {})", join(failing, "; "));
      return failed(outcome, Status::failed, "too_few_passing", summary + why);
    }
    outcome.status = Status::ok;
    outcome.message = summary;
    return outcome;
  }

 private:
  Spec m_spec;
};

class ConsulKind : public Kind {
 public:
  std::string_view name() const override { return "consul"; }
  std::string_view summary() const override {
    return "The service has at least min_passing instances whose every check is passing (Consul "
           "health API).";
  }
  bool allowed_as(Role role) const override { return role == Role::check; }
  const Fields& fields() const override {
    static const Fields fields = with_fields({k_address, k_service, k_min_passing, k_dc, k_filter,
                                              k_token_env, k_token_file, k_connect_timeout},
                                             tls_client_fields());
    return fields;
  }
  std::vector<std::string> outputs() const override { return {"passing", "instances", "index"}; }
  std::vector<SpecProblem> check_spec(const Spec& spec) const override {
    std::vector<SpecProblem> problems;
    auto address = spec.str(k_address);
    if (address.rfind("http://", 0) != 0 && address.rfind("https://", 0) != 0) {
      problems.push_back(
          {k_address.name, fmt::format("expected an http:// or https:// URL, got '{}'", address)});
    }
    if (spec.has(k_token_env) && spec.has(k_token_file))
      problems.push_back({k_token_file.name, "give token_env or token_file, not both"});
    if (spec.has(k_tls_cert) != spec.has(k_tls_key))
      problems.push_back({"", "cert and key go together"});
    return problems;
  }
  std::string target(const Spec& spec) const override {
    return fmt::format("{} {}", spec.str(k_address), spec.str(k_service));
  }
  std::string describe(const Spec& spec) const override {
    return fmt::format("ask {} for passing instances of '{}' (need {})", spec.str(k_address),
                       spec.str(k_service), spec.integer(k_min_passing));
  }
  bool mutates(const Spec&) const override { return false; }
  std::unique_ptr<Operation> prepare(const Spec& spec) const override {
    return std::make_unique<ConsulOperation>(spec);
  }
};

}  // namespace

std::unique_ptr<Kind> make_consul_kind() {
  return std::make_unique<ConsulKind>();
}

}  // namespace drctl
