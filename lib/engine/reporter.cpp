#include "engine/reporter.hpp"

namespace drctl {

void ReporterList::run_started(const RunReport& header) {
  for (auto& r : m_reporters) r->run_started(header);
}
void ReporterList::entry_started(const EntryRecord& record) {
  for (auto& r : m_reporters) r->entry_started(record);
}
void ReporterList::entry_finished(const EntryRecord& record) {
  for (auto& r : m_reporters) r->entry_finished(record);
}
bool ReporterList::entry_checkpoint(const EntryRecord& record) {
  bool recorded = true;
  for (auto& r : m_reporters) recorded = r->entry_checkpoint(record) && recorded;
  return recorded;
}
void ReporterList::entry_process(const EntryRecord& record, long long pgid) {
  for (auto& r : m_reporters) r->entry_process(record, pgid);
}
void ReporterList::entry_waiting(const EntryRecord& record, const std::string& message) {
  for (auto& r : m_reporters) r->entry_waiting(record, message);
}
std::string ReporterList::failure() const {
  for (const auto& r : m_reporters) {
    if (auto why = r->failure(); !why.empty()) return why;
  }
  return "";
}
void ReporterList::run_ending(const RunReport& report) {
  for (auto& r : m_reporters) r->run_ending(report);
}
void ReporterList::run_finished(const RunReport& report) {
  for (auto& r : m_reporters) r->run_finished(report);
}
void ReporterList::notice(const std::string& text) {
  for (auto& r : m_reporters) r->notice(text);
}

}  // namespace drctl
