#pragma once
// ${scope.name[.field]} references inside playbook strings. `$${` writes a literal `${`.
// Scopes: vars.NAME, env.NAME (both resolved when the playbook loads), steps.ENTRY.OUTPUT and
// run.FIELD (resolved just before the entry runs).
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <tl/expected.hpp>
#include <vector>

namespace drctl {

struct Reference {
  std::string scope;               // "vars", "env", "steps", "run"
  std::vector<std::string> names;  // the dotted parts after the scope
  std::string text;                // "${steps.capture.revision}"
};

// All references in text, or the first syntax error ("unterminated '${'", ...).
tl::expected<std::vector<Reference>, std::string> find_references(std::string_view text);

// Replaces each reference for which `resolve` gives a value; others stay as written, and
// `$${` stays as written too unless `final` is true (then it becomes `${`).
using Resolver = std::function<std::optional<std::string>(const Reference&)>;
std::string substitute(std::string_view text, const Resolver& resolve, bool final);

}  // namespace drctl
