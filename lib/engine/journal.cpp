#include "engine/journal.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "report/json_report.hpp"
#include "util/clock.hpp"

namespace drctl {

std::string default_state_dir() {
  if (const char* xdg = std::getenv("XDG_STATE_HOME"); xdg != nullptr && *xdg != '\0') return std::string(xdg) + "/drctl";
  const char* home = std::getenv("HOME");
  return std::string(home != nullptr ? home : "/tmp") + "/.local/state/drctl";
}

tl::expected<std::string, std::string> prepare_journal_dir(const std::string& state_dir) {
  std::string runs = state_dir + "/runs";
  std::error_code error;
  std::filesystem::create_directories(runs, error);
  if (error) return tl::unexpected(fmt::format("state dir {}: {}", runs, error.message()));
  ::chmod(state_dir.c_str(), 0700);
  ::chmod(runs.c_str(), 0700);
  if (::access(runs.c_str(), W_OK) != 0) return tl::unexpected(fmt::format("state dir {}: {}", runs, std::strerror(errno)));
  return runs;
}

JournalReporter::~JournalReporter() {
  if (m_fd >= 0) ::close(m_fd);
}

void JournalReporter::append(const nlohmann::json& line) {
  if (m_fd < 0) return;
  std::string text = line.dump() + "\n";
  const char* data = text.data();
  std::size_t left = text.size();
  while (left > 0) {
    ssize_t n = ::write(m_fd, data, left);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      m_error = fmt::format("journal {}: {}", m_path, std::strerror(errno));
      return;
    }
    data += n;
    left -= static_cast<std::size_t>(n);
  }
  if (::fdatasync(m_fd) != 0) m_error = fmt::format("journal {}: fsync: {}", m_path, std::strerror(errno));
}

void JournalReporter::run_started(const RunReport& header) {
  m_path = fmt::format("{}/{}.jsonl", m_dir, header.run_id);
  m_fd = ::open(m_path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_APPEND | O_CLOEXEC, 0600);
  if (m_fd < 0) {
    m_error = fmt::format("journal {}: {}", m_path, std::strerror(errno));
    return;
  }
  char host[256] = {};
  ::gethostname(host, sizeof host - 1);
  const char* user = std::getenv("USER");
  append({{"type", "run_started"}, {"run_id", header.run_id}, {"mode", mode_name(header.mode)},
          {"playbook", {{"name", header.playbook_name}, {"path", header.playbook_path}, {"hash", header.playbook_hash}}},
          {"started_at", rfc3339_utc(header.started.wall)}, {"host", host}, {"user", user ? user : "?"}, {"pid", ::getpid()}});
}

void JournalReporter::entry_started(const EntryRecord& record) {
  append({{"type", "entry_started"}, {"phase", phase_name(record.phase)}, {"name", record.name}, {"kind", record.kind},
          {"started_at", rfc3339_utc(record.started.wall)}});
}

void JournalReporter::entry_finished(const EntryRecord& record) {
  nlohmann::json line = record_to_json(record);
  line["type"] = "entry_finished";
  append(line);
}

void JournalReporter::run_finished(const RunReport& report) {
  append({{"type", "run_finished"}, {"report", report_to_json(report)}});
}

std::vector<JournalEntry> list_journals(const std::string& state_dir) {
  std::vector<JournalEntry> out;
  std::error_code error;
  for (const auto& file : std::filesystem::directory_iterator(state_dir + "/runs", error)) {
    if (file.path().extension() != ".jsonl") continue;
    JournalEntry entry;
    entry.path = file.path().string();
    entry.run_id = file.path().stem().string();
    std::ifstream in(file.path());
    std::string line;
    while (std::getline(in, line)) {
      auto j = nlohmann::json::parse(line, nullptr, false);
      if (!j.is_object()) continue;  // a torn last line
      if (j.value("type", "") == "run_started") {
        entry.playbook = j["playbook"].value("name", "");
        entry.started_at = j.value("started_at", "");
      } else if (j.value("type", "") == "run_finished") {
        entry.result = j["report"].value("result", "");
        entry.exit_code = j["report"].value("exit_code", -1);
      }
    }
    out.push_back(entry);
  }
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.started_at > b.started_at; });
  return out;
}

tl::expected<std::vector<nlohmann::json>, std::string> read_journal(const std::string& state_dir, const std::string& run_id) {
  if (run_id.find('/') != std::string::npos) return tl::unexpected(fmt::format("not a run id: {}", run_id));
  std::string path = fmt::format("{}/runs/{}.jsonl", state_dir, run_id);
  std::ifstream in(path);
  if (!in) return tl::unexpected(fmt::format("no run {} in {}/runs", run_id, state_dir));
  std::vector<nlohmann::json> lines;
  std::string line;
  while (std::getline(in, line)) {
    auto j = nlohmann::json::parse(line, nullptr, false);
    if (j.is_object()) lines.push_back(std::move(j));
  }
  return lines;
}

}  // namespace drctl
