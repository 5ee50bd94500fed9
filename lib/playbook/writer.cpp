#include "playbook/writer.hpp"

#include <fmt/format.h>

namespace drctl {
namespace {

// Spec values are stored typed (durations as milliseconds); the document wants them as written.
nlohmann::json spec_to_document(const nlohmann::json& values, const Fields& fields) {
  nlohmann::json out = nlohmann::json::object();
  for (const auto& field : fields) {
    if (!values.contains(field.name)) continue;
    const auto& value = values.at(field.name);
    if (field.type == FieldType::duration && value.is_number_integer()) {
      out[field.name] = format_duration(Millis(value.get<long long>()));
    } else if (field.type == FieldType::object) {
      out[field.name] = spec_to_document(value, field.fields);
    } else if (field.type == FieldType::object_list) {
      nlohmann::json items = nlohmann::json::array();
      for (const auto& item : value) items.push_back(spec_to_document(item, field.fields));
      out[field.name] = items;
    } else {
      out[field.name] = value;
    }
  }
  return out;
}

nlohmann::json timing_to_document(const Timing& timing) {
  return {{"timeout", format_duration(timing.timeout)},
          {"retries", timing.retries},
          {"retry_delay", format_duration(timing.retry_delay)}};
}

nlohmann::json action_into(nlohmann::json out, const Action& action, const KindRegistry& kinds) {
  out[action.kind] = spec_to_document(action.spec.json(), kinds.find(action.kind)->fields());
  return out;
}

nlohmann::json entry_to_document(const Entry& entry, const KindRegistry& kinds) {
  nlohmann::json out = timing_to_document(entry.timing);
  out["name"] = entry.name;
  out = action_into(out, entry.action, kinds);
  if (entry.budget) out["budget"] = format_duration(*entry.budget);
  if (entry.read_only) out["read_only"] = true;
  if (entry.run_on_resume) out["on_resume"] = "run";
  if (entry.interval) out["interval"] = format_duration(*entry.interval);
  if (entry.min_interval) out["min_interval"] = format_duration(*entry.min_interval);
  if (entry.rollback)
    out["rollback"] =
        action_into(timing_to_document(entry.rollback->timing), entry.rollback->action, kinds);
  return out;
}

}  // namespace

nlohmann::json playbook_to_document(const Playbook& playbook, const KindRegistry& kinds) {
  nlohmann::json doc = {{"version", playbook.version}, {"name", playbook.name}};
  if (!playbook.description.empty()) doc["description"] = playbook.description;
  if (!playbook.vars.empty()) doc["vars"] = playbook.vars;
  doc["defaults"] = timing_to_document(playbook.defaults);
  doc["sla"] = {{"on_breach", playbook.sla.on_breach == OnBreach::fail ? "fail" : "warn"}};
  if (playbook.sla.total) doc["sla"]["total"] = format_duration(*playbook.sla.total);
  if (playbook.sla.exclude_approvals) doc["sla"]["exclude_approvals"] = true;
  if (const auto& lock = playbook.lock) {
    doc["lock"] = {{"etcd", lock->etcd}, {"key", lock->key}, {"ttl", format_duration(lock->ttl)}};
    if (lock->journal_retention.age)
      doc["lock"]["journal_retention"] = format_duration(*lock->journal_retention.age);
    else if (lock->journal_retention.runs)
      doc["lock"]["journal_retention"] = *lock->journal_retention.runs;
    if (doc["lock"]["etcd"].contains("dial_timeout"))
      doc["lock"]["etcd"]["dial_timeout"] =
          format_duration(Millis(doc["lock"]["etcd"]["dial_timeout"].get<long long>()));
  }
  if (const auto& probe = playbook.sla.probe) {
    nlohmann::json p = {{"url", probe->url},
                        {"interval", format_duration(probe->interval)},
                        {"timeout", format_duration(probe->timeout)}};
    if (!probe->expect_status.empty()) p["expect_status"] = probe->expect_status;
    if (probe->p99) p["p99"] = format_duration(*probe->p99);
    if (probe->max_error_rate) p["max_error_rate"] = fmt::format("{}", *probe->max_error_rate);
    doc["sla"]["probe"] = p;
  }
  if (const auto& probe = playbook.sla.write_probe) {
    nlohmann::json p = {{"url", probe->url},
                        {"method", probe->method},
                        {"interval", format_duration(probe->interval)},
                        {"timeout", format_duration(probe->timeout)},
                        {"body", probe->body},
                        {"content_type", probe->content_type},
                        {"verify_timeout", format_duration(probe->verify_timeout)},
                        {"max_lost", probe->max_lost}};
    if (!probe->ack_status.empty()) p["ack_status"] = probe->ack_status;
    if (!probe->unknown_status.empty()) p["unknown_status"] = probe->unknown_status;
    if (!probe->verify_url.empty()) p["verify_url"] = probe->verify_url;
    if (!probe->verify_sql.is_null()) p["verify_sql"] = probe->verify_sql;
    if (probe->max_write_gap) p["max_write_gap"] = format_duration(*probe->max_write_gap);
    doc["sla"]["write_probe"] = p;
  }
  if (!playbook.checks.empty()) {
    doc["checks"] = nlohmann::json::array();
    for (const auto& e : playbook.checks) doc["checks"].push_back(entry_to_document(e, kinds));
  }
  if (!playbook.steps.empty()) {
    doc["steps"] = nlohmann::json::array();
    for (const auto& e : playbook.steps) doc["steps"].push_back(entry_to_document(e, kinds));
  }
  return doc;
}

}  // namespace drctl
