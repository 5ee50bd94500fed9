#include "playbook/yaml_tree.hpp"

#include <fmt/format.h>
#include <yaml.h>

#include <map>
#include <memory_resource>

namespace drctl {

const YamlNode* YamlNode::get(std::string_view key) const {
  for (const auto& [k, v] : pairs) {
    if (k->is_scalar() && k->scalar == key) return v;
  }
  return nullptr;
}

SourcePos YamlNode::key_pos(std::string_view key) const {
  for (const auto& [k, v] : pairs) {
    if (k->is_scalar() && k->scalar == key) return k->pos;
  }
  return {};
}

namespace {

SourcePos pos_of(const yaml_mark_t& mark) {
  return {static_cast<int>(mark.line) + 1, static_cast<int>(mark.column) + 1};
}

bool is_null_scalar(const yaml_event_t& event) {
  if (event.data.scalar.style != YAML_PLAIN_SCALAR_STYLE) return false;
  std::string_view text(reinterpret_cast<const char*>(event.data.scalar.value),
                        event.data.scalar.length);
  return text.empty() || text == "~" || text == "null" || text == "Null" || text == "NULL";
}

// Builds nodes from the event stream; containers under construction live on a stack, their
// children in scratch vectors until they close (then copied into the arena).
class TreeBuilder {
 public:
  explicit TreeBuilder(std::string_view text)
      : m_arena(std::make_unique<std::pmr::monotonic_buffer_resource>(text.size() * 4 + 4096)) {
    yaml_parser_initialize(&m_parser);
    yaml_parser_set_input_string(&m_parser, reinterpret_cast<const unsigned char*>(text.data()),
                                 text.size());
  }
  ~TreeBuilder() { yaml_parser_delete(&m_parser); }

  tl::expected<YamlStream, YamlError> build() {
    while (true) {
      yaml_event_t event;
      if (!yaml_parser_parse(&m_parser, &event)) return tl::unexpected(syntax_error());
      auto type = event.type;
      auto result = handle(event);
      yaml_event_delete(&event);
      if (!result) return tl::unexpected(result.error());
      if (type == YAML_STREAM_END_EVENT) break;
    }
    return YamlStream{std::move(m_arena), std::move(m_documents)};
  }

 private:
  YamlError syntax_error() const {
    std::string message = m_parser.problem != nullptr ? m_parser.problem : "malformed YAML";
    if (m_parser.context != nullptr) {
      message += fmt::format(" ({} at line {})", m_parser.context, m_parser.context_mark.line + 1);
    }
    return {pos_of(m_parser.problem_mark), "syntax error: " + message};
  }

  YamlNode* new_node(YamlNode::Type type, const yaml_mark_t& mark) {
    void* memory = m_arena->allocate(sizeof(YamlNode), alignof(YamlNode));
    auto* node = new (memory) YamlNode();  // trivially destructible: the arena just drops it
    node->type = type;
    node->pos = pos_of(mark);
    return node;
  }

  template <class T>
  std::span<const T> keep(const std::vector<T>& scratch) {
    if (scratch.empty()) return {};
    void* memory = m_arena->allocate(scratch.size() * sizeof(T), alignof(T));
    std::copy(scratch.begin(), scratch.end(), static_cast<T*>(memory));
    return {static_cast<const T*>(memory), scratch.size()};
  }

  std::string_view keep(const char* text, std::size_t length) {
    if (length == 0) return {};
    char* memory = static_cast<char*>(m_arena->allocate(length, 1));
    std::copy(text, text + length, memory);
    return {memory, length};
  }

  tl::expected<void, YamlError> handle(const yaml_event_t& event) {
    switch (event.type) {
      case YAML_SCALAR_EVENT: {
        YamlNode* node =
            new_node(is_null_scalar(event) ? YamlNode::Type::null : YamlNode::Type::scalar,
                     event.start_mark);
        if (node->is_scalar()) {
          node->scalar = keep(reinterpret_cast<const char*>(event.data.scalar.value),
                              event.data.scalar.length);
          node->plain = event.data.scalar.style == YAML_PLAIN_SCALAR_STYLE &&
                        event.data.scalar.tag == nullptr;
        }
        remember_anchor(event.data.scalar.anchor, node);
        return add(node);
      }
      case YAML_SEQUENCE_START_EVENT:
      case YAML_MAPPING_START_EVENT: {
        if (m_open.size() >= k_max_yaml_depth) {
          return tl::unexpected(
              YamlError{pos_of(event.start_mark),
                        fmt::format("nested deeper than {} levels", k_max_yaml_depth)});
        }
        bool sequence = event.type == YAML_SEQUENCE_START_EVENT;
        YamlNode* node =
            new_node(sequence ? YamlNode::Type::sequence : YamlNode::Type::map, event.start_mark);
        remember_anchor(
            sequence ? event.data.sequence_start.anchor : event.data.mapping_start.anchor, node);
        if (m_scratch.size() <= m_open.size()) m_scratch.emplace_back();
        m_scratch[m_open.size()].items.clear();
        m_scratch[m_open.size()].pairs.clear();
        m_open.push_back({node, nullptr});
        return {};
      }
      case YAML_SEQUENCE_END_EVENT:
      case YAML_MAPPING_END_EVENT: {
        YamlNode* node = m_open.back().node;
        Scratch& children = m_scratch[m_open.size() - 1];
        node->items = keep(children.items);
        node->pairs = keep(children.pairs);
        m_open.pop_back();
        return add(node);
      }
      case YAML_ALIAS_EVENT: {
        std::string name(reinterpret_cast<const char*>(event.data.alias.anchor));
        auto it = m_anchors.find(name);
        if (it == m_anchors.end())
          return tl::unexpected(
              YamlError{pos_of(event.start_mark), fmt::format("unknown anchor '*{}'", name)});
        return add(it->second);
      }
      case YAML_DOCUMENT_START_EVENT:
        m_anchors.clear();
        return {};
      default:
        return {};
    }
  }

  void remember_anchor(const yaml_char_t* anchor, const YamlNode* node) {
    if (anchor != nullptr) m_anchors[reinterpret_cast<const char*>(anchor)] = node;
  }

  // Attaches a finished node to its parent, or ends a document.
  tl::expected<void, YamlError> add(const YamlNode* node) {
    if (m_open.empty()) {
      m_documents.push_back(node);
      return {};
    }
    auto& top = m_open.back();
    Scratch& children = m_scratch[m_open.size() - 1];
    if (top.node->is_sequence()) {
      children.items.push_back(node);
    } else if (top.pending_key == nullptr) {
      top.pending_key = node;
    } else {
      children.pairs.push_back({top.pending_key, node});
      top.pending_key = nullptr;
    }
    return {};
  }

  struct Open {
    YamlNode* node;
    const YamlNode* pending_key;  // a mapping's key waiting for its value
  };
  // The children of the container open at each depth (reused: no allocation per container).
  struct Scratch {
    std::vector<const YamlNode*> items;
    std::vector<YamlPair> pairs;
  };

  yaml_parser_t m_parser;
  std::unique_ptr<std::pmr::monotonic_buffer_resource> m_arena;
  std::vector<Open> m_open;
  std::vector<Scratch> m_scratch;
  std::map<std::string, const YamlNode*> m_anchors;
  std::vector<const YamlNode*> m_documents;
};

}  // namespace

tl::expected<YamlStream, YamlError> parse_yaml(std::string_view text) {
  TreeBuilder builder(text);
  return builder.build();
}

}  // namespace drctl
