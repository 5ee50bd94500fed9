#pragma once
// A YAML document as a small tree that remembers where every node was written. Built from
// libyaml's events: yaml-cpp's scanner cost ~30 ms on a 500-step playbook, libyaml ~3 ms
// (docs/performance.md). The validator only ever sees this tree.
#include <memory>
#include <string>
#include <string_view>
#include <tl/expected.hpp>
#include <utility>
#include <vector>

#include "core/diagnostic.hpp"

namespace drctl {

class YamlNode;
using YamlNodePtr = std::shared_ptr<const YamlNode>;

class YamlNode {
 public:
  enum class Type { null, scalar, sequence, map };

  Type type = Type::null;
  SourcePos pos;
  std::string scalar;              // the text of a scalar
  bool plain = true;               // written without quotes (so `1` may be a number, `"1"` is text)
  std::vector<YamlNodePtr> items;  // a sequence's items
  std::vector<std::pair<YamlNodePtr, YamlNodePtr>> pairs;  // a mapping's pairs, duplicates kept

  bool is_null() const { return type == Type::null; }
  bool is_scalar() const { return type == Type::scalar; }
  bool is_sequence() const { return type == Type::sequence; }
  bool is_map() const { return type == Type::map; }

  // The value of the first pair whose key is the scalar `key`, or nullptr.
  const YamlNode* get(std::string_view key) const;
  // Where that key is written (not its value); {} when absent.
  SourcePos key_pos(std::string_view key) const;
};

struct YamlError {
  SourcePos pos;
  std::string message;
};

// Parses every document of a YAML stream (JSON is read as YAML).
tl::expected<std::vector<YamlNodePtr>, YamlError> parse_yaml(std::string_view text);

}  // namespace drctl
