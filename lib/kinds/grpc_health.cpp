#include "kinds/grpc_health.hpp"

#include <fmt/format.h>

#include <thread>

#include "clients/grpc_health.hpp"
#include "kinds/tls_fields.hpp"
#include "util/strings.hpp"

namespace drctl {
namespace {

const Field k_address = Field::string("address", "host:port of one server.");
const Field k_addresses =
    Field::string_list("addresses", "host:port of several servers, asked concurrently.");
const Field k_min_serving =
    Field::integer("min_serving", "How many addresses must answer SERVING (default: all).")
        .range(0, std::nullopt);
const Field k_service =
    Field::string("service", "Service name to ask about; \"\" (default) is the server as a whole.");
const Field k_connect_timeout =
    Field::duration("connect_timeout", "Limit for the connection.").defaults_to(1000);
const Field k_rpc_timeout =
    Field::duration("rpc_timeout", "Limit for the Check RPC.").defaults_to(1000);
const Field k_tls = Field::boolean("tls", "Use TLS (implied by ca or cert).").defaults_to(false);
const Field k_server_name =
    Field::string("server_name", "Name to verify in the server's certificate instead of the host.");
const Field k_metadata = Field::string_map("metadata", "Request metadata (not for secrets).");
const Field k_user_agent = Field::string("user_agent", "User-agent prefix.");

using R = GrpcHealthAnswer::Result;

// How bad each answer is for the check's class: the worst one decides when too few serve.
Status status_of(R result) {
  switch (result) {
    case R::serving:
      return Status::ok;
    case R::connect_failed:
      return Status::unreachable;
    case R::connect_timeout:
    case R::deadline:
      return Status::timeout;
    case R::unimplemented:
    case R::stream_reset:
      return Status::invalid_answer;
    default:
      return Status::failed;
  }
}

std::string explain(R result, const std::string& detail) {
  switch (result) {
    case R::serving:
    case R::not_serving:
    case R::service_unknown:
      return std::string(grpc_result_name(result));
    case R::unknown:
      return "UNKNOWN status";
    case R::not_found:
      return "NOT_FOUND: the server does not know this service name";
    case R::unimplemented:
      return "UNIMPLEMENTED: the server has no grpc.health.v1 service";
    case R::stream_reset:
      return "STREAM_RESET: " + detail;
    case R::connect_failed:
      return detail;
    case R::connect_timeout:
      return "connect timeout: " + detail;
    case R::deadline:
      return "RPC deadline exceeded";
    case R::rpc_failed:
      return "RPC failed: " + detail;
    case R::config:
      return "configuration: " + detail;
  }
  return detail;
}

class GrpcHealthOperation : public Operation {
 public:
  explicit GrpcHealthOperation(Spec spec) : m_spec(std::move(spec)) {
    grpc_health_client();
  }  // loaded before the clock starts

  Outcome run(const AttemptContext& ctx) override {
    auto client = grpc_health_client();
    if (!client)
      return Outcome::fail(Status::failed, "grpc_health: " + client.error(), Changed::no);
    std::vector<std::string> addresses = m_spec.has(k_addresses)
                                             ? m_spec.strings(k_addresses)
                                             : std::vector<std::string>{m_spec.str(k_address)};
    GrpcTarget base;
    base.service = m_spec.str(k_service);
    base.connect_timeout = m_spec.duration(k_connect_timeout).value();
    base.rpc_timeout = m_spec.duration(k_rpc_timeout).value();
    base.tls = m_spec.boolean(k_tls) || m_spec.has(k_tls_ca) || m_spec.has(k_tls_cert);
    base.ca = m_spec.str(k_tls_ca);
    base.cert = m_spec.str(k_tls_cert);
    base.key = m_spec.str(k_tls_key);
    base.server_name = m_spec.str(k_server_name);
    base.insecure = m_spec.boolean(k_tls_insecure);
    base.metadata = m_spec.string_map(k_metadata);
    base.user_agent = m_spec.str(k_user_agent);

    // Every address is asked at once: the check takes as long as the slowest, not the sum.
    // One address is asked on this thread (the common case, and the 200-target fan-out).
    std::vector<GrpcHealthAnswer> answers(addresses.size());
    auto ask = [&](std::size_t i) {
      GrpcTarget target = base;
      target.address = addresses[i];
      answers[i] = (*client)->check(target, ctx.deadline);
    };
    if (addresses.size() == 1) {
      ask(0);
    } else {
      std::vector<std::thread> threads;
      for (std::size_t i = 0; i < addresses.size(); ++i) threads.emplace_back(ask, i);
      for (auto& t : threads) t.join();
    }

    Outcome outcome;
    outcome.changed = Changed::no;
    std::size_t serving = 0;
    R worst = R::serving;
    nlohmann::json targets = nlohmann::json::array();
    std::vector<std::string> problems;
    for (std::size_t i = 0; i < addresses.size(); ++i) {
      const auto& a = answers[i];
      targets.push_back({{"address", addresses[i]},
                         {"status", grpc_result_name(a.result)},
                         {"connect_ms", a.connect_ms},
                         {"rpc_ms", a.rpc_ms},
                         {"detail", a.detail}});
      if (a.result == R::serving) {
        ++serving;
      } else {
        problems.push_back(fmt::format("{}: {}", addresses[i], explain(a.result, a.detail)));
        if (worst == R::serving || status_of(a.result) == Status::unreachable ||
            status_of(a.result) == Status::timeout)
          worst = a.result;
      }
    }
    std::size_t needed = m_spec.has(k_min_serving)
                             ? static_cast<std::size_t>(m_spec.integer(k_min_serving))
                             : addresses.size();
    outcome.evidence["targets"] = targets;
    outcome.evidence["serving"] = serving;
    outcome.evidence["min_serving"] = needed;
    outcome.evidence["service"] = base.service;
    outcome.outputs["serving"] = std::to_string(serving);
    outcome.outputs["status"] =
        std::string(grpc_result_name(addresses.size() == 1 ? answers[0].result : worst));
    std::string who = base.service.empty() ? "server" : fmt::format("service '{}'", base.service);
    if (serving >= needed) {
      outcome.status = Status::ok;
      outcome.message =
          addresses.size() == 1
              ? fmt::format("{} {}: SERVING (connect {:.1f} ms, rpc {:.1f} ms)", addresses[0], who,
                            answers[0].connect_ms, answers[0].rpc_ms)
              : fmt::format("{}: {} of {} addresses SERVING, need {}", who, serving,
                            addresses.size(), needed);
      if (!problems.empty()) outcome.warnings.push_back(join(problems, "; "));
      return outcome;
    }
    outcome.status = status_of(worst);
    outcome.evidence["error"] =
        to_lower(std::string(grpc_result_name(addresses.size() == 1 ? answers[0].result : worst)));
    outcome.message = addresses.size() == 1
                          ? fmt::format("{} {}: {}", addresses[0], who,
                                        explain(answers[0].result, answers[0].detail))
                          : fmt::format("{}: {} of {} addresses SERVING, need {} ({})", who,
                                        serving, addresses.size(), needed, join(problems, "; "));
    return outcome;
  }

 private:
  Spec m_spec;
};

class GrpcHealthKind : public Kind {
 public:
  std::string_view name() const override { return "grpc_health"; }
  std::string_view summary() const override {
    return "grpc.health.v1.Health/Check answers SERVING.";
  }
  bool allowed_as(Role role) const override { return role == Role::check; }
  const Fields& fields() const override {
    static const Fields fields =
        with_fields({k_address, k_addresses, k_min_serving, k_service, k_connect_timeout,
                     k_rpc_timeout, k_tls, k_server_name, k_metadata, k_user_agent},
                    tls_client_fields());
    return fields;
  }
  std::vector<std::string> outputs() const override { return {"status", "serving"}; }
  std::vector<SpecProblem> check_spec(const Spec& spec) const override {
    std::vector<SpecProblem> problems;
    if (spec.has(k_address) == spec.has(k_addresses))
      problems.push_back({"", "give address or addresses (exactly one)"});
    if (spec.has(k_addresses) && spec.strings(k_addresses).empty())
      problems.push_back({k_addresses.name, "must not be empty"});
    if (spec.has(k_min_serving) && !spec.has(k_addresses))
      problems.push_back({k_min_serving.name, "min_serving goes with addresses"});
    if (spec.has(k_min_serving) && spec.has(k_addresses) &&
        static_cast<std::size_t>(spec.integer(k_min_serving)) > spec.strings(k_addresses).size()) {
      problems.push_back({k_min_serving.name, "is more than the number of addresses"});
    }
    if (spec.has(k_tls_cert) != spec.has(k_tls_key))
      problems.push_back({"", "cert and key go together"});
    return problems;
  }
  std::string target(const Spec& spec) const override {
    return spec.has(k_addresses) ? join(spec.strings(k_addresses), ",") : spec.str(k_address);
  }
  std::string describe(const Spec& spec) const override {
    return fmt::format("ask {} for grpc health of '{}'", target(spec), spec.str(k_service));
  }
  bool mutates(const Spec&) const override { return false; }
  std::unique_ptr<Operation> prepare(const Spec& spec) const override {
    return std::make_unique<GrpcHealthOperation>(spec);
  }
};

}  // namespace

std::unique_ptr<Kind> make_grpc_health_kind() {
  return std::make_unique<GrpcHealthKind>();
}

}  // namespace drctl
