#pragma once
// Checks a YAML mapping against a list of Fields and converts it to typed JSON, reporting
// every problem with its line:column (unknown keys with a suggestion, duplicates, wrong
// types, missing keys, bad durations, inline secrets).

#include <functional>
#include <nlohmann/json.hpp>
#include <set>
#include <string>

#include "core/diagnostic.hpp"
#include "core/field.hpp"
#include "playbook/yaml_tree.hpp"

namespace drctl {

inline SourcePos pos_of(const YamlNode& node) {
  return node.pos;
}
// Where `key` is written in a mapping (the key, not its value); {} when absent.
inline SourcePos key_pos(const YamlNode& map, const std::string& key) {
  return map.key_pos(key);
}
// "a map", "a list", "nothing", "an integer", "a string", "a boolean".
std::string describe_node(const YamlNode& node);
std::string join_path(const std::string& path, const std::string& key);

// What a scalar's text stands for in a field of a given type: the typed value, or why it
// does not fit (`wrong_type`: it is not that type at all). One rule for a literal in the
// playbook and for a ${steps.*} value known only when its entry runs.
struct Coerced {
  nlohmann::json value;
  std::string problem;  // "" when it fits
  bool wrong_type = false;
};
// Integers (and integer lists) in 64 bits and within the field's range; true/false (also
// True, TRUE, ...); durations with a unit; strings among the field's choices.
Coerced coerce_scalar(const Field& field, const std::string& text);

class FieldValidator {
 public:
  // Called for every string value: checks its ${...} references and returns the string
  // with load-time references (vars, env) resolved.
  using StringHook =
      std::function<std::string(const std::string& value, SourcePos pos, const std::string& path)>;

  FieldValidator(Diagnostics& diagnostics, StringHook hook)
      : m_diagnostics(diagnostics), m_hook(std::move(hook)) {}

  // Validates `node` (a map) against `fields`; keys in `handled_elsewhere` are skipped.
  // `owner_pos` locates "missing key" errors when the node itself has no position.
  nlohmann::json validate_map(const YamlNode& node, const Fields& fields, const std::string& path,
                              SourcePos owner_pos,
                              const std::set<std::string>& handled_elsewhere = {});

  // Validates one value; returns null (and reports) when it does not fit.
  nlohmann::json validate_value(const YamlNode& node, const Field& field, const std::string& path,
                                SourcePos key_pos);

  // Reports keys that appear twice in one mapping.
  void report_duplicate_keys(const YamlNode& node, const std::string& path);

  Diagnostics& diagnostics() { return m_diagnostics; }

 private:
  nlohmann::json scalar_string(const YamlNode& node, const std::string& path, SourcePos pos);
  bool takes_references_first(const Field& field, const YamlNode& node) const;
  nlohmann::json resolve_then_validate(const YamlNode& node, const Field& field,
                                       const std::string& path, SourcePos key_pos, SourcePos pos);
  nlohmann::json validate_scalar(const YamlNode& node, const Field& field, const std::string& path,
                                 SourcePos pos);
  nlohmann::json validate_string_map(const YamlNode& node, const std::string& path);

  Diagnostics& m_diagnostics;
  StringHook m_hook;
  bool m_substituting = false;  // validating a typed value that a reference was just resolved into
};

// After ${steps.*} / ${run.*} are filled in, turns typed fields that held a reference into
// their type (an integer, a duration in ms, a boolean). Returns one message per value that
// does not fit; the entry must then fail rather than run with a guess.
std::vector<std::string> coerce_late_values(nlohmann::json& values, const Fields& fields,
                                            const std::string& path = "");

}  // namespace drctl
