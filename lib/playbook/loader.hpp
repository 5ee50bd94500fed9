#pragma once
// Reads a playbook (YAML, or JSON, which the same parser reads) into a validated Playbook.
// Nothing runs before this succeeds; every problem is reported at once.
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/diagnostic.hpp"
#include "core/model.hpp"
#include "kinds/registry.hpp"

namespace drctl {

struct LoadOptions {
  std::map<std::string, std::string> var_overrides;  // --var NAME=VALUE
  const KindRegistry* kinds = nullptr;               // defaults to builtin_kinds()
};

struct LoadResult {
  std::optional<Playbook> playbook;     // set only when there are no errors
  std::vector<Diagnostic> diagnostics;  // errors and warnings, in file order
  bool unreadable = false;              // the file could not be read at all
};

// Parses text; `display_name` is the file name used in messages. Touches no disk.
LoadResult parse_playbook(std::string_view text, const std::string& display_name,
                          const LoadOptions& options);

// Reads and parses a file.
LoadResult load_playbook(const std::string& path, const LoadOptions& options);

}  // namespace drctl
