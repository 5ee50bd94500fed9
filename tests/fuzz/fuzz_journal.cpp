// libFuzzer target: the journal reader (JSON lines -> what is done, and the rebuilt report),
// as `drctl show`, `run --resume` and `rollback` read a journal that may be torn, corrupted
// or written by another version. It must return for any input: no crash, no exception.
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "engine/journal_state.hpp"
#include "report/journal_report.hpp"
#include "report/junit_report.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  std::vector<nlohmann::json> lines;
  std::size_t start = 0;
  while (start <= text.size()) {
    std::size_t end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    auto line = nlohmann::json::parse(text.substr(start, end - start), nullptr, false);
    if (line.is_object()) lines.push_back(std::move(line));  // as read_journal keeps them
    start = end + 1;
  }
  auto state = drctl::journal_state(lines);
  if (state) {
    for (const auto& step : state->done) (void)step.undo.dump();
  }
  (void)drctl::report_to_junit(drctl::journal_report(lines));
  return 0;
}
