#include "report/readiness_exposition.hpp"

#include <fmt/format.h>

#include <map>

#include "engine/record_json.hpp"
#include "util/clock.hpp"
#include "util/duration.hpp"
#include "util/json_dump.hpp"
#include "util/secrets.hpp"
#include "util/strings.hpp"

namespace drctl {
namespace {

double seconds(std::chrono::nanoseconds d) {
  return std::chrono::duration<double>(d).count();
}

double unix_seconds(WallTime t) {
  return std::chrono::duration<double>(t.time_since_epoch()).count();
}

nlohmann::json time_or_null(const std::optional<WallTime>& t) {
  return t ? nlohmann::json(rfc3339_utc(*t)) : nlohmann::json(nullptr);
}

nlohmann::json check_summary(const CheckView& check) {
  nlohmann::json out = {{"name", check.name},
                        {"kind", check.kind},
                        {"state", check.state},
                        {"ready", check.ready},
                        {"status", nullptr},
                        {"message", nullptr},
                        {"age_seconds", nullptr},
                        {"finished_at", nullptr},
                        {"duration_seconds", nullptr},
                        {"values", nlohmann::json::object()},
                        {"last_transition", time_or_null(check.last_transition)},
                        {"last_success", time_or_null(check.last_success)},
                        {"running", check.running},
                        {"evaluations", check.evaluations},
                        {"interval_seconds", check.interval.count() / 1000.0},
                        {"max_age_seconds", check.max_age.count() / 1000.0},
                        {"writes", check.writes}};
  if (check.last) {
    out["status"] = std::string(status_name(check.last->status));
    out["message"] = check.last->message;
    out["age_seconds"] = seconds(check.age);
    out["finished_at"] = rfc3339_utc(check.last->finished.wall);
    out["duration_seconds"] = seconds(check.last->duration);
    out["values"] = measured_values(check.last->evidence);
  }
  return out;
}

// One metric family: its HELP and TYPE, then its samples (none: the family is left out).
class Exposition {
 public:
  void family(const char* name, const char* type, const char* help) {
    m_name = name;
    m_type = type;
    m_help = help;
    m_started = false;
  }
  void sample(const std::string& labels, double value) {
    if (!m_started) {
      m_out += fmt::format("# HELP {} {}\n# TYPE {} {}\n", m_name, m_help, m_name, m_type);
      m_started = true;
    }
    m_out += labels.empty() ? fmt::format("{} {}\n", m_name, value)
                            : fmt::format("{}{{{}}} {}\n", m_name, labels, value);
  }
  const std::string& text() const { return m_out; }

 private:
  std::string m_out;
  std::string m_name, m_type, m_help;
  bool m_started = false;
};

std::string check_labels(const CheckView& check) {
  return fmt::format("check=\"{}\",kind=\"{}\"", prometheus_label(check.name),
                     prometheus_label(check.kind));
}

}  // namespace

std::string prometheus_label(std::string_view value) {
  std::string out;
  for (char c : redact(std::string(value))) {
    if (c == '\\')
      out += "\\\\";
    else if (c == '"')
      out += "\\\"";
    else if (c == '\n')
      out += "\\n";
    else
      out += c;
  }
  return out;
}

nlohmann::json measured_values(const nlohmann::json& evidence) {
  nlohmann::json values = nlohmann::json::object();
  if (!evidence.is_object()) return values;
  for (const auto& [key, value] : evidence.items()) {
    if (value.is_boolean())
      values[key] = value.get<bool>() ? 1 : 0;
    else if (value.is_number())
      values[key] = value;
  }
  return values;
}

std::vector<std::string> not_ready_reasons(const ReadinessView& view) {
  std::vector<std::string> reasons;
  if (view.checks.empty()) reasons.push_back("the playbook has no checks");
  for (const auto& check : view.checks) {
    if (check.ready) continue;
    if (!check.last) {
      reasons.push_back(fmt::format("{}: pending: no result yet{}", check.name,
                                    check.running ? " (the first evaluation is running)" : ""));
    } else if (!check.fresh) {
      reasons.push_back(fmt::format(
          "{}: stale: its latest result ({}) is {} old, older than its max age {}{}", check.name,
          status_name(check.last->status),
          format_duration(std::chrono::duration_cast<Millis>(check.age)),
          format_duration(check.max_age), check.running ? "; an evaluation is still running" : ""));
    } else {
      reasons.push_back(fmt::format("{}: {}: {}", check.name, status_name(check.last->status),
                                    check.last->message));
    }
  }
  return reasons;
}

nlohmann::json readiness_json(const ReadinessView& view) {
  nlohmann::json checks = nlohmann::json::array();
  for (const auto& check : view.checks) checks.push_back(check_summary(check));
  nlohmann::json out = {{"ready", view.ready},
                        {"playbook", view.playbook_name},
                        {"at", rfc3339_utc(view.now)},
                        {"reasons", not_ready_reasons(view)},
                        {"checks", std::move(checks)},
                        {"config",
                         {{"loaded_at", rfc3339_utc(view.loaded_at)},
                          {"last_reload_successful", view.last_reload_ok},
                          {"reload_failures", view.reload_failures},
                          {"last_reload_error", view.last_reload_error}}}};
  return redact_json(out);
}

std::string readiness_text(const ReadinessView& view) {
  std::string out = view.ready ? "ready\n" : "not ready\n";
  for (const auto& reason : not_ready_reasons(view)) out += "  " + reason + "\n";
  for (const auto& check : view.checks) {
    out += fmt::format("{} {} {}", check.ready ? "ok  " : "FAIL", check.name, check.state);
    if (check.last)
      out +=
          fmt::format(" {} ago: {}", format_duration(std::chrono::duration_cast<Millis>(check.age)),
                      check.last->message);
    out += "\n";
  }
  return redact(valid_utf8(out));
}

nlohmann::json check_json(const CheckView& check) {
  nlohmann::json out = check_summary(check);
  out["result"] = check.last ? record_to_json(*check.last) : nlohmann::json(nullptr);
  return redact_json(out);
}

std::string readiness_metrics(const ReadinessView& view) {
  Exposition e;
  e.family("drctl_readiness", "gauge",
           "1 when every check's latest result passed and is fresher than its max age, else 0.");
  e.sample("", view.ready ? 1 : 0);
  e.family("drctl_check_up", "gauge",
           "1 when the check's latest result passed and is fresh; 0 when it failed, is stale or "
           "pending.");
  for (const auto& c : view.checks) e.sample(check_labels(c), c.ready ? 1 : 0);
  e.family("drctl_check_stale", "gauge",
           "1 when the check has no result younger than its max age (pending included).");
  for (const auto& c : view.checks) e.sample(check_labels(c), c.fresh ? 0 : 1);
  e.family("drctl_check_duration_seconds", "gauge", "How long the latest evaluation took.");
  for (const auto& c : view.checks)
    if (c.last) e.sample(check_labels(c), seconds(c.last->duration));
  e.family("drctl_check_age_seconds", "gauge", "Time since the latest evaluation ended.");
  for (const auto& c : view.checks)
    if (c.last) e.sample(check_labels(c), seconds(c.age));
  e.family("drctl_check_last_success_timestamp_seconds", "gauge",
           "When the latest passing evaluation ended (Unix time).");
  for (const auto& c : view.checks)
    if (c.last_success) e.sample(check_labels(c), unix_seconds(*c.last_success));
  e.family("drctl_check_evaluations_total", "counter",
           "Evaluations finished since the check was loaded (scrapes never cause one).");
  for (const auto& c : view.checks) e.sample(check_labels(c), static_cast<double>(c.evaluations));
  e.family("drctl_check_interval_seconds", "gauge",
           "Between two evaluations of the check: its interval (--interval or its own), at "
           "least its min_interval for a check that writes.");
  for (const auto& c : view.checks) e.sample(check_labels(c), c.interval.count() / 1000.0);
  e.family("drctl_check_max_age_seconds", "gauge",
           "A result older than this is stale (--max-age, else 3 x the check's interval, or its "
           "interval, jitter and longest evaluation when longer).");
  for (const auto& c : view.checks) e.sample(check_labels(c), c.max_age.count() / 1000.0);
  // Each kind's measured values: the obvious ones by name, and every numeric evidence field.
  const std::map<std::string, std::pair<const char*, const char*>> named = {
      {"lag_ms", {"drctl_check_replica_lag_seconds", "Replica lag the check measured."}},
      {"instances_passing",
       {"drctl_check_passing_instances", "Instances whose every health check passes (consul)."}},
      {"serving", {"drctl_check_serving_addresses", "Addresses answering SERVING (grpc_health)."}},
      {"raft_lag_max",
       {"drctl_check_etcd_raft_lag_entries",
        "Raft entries the furthest endpoint's applied index is behind the leader (etcd_health)."}},
  };
  for (const auto& [field, metric] : named) {
    e.family(metric.first, "gauge", metric.second);
    for (const auto& c : view.checks) {
      if (!c.last || !c.last->evidence.is_object()) continue;
      auto it = c.last->evidence.find(field);
      if (it == c.last->evidence.end() || !it->is_number()) continue;
      double value = it->get<double>();
      e.sample(check_labels(c), field == "lag_ms" ? value / 1000.0 : value);
    }
  }
  e.family("drctl_check_evidence_value", "gauge",
           "Every numeric field of the latest result's evidence (booleans as 1 and 0).");
  for (const auto& c : view.checks) {
    if (!c.last) continue;
    const nlohmann::json values = measured_values(c.last->evidence);
    for (const auto& [field, value] : values.items())
      e.sample(fmt::format("{},field=\"{}\"", check_labels(c), prometheus_label(field)),
               value.get<double>());
  }
  e.family("drctl_reload_failures_total", "counter",
           "SIGHUP reloads refused because the playbook no longer loads or validates.");
  e.sample("", static_cast<double>(view.reload_failures));
  e.family("drctl_config_last_reload_successful", "gauge",
           "1 when the latest reload was taken (or none was asked), 0 when it was refused.");
  e.sample("", view.last_reload_ok ? 1 : 0);
  e.family("drctl_config_last_reload_success_timestamp_seconds", "gauge",
           "When the playbook served was loaded (Unix time).");
  e.sample("", unix_seconds(view.loaded_at));
  // Label values are redacted one by one (prometheus_label): redacting the whole text could
  // turn a secret that is all digits into "***" inside a value and break the scrape.
  return valid_utf8(e.text());
}

}  // namespace drctl
