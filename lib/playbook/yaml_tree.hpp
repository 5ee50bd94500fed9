#pragma once
// A YAML document as a small tree that remembers where every node was written. Built from
// libyaml's events: yaml-cpp's scanner cost ~30 ms on a 500-step playbook, libyaml ~3 ms
// (docs/performance.md). The validator only ever sees this tree.
//
// Every node, scalar text and child list lives in one arena owned by the YamlStream (no
// allocation and no reference count per node): the tree of a 50 MB, 400,000-step playbook
// takes 0.56 GB, where a shared_ptr per node took 1.05 GB (docs/performance.md).
#include <cstdint>
#include <memory>
#include <memory_resource>
#include <span>
#include <string>
#include <string_view>
#include <tl/expected.hpp>
#include <utility>
#include <vector>

#include "core/diagnostic.hpp"

namespace drctl {

class YamlNode;

// One key and its value in a mapping.
struct YamlPair {
  const YamlNode* first;
  const YamlNode* second;
};

class YamlNode {
 public:
  enum class Type : std::uint8_t { null, scalar, sequence, map };

  Type type = Type::null;
  bool plain = true;  // written without quotes (so `1` may be a number, `"1"` is text)
  SourcePos pos;
  std::string_view scalar;                 // the text of a scalar
  std::span<const YamlNode* const> items;  // a sequence's items
  std::span<const YamlPair> pairs;         // a mapping's pairs, duplicates kept

  bool is_null() const { return type == Type::null; }
  bool is_scalar() const { return type == Type::scalar; }
  bool is_sequence() const { return type == Type::sequence; }
  bool is_map() const { return type == Type::map; }

  // The value of the first pair whose key is the scalar `key`, or nullptr.
  const YamlNode* get(std::string_view key) const;
  // Where that key is written (not its value); {} when absent.
  SourcePos key_pos(std::string_view key) const;
};

// The documents of a YAML stream and the arena that holds their nodes.
struct YamlStream {
  std::unique_ptr<std::pmr::monotonic_buffer_resource> arena;
  std::vector<const YamlNode*> documents;
};

struct YamlError {
  SourcePos pos;
  std::string message;
};

// Mappings and sequences nested deeper than this are refused (a located error): real
// playbooks nest about 8 levels, and libyaml's cost grows with the square of the depth.
inline constexpr std::size_t k_max_yaml_depth = 64;

// Parses every document of a YAML stream (JSON is read as YAML).
tl::expected<YamlStream, YamlError> parse_yaml(std::string_view text);

}  // namespace drctl
