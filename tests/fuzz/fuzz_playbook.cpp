// libFuzzer target: the playbook parser (YAML -> validated Playbook with diagnostics).
// Whatever the bytes, parsing must return (no crash, no exception, no sanitizer report), and
// the result must be coherent: a playbook exactly when there is no error, and every
// diagnostic placed inside the text.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "playbook/loader.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  drctl::LoadOptions options;
  drctl::LoadResult result = drctl::parse_playbook(text, "fuzz.yaml", options);
  bool has_error = false;
  // Lines as YAML counts them: LF, CR LF, a lone CR, and NEL, LS, PS (UTF-8) each end one.
  std::size_t lines = 1;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\n' || (text[i] == '\r' && (i + 1 == text.size() || text[i + 1] != '\n')))
      ++lines;
    if (text.compare(i, 2, "\xC2\x85") == 0 || text.compare(i, 3, "\xE2\x80\xA8") == 0 ||
        text.compare(i, 3, "\xE2\x80\xA9") == 0)
      ++lines;
  }
  for (const auto& d : result.diagnostics) {
    if (d.severity == drctl::Diagnostic::Severity::error) has_error = true;
    if (d.pos.line < 0 || static_cast<std::size_t>(d.pos.line) > lines + 1)
      std::abort();  // placed outside the text
    (void)d.to_string();
  }
  if (result.playbook.has_value() == has_error) std::abort();
  return 0;
}
