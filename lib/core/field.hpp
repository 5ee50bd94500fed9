#pragma once
// The description of one key in a playbook mapping. Kinds describe their specs as a list of
// Fields; the strict validator, the typed Spec accessors and the JSON Schema are all driven by
// that one list, so they cannot drift apart.
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

namespace drctl {

enum class FieldType {
  string,        // a scalar; numbers are accepted and kept as text
  integer,       // a plain integer
  boolean,       // true or false
  duration,      // "250ms", "5s", "1m30s"; stored as integer milliseconds
  string_list,   // a list of scalars
  string_map,    // a mapping of scalar to scalar
  integer_list,  // one integer or a list of them
  object,        // a nested mapping described by `fields`
  object_list,   // a list of such mappings
};

std::string_view field_type_name(FieldType type);

struct Field {
  std::string name;
  FieldType type = FieldType::string;
  std::string doc;
  bool required = false;
  std::vector<std::string> choices;  // allowed values of a string field
  std::optional<long long> min;      // bounds of an integer field
  std::optional<long long> max;
  std::vector<Field> fields;     // members of an object field
  nlohmann::json default_value;  // filled in when the key is absent (null: no default)

  // Builders, so kind tables read as one line per key.
  static Field string(std::string name, std::string doc);
  static Field integer(std::string name, std::string doc);
  static Field boolean(std::string name, std::string doc);
  static Field duration(std::string name, std::string doc);
  static Field string_list(std::string name, std::string doc);
  static Field string_map(std::string name, std::string doc);
  static Field integer_list(std::string name, std::string doc);
  static Field object(std::string name, std::string doc, std::vector<Field> members);
  static Field object_list(std::string name, std::string doc, std::vector<Field> members);

  Field&& mandatory() &&;
  Field&& one_of(std::vector<std::string> values) &&;
  Field&& range(std::optional<long long> lowest, std::optional<long long> highest) &&;
  Field&& defaults_to(nlohmann::json value) &&;
};

using Fields = std::vector<Field>;

// Key names that must never hold a secret inline; a playbook that uses them is told to use
// the *_env / *_file form instead.
bool is_inline_secret_key(const std::string& key);

}  // namespace drctl
