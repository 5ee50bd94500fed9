#pragma once
// The table of kinds. An explicit table, not self-registering statics: a static library
// drops an unreferenced registration file without a word.
#include <memory>
#include <string>
#include <vector>

#include "core/kind.hpp"

namespace drctl {

class KindRegistry {
 public:
  void add(std::unique_ptr<Kind> kind);
  const Kind* find(std::string_view name) const;
  std::vector<std::string> names() const;
  const std::vector<std::unique_ptr<Kind>>& all() const { return m_kinds; }

 private:
  std::vector<std::unique_ptr<Kind>> m_kinds;
};

// The registry of every kind drctl ships.
const KindRegistry& builtin_kinds();

}  // namespace drctl
