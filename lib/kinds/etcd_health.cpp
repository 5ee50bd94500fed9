// etcd health judged the way an operator would, member by member: never by gRPC health, which
// etcd 3.4 answers SERVING without quorum.
#include "kinds/etcd_health.hpp"

#include <fmt/format.h>

#include <future>

#include "clients/etcd_connection.hpp"
#include "kinds/failure.hpp"
#include "util/secrets.hpp"
#include "util/strings.hpp"

namespace drctl {
namespace {

const Field k_etcd = etcd_connection_field("etcd", "The endpoints to judge, each on its own.");
const Field k_cluster_id =
    Field::string("cluster_id", "Expected cluster id (hex, as etcdctl prints it).");
const Field k_max_raft_lag =
    Field::integer("max_raft_lag", "Raft entries an endpoint may be behind the leader.")
        .range(0, std::nullopt)
        .defaults_to(50);
const Field k_min_healthy =
    Field::integer("min_healthy", "Endpoints that must be healthy (default: all).")
        .range(1, std::nullopt);
const Field k_max_db_size_mb =
    Field::integer("max_db_size_mb", "Largest acceptable backend size, in MiB.")
        .range(1, std::nullopt);
const Field k_read_key =
    Field::string("read_key", "Key of the linearizable read.").defaults_to("health");
const Field k_read_timeout =
    Field::duration("read_timeout",
                    "Limit of the linearizable read (a member without quorum blocks).")
        .defaults_to("2s");

using Clock = std::chrono::steady_clock;

std::string hex(std::uint64_t id) {
  return fmt::format("{:x}", id);
}

// What one endpoint said; `problem` is empty when it is healthy.
struct MemberReport {
  std::string endpoint;
  std::string problem;
  const char* error = "";
  bool reachable = false;
  EtcdStatus status;
  double read_ms = 0;
  std::vector<EtcdAlarm> alarms;
};

class EtcdHealthOperation : public Operation {
 public:
  explicit EtcdHealthOperation(Spec spec) : m_spec(std::move(spec)) {
    etcd_client();
  }  // loaded before the clock starts

  Outcome run(const AttemptContext& ctx) override {
    auto base = etcd_connection_from(m_spec.object(k_etcd));
    if (!base) return failed(Status::failed, "config", base.error());
    std::vector<std::future<MemberReport>> pending;
    for (const auto& endpoint : base->endpoints) {
      EtcdConnection one = *base;
      one.endpoints = {endpoint};
      pending.push_back(
          std::async(std::launch::async, [this, one, &ctx] { return probe(one, ctx.deadline); }));
    }
    std::vector<MemberReport> reports;
    for (auto& report : pending) reports.push_back(report.get());

    // The leader's raft index is the reference for lag; when the leader is not among the
    // endpoints, the highest index seen stands in for it.
    std::uint64_t reference = 0;
    for (const auto& r : reports) {
      if (!r.reachable) continue;
      if (r.status.header.member_id == r.status.leader) reference = r.status.raft_index;
    }
    if (reference == 0) {
      for (const auto& r : reports)
        reference = std::max(reference, r.reachable ? r.status.raft_index : 0);
    }
    long long max_lag = m_spec.integer(k_max_raft_lag);
    std::string expected_cluster = to_lower(m_spec.str(k_cluster_id));
    long long max_db = m_spec.integer(k_max_db_size_mb);

    Outcome outcome;
    outcome.changed = Changed::no;
    nlohmann::json members = nlohmann::json::array();
    int healthy = 0, unreachable = 0;
    std::vector<std::string> problems;
    std::uint64_t leader = 0, cluster = 0;
    std::int64_t revision = 0;
    long long worst_lag = 0;  // of the endpoints that answered
    for (auto& r : reports) {
      nlohmann::json member = {{"endpoint", r.endpoint}};
      if (r.reachable) {
        const auto& s = r.status;
        auto lag = reference > s.raft_applied_index ? reference - s.raft_applied_index : 0;
        worst_lag = std::max<long long>(worst_lag, static_cast<long long>(lag));
        member.update({{"member_id", hex(s.header.member_id)},
                       {"cluster_id", hex(s.header.cluster_id)},
                       {"version", s.version},
                       {"leader", hex(s.leader)},
                       {"raft_term", s.raft_term},
                       {"raft_index", s.raft_index},
                       {"raft_applied_index", s.raft_applied_index},
                       {"raft_lag", lag},
                       {"db_size", s.db_size},
                       {"db_size_in_use", s.db_size_in_use},
                       {"is_learner", s.is_learner},
                       {"read_ms", r.read_ms}});
        nlohmann::json alarms = nlohmann::json::array();
        for (const auto& alarm : r.alarms)
          alarms.push_back({{"member_id", hex(alarm.member_id)}, {"type", alarm.type}});
        member["alarms"] = alarms;
        if (r.problem.empty() && !expected_cluster.empty() &&
            hex(s.header.cluster_id) != expected_cluster) {
          r.problem = fmt::format("cluster_id {} (expected {})", hex(s.header.cluster_id),
                                  expected_cluster);
          r.error = "wrong_cluster";
        }
        if (r.problem.empty() && static_cast<long long>(lag) > max_lag) {
          r.problem = fmt::format("raft applied index {} behind the leader's {} (max {})", lag,
                                  reference, max_lag);
          r.error = "raft_lag";
        }
        if (r.problem.empty() && max_db > 0 && s.db_size > max_db * 1024 * 1024) {
          r.problem = fmt::format("db size {} MB over {} MB", s.db_size / (1024 * 1024), max_db);
          r.error = "db_size";
        }
        leader = leader ? leader : s.leader;
        cluster = cluster ? cluster : s.header.cluster_id;
        revision = std::max(revision, s.header.revision);
      } else {
        ++unreachable;
      }
      member["healthy"] = r.problem.empty();
      if (!r.problem.empty()) {
        member["problem"] = redact(r.problem);
        member["error"] = r.error;
        problems.push_back(fmt::format("{}: {}", r.endpoint, r.problem));
      } else {
        ++healthy;
      }
      members.push_back(member);
    }
    outcome.evidence["members"] = members;
    outcome.evidence["healthy"] = healthy;
    outcome.evidence["endpoints"] = reports.size();
    outcome.evidence["raft_lag_max"] = worst_lag;
    if (leader) outcome.outputs["leader"] = hex(leader);
    if (cluster) outcome.outputs["cluster_id"] = hex(cluster);
    outcome.outputs["revision"] = std::to_string(revision);
    outcome.outputs["healthy"] = std::to_string(healthy);

    long long needed = m_spec.integer(k_min_healthy);
    if (needed <= 0) needed = static_cast<long long>(reports.size());
    if (healthy < needed) {
      outcome.status =
          unreachable == static_cast<int>(reports.size()) ? Status::unreachable : Status::failed;
      const char* first_error = "";
      for (const auto& r : reports) {
        if (!r.problem.empty()) {
          first_error = r.error;
          break;
        }
      }
      outcome.evidence["error"] = first_error;
      outcome.message = redact(fmt::format("etcd: {} of {} endpoints healthy (need {}): {}",
                                           healthy, reports.size(), needed, join(problems, "; ")));
      return outcome;
    }
    outcome.status = Status::ok;
    outcome.message = fmt::format("etcd: {} of {} endpoints healthy, leader {}, revision {}",
                                  healthy, reports.size(), hex(leader), revision);
    if (!problems.empty()) outcome.warnings.push_back(redact(join(problems, "; ")));
    return outcome;
  }

 private:
  MemberReport probe(const EtcdConnection& connection, Deadline deadline) const {
    MemberReport report;
    report.endpoint = connection.endpoints.front();
    auto client = etcd_client();
    if (!client) {
      report.problem = client.error();
      report.error = "module";
      return report;
    }
    auto session = (*client)->connect(connection, deadline);
    if (!session) return unhealthy(report, session.error());
    auto status = (*session)->status(deadline);
    if (!status) return unhealthy(report, status.error());
    report.reachable = true;
    report.status = *status;
    if (status->leader == 0) {
      report.problem = "no quorum: the member knows no leader";
      report.error = "no_quorum";
      return report;
    }
    if (!status->errors.empty()) {
      report.problem = "member errors: " + join(status->errors, "; ");
      report.error = "member_error";
      return report;
    }
    // A linearizable read needs the leader to confirm it still has a quorum.
    auto read_deadline = std::min(deadline, Clock::now() + m_spec.duration(k_read_timeout).value());
    EtcdRangeRequest request;
    request.key = m_spec.str(k_read_key);
    request.count_only = true;
    auto started = Clock::now();
    auto read = (*session)->range(request, read_deadline);
    report.read_ms = std::chrono::duration<double, std::milli>(Clock::now() - started).count();
    if (!read) {
      report.problem = fmt::format("no quorum: a linearizable read failed after {:.0f} ms ({})",
                                   report.read_ms, one_line(read.error().message));
      report.error = "no_quorum";
      return report;
    }
    auto alarms = (*session)->alarms(read_deadline);
    if (!alarms) return unhealthy(report, alarms.error());
    report.alarms = *alarms;
    if (!alarms->empty()) {
      std::vector<std::string> names;
      for (const auto& alarm : *alarms)
        names.push_back(fmt::format("{} on member {}", alarm.type, hex(alarm.member_id)));
      report.problem = "alarm: " + join(names, ", ");
      report.error = "alarm";
    }
    return report;
  }

  static MemberReport unhealthy(MemberReport report, const EtcdError& error) {
    report.problem =
        fmt::format("{}: {}", etcd_error_class_name(error.kind), one_line(error.message));
    report.error = error.kind == EtcdError::Class::unreachable ? "unreachable"
                   : error.kind == EtcdError::Class::auth      ? "auth"
                   : error.kind == EtcdError::Class::timeout   ? "timeout"
                                                               : "failed";
    return report;
  }

  Spec m_spec;
};

class EtcdHealthKind : public Kind {
 public:
  std::string_view name() const override { return "etcd_health"; }
  std::string_view summary() const override {
    return "Every etcd endpoint is reachable, in the expected cluster, knows a leader, keeps up "
           "with it, "
           "serves a linearizable read and has no alarm.";
  }
  bool allowed_as(Role role) const override { return role == Role::check; }
  const Fields& fields() const override {
    static const Fields fields = {k_etcd,           k_cluster_id, k_max_raft_lag, k_min_healthy,
                                  k_max_db_size_mb, k_read_key,   k_read_timeout};
    return fields;
  }
  std::vector<std::string> outputs() const override {
    return {"leader", "cluster_id", "revision", "healthy"};
  }
  std::vector<SpecProblem> check_spec(const Spec& spec) const override {
    return check_etcd_connection(spec.object(k_etcd), k_etcd.name);
  }
  std::string target(const Spec& spec) const override {
    return "etcd " + join(spec.object(k_etcd).strings(k_etcd_endpoints), ",");
  }
  std::string describe(const Spec& spec) const override {
    return fmt::format("ask each of {} for status, a linearizable read and alarms",
                       join(spec.object(k_etcd).strings(k_etcd_endpoints), ", "));
  }
  bool mutates(const Spec&) const override { return false; }
  std::unique_ptr<Operation> prepare(const Spec& spec) const override {
    return std::make_unique<EtcdHealthOperation>(spec);
  }
};

}  // namespace

std::unique_ptr<Kind> make_etcd_health_kind() {
  return std::make_unique<EtcdHealthKind>();
}

}  // namespace drctl
