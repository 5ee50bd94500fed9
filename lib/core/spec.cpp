#include "core/spec.hpp"

#include "util/secrets.hpp"

namespace drctl {

bool Spec::has(const std::string& key) const {
  return m_values.is_object() && m_values.contains(key) && !m_values.at(key).is_null();
}

std::string Spec::str(const std::string& key) const {
  return opt_str(key).value_or("");
}

std::optional<std::string> Spec::opt_str(const std::string& key) const {
  if (!has(key) || !m_values.at(key).is_string()) return std::nullopt;
  return m_values.at(key).get<std::string>();
}

long long Spec::integer(const std::string& key, long long fallback) const {
  return has(key) && m_values.at(key).is_number_integer() ? m_values.at(key).get<long long>()
                                                          : fallback;
}

bool Spec::boolean(const std::string& key, bool fallback) const {
  return has(key) && m_values.at(key).is_boolean() ? m_values.at(key).get<bool>() : fallback;
}

std::optional<Millis> Spec::duration(const std::string& key) const {
  if (!has(key) || !m_values.at(key).is_number_integer()) return std::nullopt;
  return Millis(m_values.at(key).get<long long>());
}

std::vector<std::string> Spec::strings(const std::string& key) const {
  return has(key) ? m_values.at(key).get<std::vector<std::string>>() : std::vector<std::string>{};
}

std::map<std::string, std::string> Spec::string_map(const std::string& key) const {
  return has(key) ? m_values.at(key).get<std::map<std::string, std::string>>()
                  : std::map<std::string, std::string>{};
}

std::vector<long long> Spec::integers(const std::string& key) const {
  return has(key) ? m_values.at(key).get<std::vector<long long>>() : std::vector<long long>{};
}

Spec Spec::object(const std::string& key) const {
  return has(key) ? Spec(m_values.at(key)) : Spec();
}

std::optional<std::string> Spec::opt_str(const Field& field) const {
  if (auto value = opt_str(field.name)) return value;
  if (field.default_value.is_string()) return field.default_value.get<std::string>();
  return std::nullopt;
}

std::string Spec::str(const Field& field) const {
  return opt_str(field).value_or("");
}

long long Spec::integer(const Field& field) const {
  return integer(field.name, field.default_value.is_number_integer()
                                 ? field.default_value.get<long long>()
                                 : 0);
}

bool Spec::boolean(const Field& field) const {
  return boolean(field.name, field.default_value.is_boolean() && field.default_value.get<bool>());
}

std::optional<Millis> Spec::duration(const Field& field) const {
  if (auto value = duration(field.name)) return value;
  if (field.default_value.is_number_integer()) return Millis(field.default_value.get<long long>());
  return std::nullopt;
}

std::vector<long long> Spec::integers(const Field& field) const {
  if (has(field.name)) return integers(field.name);
  if (field.default_value.is_array()) return field.default_value.get<std::vector<long long>>();
  if (field.default_value.is_number_integer()) return {field.default_value.get<long long>()};
  return {};
}

tl::expected<std::string, std::string> Spec::secret(const std::string& name) const {
  if (has(name + "_env")) return secret_from_env(str(name + "_env"));
  if (has(name + "_file")) return secret_from_file(str(name + "_file"));
  return std::string();
}

std::vector<Spec> Spec::objects(const std::string& key) const {
  std::vector<Spec> out;
  if (!has(key) || !m_values.at(key).is_array()) return out;
  for (const auto& item : m_values.at(key)) out.emplace_back(item);
  return out;
}

}  // namespace drctl
