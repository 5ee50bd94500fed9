#include "core/diagnostic.hpp"

#include <fmt/format.h>

#include <algorithm>

namespace drctl {

std::string Diagnostic::to_string() const {
  std::string where = pos.line > 0 ? fmt::format("{}:{}:{}", file, pos.line, pos.column) : file;
  std::string prefix = severity == Severity::warning ? "warning: " : "";
  if (path.empty()) return fmt::format("{}: {}{}", where, prefix, message);
  return fmt::format("{}: {}{}: {}", where, prefix, path, message);
}

void Diagnostics::error(SourcePos pos, std::string path, std::string message) {
  m_items.push_back(
      {Diagnostic::Severity::error, m_file, pos, std::move(path), std::move(message)});
}

void Diagnostics::warning(SourcePos pos, std::string path, std::string message) {
  m_items.push_back(
      {Diagnostic::Severity::warning, m_file, pos, std::move(path), std::move(message)});
}

bool Diagnostics::has_errors() const {
  return std::any_of(m_items.begin(), m_items.end(),
                     [](const Diagnostic& d) { return d.severity == Diagnostic::Severity::error; });
}

std::size_t Diagnostics::error_count() const {
  return static_cast<std::size_t>(
      std::count_if(m_items.begin(), m_items.end(),
                    [](const Diagnostic& d) { return d.severity == Diagnostic::Severity::error; }));
}

std::vector<Diagnostic> Diagnostics::sorted() const {
  auto items = m_items;
  std::stable_sort(items.begin(), items.end(), [](const Diagnostic& a, const Diagnostic& b) {
    if (a.pos.line != b.pos.line) return a.pos.line < b.pos.line;
    return a.pos.column < b.pos.column;
  });
  return items;
}

}  // namespace drctl
