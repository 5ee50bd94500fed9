#pragma once
// A validated kind spec: the values of a kind's Fields, typed and with defaults filled in.
// Kinds read their configuration through these accessors and never see YAML.
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <tl/expected.hpp>
#include <vector>

#include "core/field.hpp"
#include "util/duration.hpp"

namespace drctl {

class Spec {
 public:
  Spec() = default;
  explicit Spec(nlohmann::json values) : m_values(std::move(values)) {}

  bool has(const std::string& key) const;
  std::string str(const std::string& key) const;  // "" when absent
  std::optional<std::string> opt_str(const std::string& key) const;
  long long integer(const std::string& key, long long fallback = 0) const;
  bool boolean(const std::string& key, bool fallback = false) const;
  std::optional<Millis> duration(const std::string& key) const;
  std::vector<std::string> strings(const std::string& key) const;
  std::map<std::string, std::string> string_map(const std::string& key) const;
  std::vector<long long> integers(const std::string& key) const;
  Spec object(const std::string& key) const;                // an empty Spec when absent
  std::vector<Spec> objects(const std::string& key) const;  // an object_list
  // The secret given as `<name>_env` or `<name>_file` ("" when neither is set), registered
  // for redaction; the error says which variable or file failed.
  tl::expected<std::string, std::string> secret(const std::string& name) const;

  // Typed reads through the Field that declares the key in the kind's table: its name, and
  // its default when the key is absent. Kinds read their spec this way, so a name or a
  // default is written once, in the table.
  bool has(const Field& field) const { return has(field.name); }
  std::string str(const Field& field) const;                     // value, default, or ""
  std::optional<std::string> opt_str(const Field& field) const;  // value or default
  long long integer(const Field& field) const;                   // value, default, or 0
  bool boolean(const Field& field) const;                        // value, default, or false
  std::optional<Millis> duration(const Field& field) const;      // value or default
  std::vector<std::string> strings(const Field& field) const { return strings(field.name); }
  std::map<std::string, std::string> string_map(const Field& field) const {
    return string_map(field.name);
  }
  std::vector<long long> integers(const Field& field) const;  // value or default
  Spec object(const Field& field) const { return object(field.name); }
  std::vector<Spec> objects(const Field& field) const { return objects(field.name); }

  const nlohmann::json& json() const { return m_values; }
  nlohmann::json& json() { return m_values; }

 private:
  nlohmann::json m_values = nlohmann::json::object();
};

}  // namespace drctl
