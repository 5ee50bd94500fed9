#include "kinds/prewarm.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <thread>

#include "clients/curl_api.hpp"
#include "clients/etcd.hpp"
#include "clients/grpc_health.hpp"
#include "clients/http_client.hpp"
#include "util/secrets.hpp"
#include "util/strings.hpp"

namespace drctl {
namespace {

const Field k_endpoints =
    Field::string_list(
        "endpoints",
        "http(s)://host:port/path, grpc(s)://host:port, etcd://host:port or tcp://host:port.")
        .mandatory();
const Field k_connect_timeout =
    Field::duration("connect_timeout", "Per endpoint.").defaults_to("2s");
const Field k_parallel =
    Field::integer("parallel", "Endpoints dialed at once.").range(1, 256).defaults_to(8);
const Field k_required =
    Field::boolean("required", "Fail when an endpoint cannot be reached (false: a warning).")
        .defaults_to(true);

using Clock = std::chrono::steady_clock;
double ms_since(Clock::time_point start) {
  return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

struct Target {
  std::string scheme, address;  // "grpc", "10.2.0.11:9090"
};

Target parse_target(const std::string& endpoint) {
  auto colon = endpoint.find("://");
  if (colon == std::string::npos) return {"tcp", endpoint};
  return {endpoint.substr(0, colon), endpoint.substr(colon + 3)};
}

// A plain TCP connect (resolve + connect), for endpoints no pool can hold.
nlohmann::json tcp_connect(const std::string& address, Clock::time_point deadline) {
  nlohmann::json out;
  auto colon = address.rfind(':');
  std::string host = address.substr(0, colon),
              port = colon == std::string::npos ? "" : address.substr(colon + 1);
  auto started = Clock::now();
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  if (int rc = ::getaddrinfo(host.c_str(), port.c_str(), &hints, &found); rc != 0) {
    out["error"] = fmt::format("cannot resolve {}: {}", host, ::gai_strerror(rc));
    return out;
  }
  out["resolve_ms"] = ms_since(started);
  int fd = ::socket(found->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  int rc = fd < 0 ? -1 : ::connect(fd, found->ai_addr, found->ai_addrlen);
  ::freeaddrinfo(found);
  if (rc != 0 && errno == EINPROGRESS) {
    pollfd p{fd, POLLOUT, 0};
    int wait_ms = std::max<int>(
        0, static_cast<int>(std::chrono::duration_cast<Millis>(deadline - Clock::now()).count()));
    rc = ::poll(&p, 1, wait_ms) == 1 ? 0 : -1;
    int error = 0;
    socklen_t length = sizeof error;
    if (rc == 0 && ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length) == 0 && error != 0) {
      errno = error;
      rc = -1;
    } else if (rc != 0) {
      errno = ETIMEDOUT;
    }
  }
  if (rc != 0)
    out["error"] = fmt::format("connect {}: {}", address, std::strerror(errno));
  else
    out["connect_ms"] = ms_since(started);
  if (fd >= 0) ::close(fd);
  return out;
}

nlohmann::json warm(const std::string& endpoint, const AttemptContext& outer, Millis timeout) {
  Target target = parse_target(endpoint);
  AttemptContext ctx = outer;
  ctx.deadline = std::min(outer.deadline, Clock::now() + timeout);
  auto started = Clock::now();
  nlohmann::json out = {{"endpoint", redact(endpoint)}, {"via", target.scheme}};
  if (target.scheme == "http" || target.scheme == "https") {
    HttpRequest request;
    request.url = endpoint;
    request.connect_timeout = timeout;
    request.max_body = 4096;
    auto response =
        http_request(request, ctx.deadline, ctx.cancel);  // the connection stays in the pool
    if (!response) {
      out["error"] = response.error().message;
    } else {
      out["connect_ms"] = response->connect_ms;
      if (target.scheme == "https") out["tls_ms"] = response->tls_ms;
      out["status"] = response->status;
    }
  } else if (target.scheme == "grpc" || target.scheme == "grpcs") {
    auto client = grpc_health_client();
    if (!client) {
      out["error"] = client.error();
    } else {
      GrpcTarget grpc;
      grpc.address = target.address;
      grpc.tls = target.scheme == "grpcs";
      grpc.connect_timeout = timeout;
      grpc.rpc_timeout = timeout;
      auto answer = (*client)->check(grpc, ctx.deadline);
      using R = GrpcHealthAnswer::Result;
      // Any answer, even NOT_SERVING or UNIMPLEMENTED, means the channel is up.
      if (answer.result == R::connect_failed || answer.result == R::connect_timeout ||
          answer.result == R::config) {
        out["error"] = fmt::format("{}: {}", grpc_result_name(answer.result), answer.detail);
      } else {
        out["connect_ms"] = answer.connect_ms;
        out["health"] = std::string(grpc_result_name(answer.result));
      }
    }
  } else if (target.scheme == "etcd") {
    auto client = etcd_client();
    if (!client) {
      out["error"] = client.error();
    } else {
      EtcdConnection connection;
      connection.endpoints = {target.address};
      connection.dial_timeout = timeout;
      auto session =
          (*client)->connect(connection, ctx.deadline);  // the channel stays in the module's pool
      if (!session)
        out["error"] = session.error().to_string();
      else
        out["connect_ms"] = ms_since(started);
    }
  } else {
    out.update(tcp_connect(target.address, ctx.deadline));
  }
  out["total_ms"] = ms_since(started);
  out["ok"] = !out.contains("error");
  return out;
}

class PrewarmOperation : public Operation {
 public:
  explicit PrewarmOperation(Spec spec) : m_spec(std::move(spec)) { curl_api(); }

  Outcome run(const AttemptContext& ctx) override {
    auto endpoints = m_spec.strings(k_endpoints);
    auto timeout = m_spec.duration(k_connect_timeout).value();
    std::vector<nlohmann::json> results(endpoints.size());
    std::atomic<std::size_t> next{0};
    auto worker = [&] {
      for (std::size_t i = next++; i < endpoints.size(); i = next++)
        results[i] = warm(endpoints[i], ctx, timeout);
    };
    std::size_t workers = std::min<std::size_t>(
        static_cast<std::size_t>(m_spec.integer(k_parallel)), endpoints.size());
    std::vector<std::thread> pool;
    for (std::size_t w = 1; w < workers; ++w) pool.emplace_back(worker);
    if (workers > 0) worker();
    for (auto& thread : pool) thread.join();

    Outcome outcome;
    outcome.changed = Changed::no;
    std::vector<std::string> failures;
    double slowest = 0;
    for (const auto& r : results) {
      if (!r["ok"].get<bool>())
        failures.push_back(
            fmt::format("{}: {}", r["endpoint"].get<std::string>(), r["error"].get<std::string>()));
      else if (r.contains("connect_ms"))
        slowest = std::max(slowest, r["connect_ms"].get<double>());
    }
    outcome.evidence["endpoints"] = results;
    outcome.outputs["slowest_connect_ms"] = fmt::format("{:.1f}", slowest);
    std::string summary =
        fmt::format("prewarm: {} of {} endpoints connected, slowest connect {:.1f} ms",
                    endpoints.size() - failures.size(), endpoints.size(), slowest);
    if (!failures.empty() && m_spec.boolean(k_required)) {
      outcome.status = Status::unreachable;
      outcome.evidence["error"] = "unreachable";
      outcome.message = redact(summary + ": " + join(failures, "; "));
      return outcome;
    }
    if (!failures.empty()) outcome.warnings.push_back(redact(join(failures, "; ")));
    outcome.status = Status::ok;
    outcome.message = summary;
    return outcome;
  }

 private:
  Spec m_spec;
};

class PrewarmKind : public Kind {
 public:
  std::string_view name() const override { return "prewarm"; }
  std::string_view summary() const override {
    return "Connect to the backup's endpoints before the switch and report each connect time; "
           "later steps reuse the connections.";
  }
  bool allowed_as(Role role) const override { return role == Role::step; }
  const Fields& fields() const override {
    static const Fields fields = {k_endpoints, k_connect_timeout, k_parallel, k_required};
    return fields;
  }
  std::vector<std::string> outputs() const override { return {"slowest_connect_ms"}; }
  std::vector<SpecProblem> check_spec(const Spec& spec) const override {
    std::vector<SpecProblem> problems;
    auto endpoints = spec.strings(k_endpoints);
    for (std::size_t i = 0; i < endpoints.size(); ++i) {
      auto scheme = parse_target(endpoints[i]).scheme;
      if (scheme != "http" && scheme != "https" && scheme != "grpc" && scheme != "grpcs" &&
          scheme != "etcd" && scheme != "tcp") {
        problems.push_back(
            {fmt::format("{}[{}]", k_endpoints.name, i),
             fmt::format("unknown scheme '{}' (http, https, grpc, grpcs, etcd, tcp)", scheme)});
      }
    }
    return problems;
  }
  std::string target(const Spec& spec) const override {
    return fmt::format("{} endpoints", spec.strings(k_endpoints).size());
  }
  std::string describe(const Spec& spec) const override {
    return "connect to " + join(spec.strings(k_endpoints), ", ");
  }
  bool mutates(const Spec&) const override { return false; }
  std::unique_ptr<Operation> prepare(const Spec& spec) const override {
    return std::make_unique<PrewarmOperation>(spec);
  }
};

}  // namespace

std::unique_ptr<Kind> make_prewarm_kind() {
  return std::make_unique<PrewarmKind>();
}

}  // namespace drctl
