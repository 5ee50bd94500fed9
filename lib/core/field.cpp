#include "core/field.hpp"

#include <array>

#include "util/duration.hpp"

namespace drctl {

std::string_view field_type_name(FieldType type) {
  switch (type) {
    case FieldType::string:
      return "a string";
    case FieldType::integer:
      return "an integer";
    case FieldType::boolean:
      return "true or false";
    case FieldType::duration:
      return "a duration";
    case FieldType::string_list:
      return "a list of strings";
    case FieldType::string_map:
      return "a map of strings";
    case FieldType::integer_list:
      return "an integer or a list of integers";
    case FieldType::object:
      return "a map";
    case FieldType::object_list:
      return "a list of maps";
  }
  return "?";
}

namespace {
Field make(std::string name, FieldType type, std::string doc) {
  Field field;
  field.name = std::move(name);
  field.type = type;
  field.doc = std::move(doc);
  return field;
}
}  // namespace

Field Field::string(std::string name, std::string doc) {
  return make(std::move(name), FieldType::string, std::move(doc));
}
Field Field::integer(std::string name, std::string doc) {
  return make(std::move(name), FieldType::integer, std::move(doc));
}
Field Field::boolean(std::string name, std::string doc) {
  return make(std::move(name), FieldType::boolean, std::move(doc));
}
Field Field::duration(std::string name, std::string doc) {
  return make(std::move(name), FieldType::duration, std::move(doc));
}
Field Field::string_list(std::string name, std::string doc) {
  return make(std::move(name), FieldType::string_list, std::move(doc));
}
Field Field::string_map(std::string name, std::string doc) {
  return make(std::move(name), FieldType::string_map, std::move(doc));
}
Field Field::integer_list(std::string name, std::string doc) {
  return make(std::move(name), FieldType::integer_list, std::move(doc));
}
Field Field::object(std::string name, std::string doc, std::vector<Field> members) {
  Field field = make(std::move(name), FieldType::object, std::move(doc));
  field.fields = std::move(members);
  return field;
}

Field Field::object_list(std::string name, std::string doc, std::vector<Field> members) {
  Field field = make(std::move(name), FieldType::object_list, std::move(doc));
  field.fields = std::move(members);
  return field;
}

Field&& Field::mandatory() && {
  required = true;
  return std::move(*this);
}
Field&& Field::one_of(std::vector<std::string> values) && {
  choices = std::move(values);
  return std::move(*this);
}
Field&& Field::range(std::optional<long long> lowest, std::optional<long long> highest) && {
  min = lowest;
  max = highest;
  return std::move(*this);
}
Field&& Field::defaults_to(nlohmann::json value) && {
  // A duration's default may be written as in a playbook ("2s"); it is stored in ms.
  if (type == FieldType::duration && value.is_string()) {
    auto parsed = parse_duration(value.get<std::string>());
    value = parsed ? nlohmann::json(parsed->count()) : nlohmann::json();
  }
  default_value = std::move(value);
  return std::move(*this);
}

bool is_inline_secret_key(const std::string& key) {
  static const std::array<std::string_view, 8> k_secret_keys = {
      "password", "passwd", "token", "secret", "api_key", "apikey", "private_key", "credentials"};
  for (auto secret : k_secret_keys) {
    if (key == secret) return true;
  }
  return false;
}

}  // namespace drctl
