#include "playbook/yaml_tree.hpp"

#include <fmt/format.h>
#include <yaml.h>

#include <map>

namespace drctl {

const YamlNode* YamlNode::get(std::string_view key) const {
  for (const auto& [k, v] : pairs) {
    if (k->is_scalar() && k->scalar == key) return v.get();
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

// Builds nodes from the event stream; containers under construction live on a stack.
class TreeBuilder {
 public:
  explicit TreeBuilder(std::string_view text) {
    yaml_parser_initialize(&m_parser);
    yaml_parser_set_input_string(&m_parser, reinterpret_cast<const unsigned char*>(text.data()),
                                 text.size());
  }
  ~TreeBuilder() { yaml_parser_delete(&m_parser); }

  tl::expected<std::vector<YamlNodePtr>, YamlError> build() {
    while (true) {
      yaml_event_t event;
      if (!yaml_parser_parse(&m_parser, &event)) return tl::unexpected(syntax_error());
      auto type = event.type;
      auto result = handle(event);
      yaml_event_delete(&event);
      if (!result) return tl::unexpected(result.error());
      if (type == YAML_STREAM_END_EVENT) break;
    }
    return m_documents;
  }

 private:
  YamlError syntax_error() const {
    std::string message = m_parser.problem != nullptr ? m_parser.problem : "malformed YAML";
    if (m_parser.context != nullptr) {
      message += fmt::format(" ({} at line {})", m_parser.context, m_parser.context_mark.line + 1);
    }
    return {pos_of(m_parser.problem_mark), "syntax error: " + message};
  }

  tl::expected<void, YamlError> handle(const yaml_event_t& event) {
    switch (event.type) {
      case YAML_SCALAR_EVENT: {
        auto node = std::make_shared<YamlNode>();
        node->pos = pos_of(event.start_mark);
        if (is_null_scalar(event)) {
          node->type = YamlNode::Type::null;
        } else {
          node->type = YamlNode::Type::scalar;
          node->scalar.assign(reinterpret_cast<const char*>(event.data.scalar.value),
                              event.data.scalar.length);
          node->plain = event.data.scalar.style == YAML_PLAIN_SCALAR_STYLE &&
                        event.data.scalar.tag == nullptr;
        }
        remember_anchor(event.data.scalar.anchor, node);
        return add(node);
      }
      case YAML_SEQUENCE_START_EVENT:
      case YAML_MAPPING_START_EVENT: {
        auto node = std::make_shared<YamlNode>();
        node->pos = pos_of(event.start_mark);
        bool sequence = event.type == YAML_SEQUENCE_START_EVENT;
        node->type = sequence ? YamlNode::Type::sequence : YamlNode::Type::map;
        remember_anchor(
            sequence ? event.data.sequence_start.anchor : event.data.mapping_start.anchor, node);
        m_open.push_back({node, nullptr});
        return {};
      }
      case YAML_SEQUENCE_END_EVENT:
      case YAML_MAPPING_END_EVENT: {
        auto node = m_open.back().node;
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
        m_document_pos = pos_of(event.start_mark);
        return {};
      default:
        return {};
    }
  }

  void remember_anchor(const yaml_char_t* anchor, const std::shared_ptr<YamlNode>& node) {
    if (anchor != nullptr) m_anchors[reinterpret_cast<const char*>(anchor)] = node;
  }

  // Attaches a finished node to its parent, or ends a document.
  tl::expected<void, YamlError> add(const YamlNodePtr& node) {
    if (m_open.empty()) {
      m_documents.push_back(node);
      return {};
    }
    auto& top = m_open.back();
    if (top.node->type == YamlNode::Type::sequence) {
      top.node->items.push_back(node);
    } else if (top.pending_key == nullptr) {
      top.pending_key = node;
    } else {
      top.node->pairs.emplace_back(std::move(top.pending_key), node);
      top.pending_key = nullptr;
    }
    return {};
  }

  struct Open {
    std::shared_ptr<YamlNode> node;
    YamlNodePtr pending_key;  // a mapping's key waiting for its value
  };

  yaml_parser_t m_parser;
  std::vector<Open> m_open;
  std::map<std::string, YamlNodePtr> m_anchors;
  std::vector<YamlNodePtr> m_documents;
  SourcePos m_document_pos;
};

}  // namespace

tl::expected<std::vector<YamlNodePtr>, YamlError> parse_yaml(std::string_view text) {
  TreeBuilder builder(text);
  return builder.build();
}

}  // namespace drctl
