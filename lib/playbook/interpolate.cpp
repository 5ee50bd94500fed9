#include "playbook/interpolate.hpp"

#include <fmt/format.h>

#include <cctype>

namespace drctl {
namespace {

bool valid_part(std::string_view part) {
  if (part.empty()) return false;
  for (char c : part) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_' && c != '-') return false;
  }
  return true;
}

std::size_t expected_parts(std::string_view scope) {
  if (scope == "steps") return 2;
  if (scope == "vars" || scope == "env" || scope == "run") return 1;
  return 0;
}

tl::expected<Reference, std::string> parse_reference(std::string_view body) {
  Reference ref;
  ref.text = fmt::format("${{{}}}", body);
  std::vector<std::string> parts;
  std::size_t start = 0;
  while (true) {
    auto dot = body.find('.', start);
    parts.emplace_back(
        body.substr(start, dot == std::string_view::npos ? std::string_view::npos : dot - start));
    if (dot == std::string_view::npos) break;
    start = dot + 1;
  }
  ref.scope = parts.front();
  std::size_t want = expected_parts(ref.scope);
  if (want == 0) {
    return tl::unexpected(fmt::format(
        "unknown reference scope '{}' in {}: use vars, env, steps or run", ref.scope, ref.text));
  }
  if (parts.size() != want + 1) {
    return tl::unexpected(
        ref.scope == "steps"
            ? fmt::format("malformed reference {}: expected ${{steps.NAME.OUTPUT}}", ref.text)
            : fmt::format("malformed reference {}: expected ${{{}.NAME}}", ref.text, ref.scope));
  }
  for (std::size_t i = 1; i < parts.size(); ++i) {
    if (!valid_part(parts[i]))
      return tl::unexpected(fmt::format("malformed reference {}", ref.text));
  }
  ref.names.assign(parts.begin() + 1, parts.end());
  return ref;
}

}  // namespace

tl::expected<std::vector<Reference>, std::string> find_references(std::string_view text) {
  std::vector<Reference> refs;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text.compare(i, 3, "$${") == 0) {
      i += 2;
      continue;
    }
    if (text.compare(i, 2, "${") != 0) continue;
    auto close = text.find('}', i + 2);
    if (close == std::string_view::npos)
      return tl::unexpected(std::string("unterminated '${' (write $${ for a literal ${)"));
    auto ref = parse_reference(text.substr(i + 2, close - i - 2));
    if (!ref) return tl::unexpected(ref.error());
    refs.push_back(std::move(*ref));
    i = close;
  }
  return refs;
}

std::string substitute(std::string_view text, const Resolver& resolve, bool final) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text.compare(i, 3, "$${") == 0) {
      out += final ? "${" : "$${";
      i += 2;
      continue;
    }
    if (text.compare(i, 2, "${") == 0) {
      auto close = text.find('}', i + 2);
      if (close != std::string_view::npos) {
        auto ref = parse_reference(text.substr(i + 2, close - i - 2));
        if (ref) {
          if (auto value = resolve(*ref)) {
            out += *value;
            i = close;
            continue;
          }
        }
      }
    }
    out += text[i];
  }
  return out;
}

}  // namespace drctl
