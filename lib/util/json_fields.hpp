#pragma once
// Reading fields of JSON that drctl did not necessarily write (journals read back, possibly
// torn, corrupted or from another version): a field of the wrong type reads as absent,
// never as an exception.
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

namespace drctl {

inline std::string json_text(const nlohmann::json& object, const char* key,
                             const std::string& fallback = "") {
  if (!object.is_object()) return fallback;
  auto it = object.find(key);
  return it != object.end() && it->is_string() ? it->get<std::string>() : fallback;
}

inline std::int64_t json_int(const nlohmann::json& object, const char* key,
                             std::int64_t fallback = 0) {
  if (!object.is_object()) return fallback;
  auto it = object.find(key);
  return it != object.end() && it->is_number_integer() ? it->get<std::int64_t>() : fallback;
}

inline double json_number(const nlohmann::json& object, const char* key, double fallback = 0) {
  if (!object.is_object()) return fallback;
  auto it = object.find(key);
  return it != object.end() && it->is_number() ? it->get<double>() : fallback;
}

inline bool json_bool(const nlohmann::json& object, const char* key, bool fallback = false) {
  if (!object.is_object()) return fallback;
  auto it = object.find(key);
  return it != object.end() && it->is_boolean() ? it->get<bool>() : fallback;
}

// The member `key` when it is an object or other JSON value, else null.
inline const nlohmann::json& json_member(const nlohmann::json& object, const char* key) {
  static const nlohmann::json null;
  if (!object.is_object()) return null;
  auto it = object.find(key);
  return it != object.end() ? *it : null;
}

}  // namespace drctl
