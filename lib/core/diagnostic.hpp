#pragma once
// Playbook problems, each pinned to file:line:col and a path like steps[2].exec.argv.
#include <string>
#include <vector>

namespace drctl {

struct SourcePos {
  int line = 0;    // 1-based; 0 when unknown
  int column = 0;  // 1-based
};

struct Diagnostic {
  enum class Severity { error, warning };
  Severity severity = Severity::error;
  std::string file;
  SourcePos pos;
  std::string path;  // "steps[2].exec.argv"; empty for the whole document
  std::string message;

  // "file.yaml:4:7: steps[0].exec.argv: expected a list of strings, got a map"
  std::string to_string() const;
};

class Diagnostics {
 public:
  explicit Diagnostics(std::string file) : m_file(std::move(file)) {}

  void error(SourcePos pos, std::string path, std::string message);
  void warning(SourcePos pos, std::string path, std::string message);

  bool has_errors() const;
  std::size_t error_count() const;
  // Errors and warnings ordered by position, the order a reader fixes them in.
  std::vector<Diagnostic> sorted() const;
  const std::string& file() const { return m_file; }

 private:
  std::string m_file;
  std::vector<Diagnostic> m_items;
};

}  // namespace drctl
