#include "kinds/etcd_watch_latency.hpp"

#include <fmt/format.h>

#include "clients/etcd_connection.hpp"
#include "etcd/watch_latency.hpp"
#include "kinds/failure.hpp"
#include "util/secrets.hpp"
#include "util/strings.hpp"

namespace drctl {
namespace {

const Field k_put = etcd_connection_field("put", "Where the canary puts go (the primary site).");
const Field k_watch = etcd_connection_field("watch", "Where they are watched (the backup site).");
const Field k_prefix =
    Field::string(
        "prefix",
        "Prefix for the canary key (<prefix>__drctl_canary/<run id>, deleted afterwards).")
        .mandatory();
const Field k_count = Field::integer("count", "Canary puts.").range(1, 100'000).defaults_to(100);
const Field k_rate =
    Field::integer("rate", "Puts per second (0: back to back).").range(0, 100'000).defaults_to(50);
const Field k_max_p99 = Field::duration("max_p99", "Largest acceptable P99 of put->event latency.")
                            .defaults_to("832ms");
const Field k_event_timeout =
    Field::duration("event_timeout", "How long to wait for the last events after the last put.")
        .defaults_to("5s");

class WatchLatencyOperation : public Operation {
 public:
  explicit WatchLatencyOperation(Spec spec) : m_spec(std::move(spec)) { etcd_client(); }

  Outcome run(const AttemptContext& ctx) override {
    auto put_side = open_etcd(m_spec.object(k_put), ctx.deadline, "put");
    if (!put_side) return put_side.error();
    auto watch_side = open_etcd(m_spec.object(k_watch), ctx.deadline, "watch");
    if (!watch_side) return watch_side.error();
    WatchLatencyOptions options;
    options.key =
        m_spec.str(k_prefix) + "__drctl_canary/" + (ctx.run_id.empty() ? "probe" : ctx.run_id);
    options.count = static_cast<int>(m_spec.integer(k_count));
    options.rate = static_cast<double>(m_spec.integer(k_rate));
    options.event_timeout = m_spec.duration(k_event_timeout).value();
    auto result = measure_watch_latency(**put_side, **watch_side, options, ctx.deadline);
    if (!result) return etcd_failure(result.error(), "etcd watch latency", Changed::unknown);
    return judge(*result, m_spec.duration(k_max_p99).value());
  }

  static Outcome judge(const WatchLatencyResult& result, Millis max_p99) {
    Outcome outcome;
    outcome.changed = Changed::yes;  // canary writes (deleted again)
    outcome.evidence = {{"propagation", result.propagation.to_json()},
                        {"put", result.put.to_json()},
                        {"lost", result.lost},
                        {"put_endpoint", result.put_endpoint},
                        {"watch_endpoint", result.watch_endpoint},
                        {"watch_reconnects", result.watch_reconnects},
                        {"max_p99_ms", max_p99.count()}};
    outcome.outputs["p99_ms"] = fmt::format("{:.1f}", result.propagation.p99);
    outcome.outputs["p50_ms"] = fmt::format("{:.1f}", result.propagation.p50);
    std::string summary = fmt::format(
        "etcd watch propagation over {} puts: P50 {:.1f} ms, P90 {:.1f} ms, P99 {:.1f} ms, max "
        "{:.1f} ms "
        "(put round trip P99 {:.1f} ms); max P99 {} ms",
        result.put.samples, result.propagation.p50, result.propagation.p90, result.propagation.p99,
        result.propagation.max, result.put.p99, max_p99.count());
    if (result.lost > 0) {
      outcome.status = Status::failed;
      outcome.evidence["error"] = "lost";
      outcome.message = fmt::format("etcd watch: {} of {} canary events never arrived; {}",
                                    result.lost, result.put.samples, summary);
    } else if (result.propagation.p99 > static_cast<double>(max_p99.count())) {
      outcome.status = Status::failed;
      outcome.evidence["error"] = "slow";
      outcome.message = summary;
    } else {
      outcome.status = Status::ok;
      outcome.message = summary;
    }
    return outcome;
  }

 private:
  Spec m_spec;
};

class WatchLatencyKind : public Kind {
 public:
  std::string_view name() const override { return "etcd_watch_latency"; }
  std::string_view summary() const override {
    return "Canary puts through one side, watched through the other: put->event P50/P90/P99/max "
           "against max_p99.";
  }
  bool allowed_as(Role) const override { return true; }
  const Fields& fields() const override {
    static const Fields fields = {k_put,  k_watch,   k_prefix,       k_count,
                                  k_rate, k_max_p99, k_event_timeout};
    return fields;
  }
  std::vector<std::string> outputs() const override { return {"p50_ms", "p99_ms"}; }
  std::vector<SpecProblem> check_spec(const Spec& spec) const override {
    auto problems = check_etcd_connection(spec.object(k_put), k_put.name);
    auto watch = check_etcd_connection(spec.object(k_watch), k_watch.name);
    problems.insert(problems.end(), watch.begin(), watch.end());
    return problems;
  }
  std::string target(const Spec& spec) const override {
    return fmt::format("etcd {} -> {}", join(spec.object(k_put).strings(k_etcd_endpoints), ","),
                       join(spec.object(k_watch).strings(k_etcd_endpoints), ","));
  }
  std::string describe(const Spec& spec) const override {
    return fmt::format("{} canary puts under {} through {}, watched through {}",
                       spec.integer(k_count), spec.str(k_prefix),
                       join(spec.object(k_put).strings(k_etcd_endpoints), ","),
                       join(spec.object(k_watch).strings(k_etcd_endpoints), ","));
  }
  bool mutates(const Spec&) const override { return false; }  // its canary key is deleted again
  // ...but it is written first, on every run.
  bool writes(const Spec&) const override { return true; }
  std::unique_ptr<Operation> prepare(const Spec& spec) const override {
    return std::make_unique<WatchLatencyOperation>(spec);
  }
};

}  // namespace

std::unique_ptr<Kind> make_etcd_watch_latency_kind() {
  return std::make_unique<WatchLatencyKind>();
}

}  // namespace drctl
