#include "playbook/field_validator.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <functional>
#include <map>
#include <regex>

#include "playbook/interpolate.hpp"
#include "util/duration.hpp"
#include "util/strings.hpp"

namespace drctl {
namespace {

bool is_plain(const YamlNode& node) {
  return node.plain;
}

bool looks_integer(const YamlNode& node) {
  static const std::regex k_integer(R"(^[-+]?[0-9]+$)");
  return node.is_scalar() && is_plain(node) &&
         std::regex_match(node.scalar.begin(), node.scalar.end(), k_integer);
}

// An integer that fits in 64 bits (a longer run of digits is not one drctl can use).
bool fits_integer(const YamlNode& node) {
  if (!looks_integer(node)) return false;
  const char* begin = node.scalar.data() + (node.scalar[0] == '+' ? 1 : 0);
  long long value = 0;
  auto [end, error] = std::from_chars(begin, node.scalar.data() + node.scalar.size(), value);
  return error == std::errc() && end == node.scalar.data() + node.scalar.size();
}

bool looks_boolean(const YamlNode& node) {
  if (!node.is_scalar() || !is_plain(node)) return false;
  const auto& s = node.scalar;
  return s == "true" || s == "false" || s == "True" || s == "False" || s == "TRUE" || s == "FALSE";
}

std::vector<std::string> field_names(const Fields& fields) {
  std::vector<std::string> names;
  for (const auto& f : fields) names.push_back(f.name);
  return names;
}

}  // namespace

std::string describe_node(const YamlNode& node) {
  if (node.is_null()) return "nothing";
  if (node.is_map()) return "a map";
  if (node.is_sequence()) return "a list";
  if (looks_integer(node) && !fits_integer(node))
    return fmt::format("an integer too large for 64 bits ({})", node.scalar);
  if (looks_integer(node)) return fmt::format("an integer ({})", node.scalar);
  if (looks_boolean(node)) return fmt::format("a boolean ({})", node.scalar);
  return fmt::format("a string ('{}')", node.scalar.size() > 40
                                            ? std::string(node.scalar.substr(0, 40)) + "..."
                                            : std::string(node.scalar));
}

namespace {

// The items of a sequence at `path`: each one `accepts` is converted and kept; any other is
// reported at its own position as "expected <what>".
template <class Accepts, class Convert>
nlohmann::json validate_items(Diagnostics& diagnostics, const YamlNode& node,
                              const std::string& path, const char* what, Accepts accepts,
                              Convert convert) {
  nlohmann::json out = nlohmann::json::array();
  std::size_t index = 0;
  for (const auto& item_ptr : node.items) {
    const YamlNode& item = *item_ptr;
    std::string item_path = fmt::format("{}[{}]", path, index++);
    if (!std::invoke(accepts, item)) {
      diagnostics.error(pos_of(item), item_path,
                        fmt::format("expected {}, got {}", what, describe_node(item)));
      continue;
    }
    out.push_back(convert(item, item_path));
  }
  return out;
}

}  // namespace

std::string join_path(const std::string& path, const std::string& key) {
  return path.empty() ? key : path + "." + key;
}

void FieldValidator::report_duplicate_keys(const YamlNode& node, const std::string& path) {
  std::map<std::string, SourcePos> seen;
  for (const auto& [key_ptr, value_ptr] : node.pairs) {
    if (!key_ptr->is_scalar()) continue;
    const std::string key(key_ptr->scalar);
    auto [where, fresh] = seen.emplace(key, key_ptr->pos);
    if (!fresh) {
      m_diagnostics.error(
          key_ptr->pos, join_path(path, key),
          fmt::format("duplicate key '{}' (first at line {})", key, where->second.line));
    }
  }
}

nlohmann::json FieldValidator::validate_map(const YamlNode& node, const Fields& fields,
                                            const std::string& path, SourcePos owner_pos,
                                            const std::set<std::string>& handled_elsewhere) {
  nlohmann::json out = nlohmann::json::object();
  if (!node.is_map()) {
    SourcePos where = node.is_null() ? owner_pos : pos_of(node);
    m_diagnostics.error(where, path, fmt::format("expected a map, got {}", describe_node(node)));
    return out;
  }
  report_duplicate_keys(node, path);
  std::set<std::string> present;
  for (const auto& [key_ptr, value_ptr] : node.pairs) {
    SourcePos key_pos = key_ptr->pos;
    if (!key_ptr->is_scalar()) {
      m_diagnostics.error(key_pos, path,
                          fmt::format("expected a string key, got {}", describe_node(*key_ptr)));
      continue;
    }
    const std::string key(key_ptr->scalar);
    if (handled_elsewhere.count(key) != 0) continue;
    if (!present.insert(key).second) continue;  // duplicate, already reported
    const Field* field = nullptr;
    for (const auto& f : fields) {
      if (f.name == key) field = &f;
    }
    if (field == nullptr) {
      auto names = field_names(fields);
      for (const auto& other : handled_elsewhere) {
        if (std::find(names.begin(), names.end(), other) == names.end()) names.push_back(other);
      }
      if (is_inline_secret_key(key)) {
        m_diagnostics.error(
            key_pos, join_path(path, key),
            fmt::format("secrets are never written inline: use {0}_env (an environment "
                        "variable) or {0}_file (a file) instead",
                        key));
        continue;
      }
      std::string hint = closest_match(key, names);
      m_diagnostics.error(
          key_pos, join_path(path, key),
          hint.empty()
              ? fmt::format("unknown key '{}' (expected one of: {})", key, join(names, ", "))
              : fmt::format("unknown key '{}' (did you mean '{}'?)", key, hint));
      continue;
    }
    auto value = validate_value(*value_ptr, *field, join_path(path, key), key_pos);
    if (!value.is_null()) out[key] = std::move(value);
  }
  for (const auto& field : fields) {
    if (present.count(field.name) != 0) continue;
    if (field.required) {
      SourcePos where = pos_of(node).line > 0 ? pos_of(node) : owner_pos;
      m_diagnostics.error(where, path, fmt::format("missing required key '{}'", field.name));
    } else if (!field.default_value.is_null()) {
      out[field.name] = field.default_value;
    }
  }
  return out;
}

nlohmann::json FieldValidator::scalar_string(const YamlNode& node, const std::string& path,
                                             SourcePos pos) {
  std::string text(node.scalar);
  return m_hook ? m_hook(text, pos, path) : text;
}

Coerced coerce_scalar(const Field& field, const std::string& text) {
  static const std::regex k_integer(R"(^[-+]?[0-9]+$)");
  auto wrong_type = [&]() {
    return Coerced{nullptr, fmt::format("expected {}", field_type_name(field.type)), true};
  };
  auto problem = [](std::string message) { return Coerced{nullptr, std::move(message), false}; };
  switch (field.type) {
    case FieldType::integer:
    case FieldType::integer_list: {
      if (!std::regex_match(text, k_integer)) return wrong_type();
      long long value = 0;
      const char* begin = text.data() + (text[0] == '+' ? 1 : 0);
      auto [end, error] = std::from_chars(begin, text.data() + text.size(), value);
      if (error != std::errc() || end != text.data() + text.size())
        return problem(fmt::format("integer out of range: {}", text));
      if (field.type == FieldType::integer_list) return {nlohmann::json::array({value})};
      if ((field.min && value < *field.min) || (field.max && value > *field.max)) {
        std::string wanted =
            field.min && field.max && *field.min == *field.max ? std::to_string(*field.min)
            : field.max ? fmt::format("an integer from {} to {}", field.min.value_or(0), *field.max)
                        : fmt::format("an integer of at least {}", field.min.value_or(0));
        return problem(fmt::format("expected {}, got {}", wanted, value));
      }
      return {value};
    }
    case FieldType::boolean:
      if (text == "true" || text == "True" || text == "TRUE") return {true};
      if (text == "false" || text == "False" || text == "FALSE") return {false};
      return wrong_type();
    case FieldType::duration: {
      if (auto parsed = parse_duration(text)) return {parsed->count()};
      if (std::regex_match(text, k_integer)) {
        return problem(
            fmt::format("invalid duration '{0}': a unit is required (e.g. {0}s or {0}ms)", text));
      }
      return problem(fmt::format("invalid duration '{}' (use e.g. 250ms, 5s, 1m30s)", text));
    }
    case FieldType::string:
      if (!field.choices.empty() &&
          std::find(field.choices.begin(), field.choices.end(), text) == field.choices.end()) {
        return problem(
            fmt::format("expected one of {}, got '{}'", join(field.choices, ", "), text));
      }
      return {text};
    default:
      return wrong_type();
  }
}

nlohmann::json FieldValidator::validate_value(const YamlNode& node, const Field& field,
                                              const std::string& path, SourcePos key_pos) {
  SourcePos pos = node.is_null() || pos_of(node).line == 0 ? key_pos : pos_of(node);
  if (takes_references_first(field, node))
    return resolve_then_validate(node, field, path, key_pos, pos);
  auto mismatch = [&]() {
    m_diagnostics.error(
        pos, path,
        fmt::format("expected {}, got {}", field_type_name(field.type), describe_node(node)));
    return nlohmann::json();
  };
  switch (field.type) {
    case FieldType::string:
    case FieldType::integer:
    case FieldType::boolean:
    case FieldType::duration:
      return validate_scalar(node, field, path, pos);
    case FieldType::string_list: {
      if (!node.is_sequence()) return mismatch();
      return validate_items(m_diagnostics, node, path, "a string", &YamlNode::is_scalar,
                            [&](const YamlNode& item, const std::string& at) {
                              return scalar_string(item, at, pos_of(item));
                            });
    }
    case FieldType::string_map:
      if (!node.is_map()) return mismatch();
      return validate_string_map(node, path);
    case FieldType::integer_list: {
      if (fits_integer(node)) return coerce_scalar(field, std::string(node.scalar)).value;
      if (!node.is_sequence()) return mismatch();
      return validate_items(m_diagnostics, node, path, "an integer", fits_integer,
                            [](const YamlNode& item, const std::string&) {
                              return nlohmann::json(std::stoll(std::string(item.scalar)));
                            });
    }
    case FieldType::object:
      return validate_map(node, field.fields, path, key_pos);
    case FieldType::object_list: {
      if (!node.is_sequence()) return mismatch();
      return validate_items(m_diagnostics, node, path, "a map", &YamlNode::is_map,
                            [&](const YamlNode& item, const std::string& at) {
                              return validate_map(item, field.fields, at, pos_of(item));
                            });
    }
  }
  return nlohmann::json();
}

bool FieldValidator::takes_references_first(const Field& field, const YamlNode& node) const {
  // A typed field (a port, a timeout, one of a few words) with ${vars.x} / ${env.X} in it is
  // resolved first, then checked; once only (what is left of "${" then is an escaped `$${`).
  bool typed = field.type == FieldType::integer || field.type == FieldType::boolean ||
               field.type == FieldType::duration || field.type == FieldType::integer_list ||
               (field.type == FieldType::string && !field.choices.empty());
  return typed && node.is_scalar() && node.scalar.find("${") != std::string::npos && m_hook &&
         !m_substituting;
}

nlohmann::json FieldValidator::resolve_then_validate(const YamlNode& node, const Field& field,
                                                     const std::string& path, SourcePos key_pos,
                                                     SourcePos pos) {
  std::size_t errors_before = m_diagnostics.error_count();
  std::string resolved = m_hook(std::string(node.scalar), pos, path);
  if (m_diagnostics.error_count() != errors_before)
    return nlohmann::json();  // the reference itself is wrong
  // ${steps.*} and ${run.*} are known just before the entry runs: kept as text until then
  // (coerce_late_values types them with coerce_scalar, or fails the entry).
  auto refs = find_references(resolved);
  bool late = refs && std::any_of(refs->begin(), refs->end(), [](const Reference& r) {
                return r.scope == "steps" || r.scope == "run";
              });
  if (late) return resolved;
  YamlNode substituted = node;
  substituted.scalar = resolved;
  substituted.plain = true;
  m_substituting = true;
  nlohmann::json value = validate_value(substituted, field, path, key_pos);
  m_substituting = false;
  return value;
}

nlohmann::json FieldValidator::validate_scalar(const YamlNode& node, const Field& field,
                                               const std::string& path, SourcePos pos) {
  // Integers and booleans are plain scalars (`"5"` is text); a duration may be quoted.
  bool plain_only = field.type == FieldType::integer || field.type == FieldType::boolean;
  if (!node.is_scalar() || (plain_only && !node.plain)) {
    m_diagnostics.error(
        pos, path,
        fmt::format("expected {}, got {}", field_type_name(field.type), describe_node(node)));
    return nlohmann::json();
  }
  Coerced coerced = coerce_scalar(field, std::string(node.scalar));
  if (coerced.wrong_type) {
    m_diagnostics.error(
        pos, path,
        fmt::format("expected {}, got {}", field_type_name(field.type), describe_node(node)));
    return nlohmann::json();
  }
  if (!coerced.problem.empty()) {
    m_diagnostics.error(pos, path, coerced.problem);
    return nlohmann::json();
  }
  if (field.type != FieldType::string) return coerced.value;
  if (node.scalar.empty() && field.required) {
    m_diagnostics.error(pos, path, "must not be empty");
    return nlohmann::json();
  }
  return scalar_string(node, path, pos);
}

nlohmann::json FieldValidator::validate_string_map(const YamlNode& node, const std::string& path) {
  report_duplicate_keys(node, path);
  nlohmann::json out = nlohmann::json::object();
  for (const auto& [key_ptr, value_ptr] : node.pairs) {
    if (!key_ptr->is_scalar()) {
      m_diagnostics.error(key_ptr->pos, path, "expected a string key");
      continue;
    }
    std::string item_path = join_path(path, std::string(key_ptr->scalar));
    if (!value_ptr->is_scalar()) {
      SourcePos where = value_ptr->is_null() ? key_ptr->pos : value_ptr->pos;
      m_diagnostics.error(where, item_path,
                          fmt::format("expected a string, got {}", describe_node(*value_ptr)));
      continue;
    }
    out[key_ptr->scalar] = scalar_string(*value_ptr, item_path, value_ptr->pos);
  }
  return out;
}

std::vector<std::string> coerce_late_values(nlohmann::json& values, const Fields& fields,
                                            const std::string& path) {
  std::vector<std::string> problems;
  if (!values.is_object()) return problems;
  for (const auto& field : fields) {
    if (!values.contains(field.name)) continue;
    auto& value = values[field.name];
    std::string at = path.empty() ? field.name : path + "." + field.name;
    if (field.type == FieldType::object) {
      auto inner = coerce_late_values(value, field.fields, at);
      problems.insert(problems.end(), inner.begin(), inner.end());
    } else if (field.type == FieldType::object_list && value.is_array()) {
      for (std::size_t i = 0; i < value.size(); ++i) {
        auto inner = coerce_late_values(value[i], field.fields, fmt::format("{}[{}]", at, i));
        problems.insert(problems.end(), inner.begin(), inner.end());
      }
    } else if (value.is_string() && field.type != FieldType::string_list &&
               field.type != FieldType::string_map) {
      // The same rule as a literal: coerce_scalar.
      const std::string text = value.get<std::string>();
      Coerced coerced = coerce_scalar(field, text);
      if (!coerced.problem.empty())
        problems.push_back(fmt::format("{}: resolved to '{}': {}", at, text, coerced.problem));
      else
        value = std::move(coerced.value);
    }
  }
  return problems;
}

}  // namespace drctl
