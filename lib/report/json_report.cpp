#include "report/json_report.hpp"

#include "engine/record_json.hpp"
#include "util/json_dump.hpp"

namespace drctl {

void JsonReporter::run_finished(const RunReport& report) {
  std::string text = dump_json(report_to_json(report), 2);
  std::fprintf(m_out, "%s\n", text.c_str());
  std::fflush(m_out);
}

namespace {

using nlohmann::json;

json type(const char* name) {
  return {{"type", name}};
}
json nullable(const char* name) {
  return {{"type", {name, "null"}}};
}
json one_of_names(std::vector<std::string> names) {
  return {{"type", "string"}, {"enum", names}};
}
json string_list() {
  return {{"type", "array"}, {"items", type("string")}};
}
// An object with exactly these properties (all required).
json strict_object(const json& properties) {
  json required = json::array();
  for (const auto& [name, _] : properties.items()) required.push_back(name);
  return {{"type", "object"},
          {"properties", properties},
          {"required", required},
          {"additionalProperties", false}};
}

std::vector<std::string> status_names() {
  std::vector<std::string> out;
  for (Status s : {Status::ok, Status::failed, Status::timeout, Status::unreachable,
                   Status::invalid_answer, Status::skipped, Status::unknown})
    out.emplace_back(status_name(s));
  return out;
}

json entry_schema(bool step) {
  json timestamp = {{"$ref", "#/definitions/timestamp"}};
  json properties = {
      {"name", type("string")},
      {"phase", one_of_names({"check", "step", "rollback"})},
      {"kind", type("string")},
      {"target", type("string")},
      {"action", type("string")},
      {"status", one_of_names(status_names())},
      {"message", type("string")},
      {"started_at", timestamp},
      {"finished_at", timestamp},
      {"duration_ms", type("number")},
      {"attempts", type("integer")},
      {"timeout_ms", type("integer")},
      {"evidence", type("object")},
      {"outputs",
       {{"type", "object"}, {"additionalProperties", {{"type", {"string", "number", "boolean"}}}}}},
      {"warnings", string_list()},
      {"changed", one_of_names({"yes", "no", "unknown"})},
  };
  if (step) {
    properties["budget_ms"] = nullable("integer");
    properties["budget_pct"] = nullable("number");
    properties["budget_exceeded"] = type("boolean");
    properties["journal_wait_ms"] = type("number");
  }
  return strict_object(properties);
}

json totals_schema() {
  json properties = {{"total", type("integer")}};
  for (const auto& name : status_names()) properties[name] = type("integer");
  return strict_object(properties);
}

json counts_by_name() {
  return {{"type", "object"}, {"additionalProperties", type("integer")}};
}

// probe_series: buckets over time, each [offset_ms, a count per column..., max_latency_ms].
json series_schema() {
  json series = strict_object(
      {{"origin", {{"$ref", "#/definitions/timestamp"}}},
       {"bucket_ms", type("integer")},
       {"columns", string_list()},
       {"points", {{"type", "array"}, {"items", {{"type", "array"}, {"items", type("number")}}}}}});
  return {{"oneOf", {type("null"), series}}};
}

json write_probe_schema() {
  json verification = strict_object({{"method", one_of_names({"url", "sql"})},
                                     {"verified", type("boolean")},
                                     {"why_not", nullable("string")},
                                     {"checked", type("integer")},
                                     {"unverified", type("integer")},
                                     {"duration_ms", type("number")}});
  return strict_object(
      {{"url", type("string")},
       {"interval_ms", type("integer")},
       {"timeout_ms", type("integer")},
       {"attempts", type("integer")},
       {"acknowledged", type("integer")},
       {"failed", type("integer")},
       {"unknown", type("integer")},
       {"missed_slots", type("integer")},
       {"failures_by_entry", counts_by_name()},
       {"errors_by_class", counts_by_name()},
       {"error_samples", {{"type", "object"}, {"additionalProperties", type("string")}}},
       {"longest_write_gap_ms", type("number")},
       {"longest_write_gap_during", nullable("string")},
       {"longest_write_gap_started_at",
        {{"oneOf", {type("null"), {{"$ref", "#/definitions/timestamp"}}}}}},
       {"longest_write_gap_recovered", type("boolean")},
       {"verification", verification},
       {"lost", nullable("integer")},
       {"lost_keys", string_list()},
       {"duplicates", type("integer")},
       {"duplicate_keys", string_list()},
       {"unknown_landed", type("integer")},
       {"max_lost", type("integer")},
       {"max_write_gap_ms", nullable("integer")},
       {"lost_exceeded", type("boolean")},
       {"write_gap_exceeded", type("boolean")},
       {"verdict", one_of_names({"met", "breached", "not_verified"})},
       {"series", series_schema()}});
}

json probe_schema() {
  json latency = strict_object({{"samples", type("integer")},
                                {"p50_ms", type("number")},
                                {"p90_ms", type("number")},
                                {"p99_ms", type("number")},
                                {"max_ms", type("number")},
                                {"mean_ms", type("number")}});
  return strict_object({{"url", type("string")},
                        {"requests", type("integer")},
                        {"errors", type("integer")},
                        {"abandoned_at_stop", type("integer")},
                        {"error_rate", type("number")},
                        {"latency", latency},
                        {"longest_error_streak", type("integer")},
                        {"longest_error_streak_ms", type("number")},
                        {"longest_error_streak_during", nullable("string")},
                        {"errors_by_entry", counts_by_name()},
                        {"interval_ms", type("integer")},
                        {"p99_budget_ms", nullable("integer")},
                        {"max_error_rate", nullable("number")},
                        {"p99_exceeded", type("boolean")},
                        {"error_rate_exceeded", type("boolean")},
                        {"verdict", one_of_names({"met", "breached"})},
                        {"series", series_schema()}});
}

}  // namespace

json report_json_schema() {
  std::vector<std::string> results;
  for (RunResult r :
       {RunResult::success, RunResult::checks_failed, RunResult::rolled_back, RunResult::partial,
        RunResult::sla_breached, RunResult::interrupted, RunResult::lock_held, RunResult::lock_lost,
        RunResult::journal_failed, RunResult::not_verified, RunResult::declined,
        RunResult::would_refuse, RunResult::unfinished})
    results.emplace_back(run_result_name(r));
  std::vector<std::string> modes;
  for (Mode m : {Mode::run, Mode::dry_run, Mode::check, Mode::rollback})
    modes.emplace_back(mode_name(m));
  json probe = probe_schema();
  json sla = strict_object(
      {{"total_budget_ms", nullable("integer")},
       {"steps_elapsed_ms", type("number")},
       {"total_pct", nullable("number")},
       {"total_exceeded", type("boolean")},
       {"over_budget_steps", string_list()},
       {"approval_wait_ms", type("number")},
       {"exclude_approvals", type("boolean")},
       {"on_breach", one_of_names({"fail", "warn"})},
       {"probe", {{"oneOf", {type("null"), probe}}}},
       {"write_probe", {{"oneOf", {type("null"), write_probe_schema()}}}},
       {"verdict", one_of_names({"met", "breached", "not_verified", "not_evaluated"})}});
  json lock = {{"type", "object"},
               {"additionalProperties", false},
               {"properties",
                {{"key", type("string")},
                 {"fencing_token", type("integer")},
                 {"lease", type("string")},
                 {"ttl_ms", type("integer")},
                 {"lost", type("boolean")},
                 {"took_over", type("string")}}},
               {"required", {"key", "fencing_token", "lease", "ttl_ms", "lost"}}};
  auto entries = [](const char* definition) {
    return json{{"type", "array"},
                {"items", {{"$ref", std::string("#/definitions/") + definition}}}};
  };
  json schema = strict_object(
      {{"schema", {{"const", k_report_schema}}},
       {"run_id", type("string")},
       {"mode", one_of_names(modes)},
       {"operator", strict_object({{"user", type("string")}, {"host", type("string")}})},
       {"playbook",
        strict_object(
            {{"name", type("string")}, {"path", type("string")}, {"hash", type("string")}})},
       {"started_at", {{"$ref", "#/definitions/timestamp"}}},
       {"finished_at", {{"$ref", "#/definitions/timestamp"}}},
       {"duration_ms", type("number")},
       {"result", one_of_names(results)},
       {"exit_code", nullable("integer")},
       {"summary", type("string")},
       {"lock", {{"oneOf", {type("null"), lock}}}},
       {"resumed_from", nullable("string")},
       {"rolls_back", nullable("string")},
       {"confirmation",
        {{"oneOf",
          {type("null"), strict_object({{"asked_at", {{"$ref", "#/definitions/timestamp"}}},
                                        {"answered_at", {{"$ref", "#/definitions/timestamp"}}},
                                        {"waited_ms", type("number")},
                                        {"answer", one_of_names({"yes", "no"})}})}}}},
       {"sla", sla},
       {"checks", entries("entry")},
       {"steps", entries("step")},
       {"rollbacks", entries("entry")},
       {"totals", strict_object({{"checks", totals_schema()},
                                 {"steps", totals_schema()},
                                 {"rollbacks", totals_schema()}})}});
  json out = {
      {"$schema", "http://json-schema.org/draft-07/schema#"},
      {"$id", "https://drctl.dev/schema/report-v1.schema.json"},
      {"title", "drctl run report (drctl.report/v1)"},
      {"description",
       "What drctl run, check, rollback and show print with --output json (docs/report.md)"}};
  out.update(schema);
  out["definitions"] = {
      {"timestamp",
       {{"type", "string"},
        {"pattern", "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{3}Z$"}}},
      {"entry", entry_schema(false)},
      {"step", entry_schema(true)}};
  return out;
}

}  // namespace drctl
