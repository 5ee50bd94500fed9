#include "probe_flags.hpp"

#include <fmt/format.h>

#include <algorithm>

#include "common.hpp"
#include "playbook/field_validator.hpp"
#include "util/duration.hpp"
#include "util/strings.hpp"

namespace drctl::cli {
namespace {

std::string dashed(std::string name) {
  std::replace(name.begin(), name.end(), '_', '-');
  return name;
}

bool listed(const std::vector<std::string>& names, const std::string& name) {
  return std::find(names.begin(), names.end(), name) != names.end();
}

nlohmann::json& at_path(nlohmann::json& root, const std::vector<std::string>& path) {
  nlohmann::json* node = &root;
  for (const auto& key : path) node = &(*node)[key];
  return *node;
}

// The field's doc, with its default when the doc does not already say it.
std::string help_of(const Field& field) {
  if (field.default_value.is_null() || field.doc.find("default") != std::string::npos)
    return field.doc;
  std::string value = field.type == FieldType::duration && field.default_value.is_number_integer()
                          ? format_duration(Millis(field.default_value.get<long long>()))
                      : field.default_value.is_string() ? field.default_value.get<std::string>()
                                                        : field.default_value.dump();
  std::string doc = field.doc;
  bool sentence = !doc.empty() && doc.back() == '.';
  if (sentence) doc.pop_back();
  return fmt::format("{} (default {}){}", doc, value, sentence ? "." : "");
}

// What CLI11 shows after the flag: the value's type, or the words it may be.
std::string type_name_of(const Field& field) {
  if (!field.choices.empty()) return "{" + join(field.choices, "|") + "}";
  switch (field.type) {
    case FieldType::integer:
      return "INT";
    case FieldType::integer_list:
      return "INT,...";
    case FieldType::duration:
      return "DURATION";
    case FieldType::string_list:
      return "TEXT,...";
    default:
      return "TEXT";
  }
}

}  // namespace

ProbeFlags::ProbeFlags(CLI::App& app, const Kind& kind, ProbeShape shape)
    : m_kind(kind), m_shape(std::move(shape)) {
  const Field* first_shared = nullptr;
  for (const auto& field : kind.fields()) {
    bool nested = field.type == FieldType::object;
    if (nested && listed(m_shape.shared_objects, field.name)) {
      if (first_shared == nullptr) first_shared = &field;
      continue;
    }
    if (m_shape.fixed.count(field.name)) continue;  // set by the probe itself
    if (nested) {
      for (const auto& member : field.fields) {
        add(app, member, "--" + dashed(field.name + "_" + member.name),
            {{field.name, member.name}});
      }
    } else {
      add(app, field, "--" + dashed(field.name), {{field.name}});
    }
  }
  if (first_shared == nullptr) return;
  // One flag per member for all shared objects, or one per object where they must differ.
  for (const auto& member : first_shared->fields) {
    if (listed(m_shape.per_object_members, member.name) && m_shape.shared_objects.size() > 1) {
      for (const auto& object : m_shape.shared_objects) {
        add(app, member, "--" + dashed(object + "_" + member.name), {{object, member.name}});
      }
      continue;
    }
    std::vector<std::vector<std::string>> paths;
    for (const auto& object : m_shape.shared_objects) paths.push_back({object, member.name});
    add(app, member, "--" + dashed(member.name), std::move(paths));
  }
}

void ProbeFlags::add(CLI::App& app, const Field& field, std::string name,
                     std::vector<std::vector<std::string>> paths) {
  if (field.type == FieldType::object || field.type == FieldType::object_list ||
      field.type == FieldType::string_map) {
    return;  // no flag form: a playbook gives these
  }
  auto flag = std::make_unique<Flag>();
  flag->name = std::move(name);
  flag->field = &field;
  flag->paths = std::move(paths);
  std::string names = flag->name;
  const std::string& key = flag->paths.front().back();
  if (auto alias = m_shape.aliases.find(key);
      alias != m_shape.aliases.end() && flag->paths.front().size() == 1) {
    names = alias->second + "," + names;  // the alias first: CLI11's messages name it
  }
  if (field.type == FieldType::boolean) {
    flag->option = app.add_flag(names, flag->on, help_of(field));
  } else if (field.type == FieldType::string_list || field.type == FieldType::integer_list) {
    flag->option = app.add_option(names, flag->items, help_of(field))
                       ->delimiter(',')
                       ->type_name(type_name_of(field));
  } else {
    flag->option =
        app.add_option(names, flag->text, help_of(field))->type_name(type_name_of(field));
  }
  bool top_level = flag->paths.front().size() == 1;
  if ((field.required &&
       (top_level || flag->paths.size() > 1 || listed(m_shape.per_object_members, key))) ||
      (top_level && listed(m_shape.required, key))) {
    flag->option->required();
  }
  m_flags.push_back(std::move(flag));
}

std::optional<nlohmann::json> ProbeFlags::spec() const {
  nlohmann::json spec = nlohmann::json::object();
  for (const auto& flag : m_flags) {
    if (!given(*flag)) continue;
    nlohmann::json value;
    if (flag->field->type == FieldType::boolean) {
      value = flag->on;
    } else if (flag->field->type == FieldType::string_list) {
      value = flag->items;
    } else if (flag->field->type == FieldType::integer_list) {
      value = nlohmann::json::array();
      for (const auto& item : flag->items)
        value.push_back(coerce_scalar(Field::integer(flag->field->name, ""), item).value);
    } else if (flag->field->type == FieldType::integer) {
      // The playbook's own rule (coerce_scalar); what is not an integer at all stays text, for
      // the validator to report as it would in a playbook.
      Coerced coerced = coerce_scalar(*flag->field, flag->text);
      if (!coerced.problem.empty() && !coerced.wrong_type) {
        print_error(fmt::format("{}: {}", flag->name, coerced.problem));
        return std::nullopt;
      }
      value = coerced.wrong_type ? nlohmann::json(flag->text) : coerced.value;
    } else {
      value = flag->text;
    }
    for (const auto& path : flag->paths) at_path(spec, path) = value;
  }
  for (const auto& [key, value] : m_shape.fixed) spec[key] = value;
  // Nested objects given by some of their flags take the rest from the top-level ones.
  for (const auto& field : m_kind.fields()) {
    if (field.type != FieldType::object || !spec.contains(field.name) ||
        listed(m_shape.shared_objects, field.name)) {
      continue;
    }
    for (const auto& group : m_shape.inherited_members) {
      // A group is inherited whole or not at all: --primary-password-file beside the
      // replica's --password-env must not leave the primary with both.
      bool given = std::any_of(group.begin(), group.end(), [&](const std::string& key) {
        return spec[field.name].contains(key);
      });
      if (given) continue;
      for (const auto& key : group) {
        if (spec.contains(key)) spec[field.name][key] = spec[key];
      }
    }
  }
  return spec;
}

std::string ProbeFlags::flag_for(const std::string& key_path) const {
  for (const auto& flag : m_flags) {
    for (const auto& path : flag->paths) {
      std::string joined;
      for (const auto& key : path) joined += (joined.empty() ? "" : ".") + key;
      if (joined == key_path) return flag->name;
    }
  }
  return "--" + dashed(key_path);
}

}  // namespace drctl::cli
