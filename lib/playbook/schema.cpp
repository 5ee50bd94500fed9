#include "playbook/schema.hpp"

#include "playbook/format.hpp"

namespace drctl {
namespace {

// Strings also accept numbers and booleans, as the validator does for plain YAML scalars.
const nlohmann::json k_scalar = {{"type", nlohmann::json::array({"string", "number", "boolean"})}};
const char* k_reference_pattern = "\\$\\{(vars|env|steps|run)\\.[A-Za-z0-9_.-]+\\}";
const char* k_duration_pattern = "^([0-9]+(\\.[0-9]+)?(h|m|s|ms|us))+$";

nlohmann::json field_schema(const Field& field);

nlohmann::json object_schema(const Fields& fields) {
  nlohmann::json properties = nlohmann::json::object();
  nlohmann::json required = nlohmann::json::array();
  for (const auto& f : fields) {
    properties[f.name] = field_schema(f);
    if (f.required) required.push_back(f.name);
  }
  nlohmann::json schema = {
      {"type", "object"}, {"properties", properties}, {"additionalProperties", false}};
  if (!required.empty()) schema["required"] = required;
  return schema;
}

nlohmann::json field_schema(const Field& field) {
  nlohmann::json schema;
  switch (field.type) {
    case FieldType::string:
      schema = field.choices.empty() ? k_scalar : nlohmann::json{{"enum", field.choices}};
      break;
    case FieldType::integer:
      schema = {{"type", "integer"}};
      if (field.min) schema["minimum"] = *field.min;
      if (field.max) schema["maximum"] = *field.max;
      break;
    case FieldType::boolean:
      schema = {{"type", "boolean"}};
      break;
    case FieldType::duration:
      schema = {{"type", "string"}, {"pattern", k_duration_pattern}};
      break;
    case FieldType::string_list:
      schema = {{"type", "array"}, {"items", k_scalar}};
      break;
    case FieldType::string_map:
      schema = {{"type", "object"}, {"additionalProperties", k_scalar}};
      break;
    case FieldType::integer_list:
      schema = {{"oneOf",
                 {{{"type", "integer"}}, {{"type", "array"}, {"items", {{"type", "integer"}}}}}}};
      break;
    case FieldType::object:
      schema = object_schema(field.fields);
      break;
    case FieldType::object_list:
      schema = {{"type", "array"}, {"items", object_schema(field.fields)}};
      break;
  }
  // Typed fields may also hold a ${...} reference: vars and env are resolved and checked at
  // load, steps and run just before the entry runs.
  if (field.type == FieldType::integer || field.type == FieldType::boolean ||
      field.type == FieldType::duration || field.type == FieldType::integer_list ||
      (field.type == FieldType::string && !field.choices.empty())) {
    schema = {{"anyOf", {schema, {{"type", "string"}, {"pattern", k_reference_pattern}}}}};
  }
  schema["description"] = field.doc;
  return schema;
}

// An entry (or rollback) mapping: its ordinary keys plus exactly one kind key.
nlohmann::json entry_schema(const Fields& fields, const KindRegistry& kinds, Role role,
                            bool with_rollback) {
  nlohmann::json schema = object_schema(fields);
  nlohmann::json one_kind = nlohmann::json::array();
  for (const auto& kind : kinds.all()) {
    if (!kind->allowed_as(role)) continue;
    std::string name(kind->name());
    schema["properties"][name] = {{"$ref", "#/definitions/kind_" + name}};
    one_kind.push_back({{"required", {name}}});
  }
  if (with_rollback) schema["properties"]["rollback"] = {{"$ref", "#/definitions/rollback"}};
  schema["oneOf"] = one_kind;
  return schema;
}

}  // namespace

nlohmann::json playbook_json_schema(const KindRegistry& kinds) {
  nlohmann::json schema = object_schema(top_level_fields());
  schema["$schema"] = "http://json-schema.org/draft-07/schema#";
  schema["$id"] = "https://drctl.dev/schema/playbook-v1.schema.json";
  schema["title"] = "drctl playbook, format version 1";
  schema["properties"]["checks"] = {{"type", "array"},
                                    {"items", {{"$ref", "#/definitions/check"}}}};
  schema["properties"]["steps"] = {{"type", "array"}, {"items", {{"$ref", "#/definitions/step"}}}};

  // lock.journal_retention is text to the validator (a count or an age, read by the loader):
  // here, exactly what the loader takes.
  nlohmann::json& retention = schema["properties"]["lock"]["properties"]["journal_retention"];
  const char* k_count_or_age = "^([0-9]{1,7}|[0-9]{1,6}d|([0-9]+(\\.[0-9]+)?(h|m|s|ms|us))+)$";
  retention = {{"description", retention["description"]},
               {"anyOf",
                {{{"type", "integer"}, {"minimum", 1}, {"maximum", 9'999'999}},
                 {{"type", "string"}, {"pattern", k_count_or_age}},
                 {{"type", "string"}, {"pattern", k_reference_pattern}}}}};

  nlohmann::json definitions = nlohmann::json::object();
  definitions["check"] = entry_schema(entry_fields(Role::check), kinds, Role::check, false);
  definitions["step"] = entry_schema(entry_fields(Role::step), kinds, Role::step, true);
  definitions["rollback"] = entry_schema(rollback_fields(), kinds, Role::step, false);
  for (const auto& kind : kinds.all()) {
    nlohmann::json kind_schema = object_schema(kind->fields());
    kind_schema["description"] = std::string(kind->summary());
    definitions["kind_" + std::string(kind->name())] = kind_schema;
  }
  schema["definitions"] = definitions;
  return schema;
}

}  // namespace drctl
