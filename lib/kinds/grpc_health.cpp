#include "kinds/grpc_health.hpp"

#include <fmt/format.h>

#include <thread>

#include "clients/grpc_health.hpp"
#include "kinds/tls_fields.hpp"
#include "util/strings.hpp"

namespace drctl {
namespace {

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
      return "SERVING";
    case R::not_serving:
      return "NOT_SERVING";
    case R::unknown:
      return "UNKNOWN status";
    case R::service_unknown:
      return "SERVICE_UNKNOWN";
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
    std::vector<std::string> addresses = m_spec.has("addresses")
                                             ? m_spec.strings("addresses")
                                             : std::vector<std::string>{m_spec.str("address")};
    GrpcTarget base;
    base.service = m_spec.str("service");
    base.connect_timeout = m_spec.duration("connect_timeout").value_or(Millis(1000));
    base.rpc_timeout = m_spec.duration("rpc_timeout").value_or(Millis(1000));
    base.tls = m_spec.boolean("tls") || m_spec.has("ca") || m_spec.has("cert");
    base.ca = m_spec.str("ca");
    base.cert = m_spec.str("cert");
    base.key = m_spec.str("key");
    base.server_name = m_spec.str("server_name");
    base.insecure = m_spec.boolean("insecure");
    base.metadata = m_spec.string_map("metadata");
    base.user_agent = m_spec.str("user_agent");

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
    std::size_t needed = m_spec.has("min_serving")
                             ? static_cast<std::size_t>(m_spec.integer("min_serving"))
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
    static const Fields fields = with_fields(
        {
            Field::string("address", "host:port of one server."),
            Field::string_list("addresses", "host:port of several servers, asked concurrently."),
            Field::integer("min_serving", "How many addresses must answer SERVING (default: all).")
                .range(0, std::nullopt),
            Field::string("service",
                          "Service name to ask about; \"\" (default) is the server as a whole."),
            Field::duration("connect_timeout", "Limit for the connection (default 1s).")
                .defaults_to(1000),
            Field::duration("rpc_timeout", "Limit for the Check RPC (default 1s).")
                .defaults_to(1000),
            Field::boolean("tls", "Use TLS (implied by ca or cert).").defaults_to(false),
            Field::string("server_name",
                          "Name to verify in the server's certificate instead of the host."),
            Field::string_map("metadata", "Request metadata (not for secrets)."),
            Field::string("user_agent", "User-agent prefix."),
        },
        tls_client_fields());
    return fields;
  }
  std::vector<std::string> outputs() const override { return {"status", "serving"}; }
  std::vector<SpecProblem> check_spec(const Spec& spec) const override {
    std::vector<SpecProblem> problems;
    if (spec.has("address") == spec.has("addresses"))
      problems.push_back({"", "give address or addresses (exactly one)"});
    if (spec.has("addresses") && spec.strings("addresses").empty())
      problems.push_back({"addresses", "must not be empty"});
    if (spec.has("min_serving") && !spec.has("addresses"))
      problems.push_back({"min_serving", "min_serving goes with addresses"});
    if (spec.has("min_serving") && spec.has("addresses") &&
        static_cast<std::size_t>(spec.integer("min_serving")) > spec.strings("addresses").size()) {
      problems.push_back({"min_serving", "is more than the number of addresses"});
    }
    if (spec.has("cert") != spec.has("key")) problems.push_back({"", "cert and key go together"});
    return problems;
  }
  std::string target(const Spec& spec) const override {
    return spec.has("addresses") ? join(spec.strings("addresses"), ",") : spec.str("address");
  }
  std::string describe(const Spec& spec) const override {
    return fmt::format("ask {} for grpc health of '{}'", target(spec), spec.str("service"));
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
