#include "engine/journal.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>

#include "engine/record_json.hpp"
#include "util/clock.hpp"
#include "util/json_dump.hpp"
#include "util/json_fields.hpp"
#include "util/safe_files.hpp"

namespace drctl {

std::string default_state_dir() {
  if (const char* xdg = std::getenv("XDG_STATE_HOME"); xdg != nullptr && *xdg != '\0')
    return std::string(xdg) + "/drctl";
  const char* home = std::getenv("HOME");
  return std::string(home != nullptr ? home : "/tmp") + "/.local/state/drctl";
}

tl::expected<std::string, std::string> prepare_journal_dir(const std::string& state_dir) {
  // The state dir itself, then runs/: each created 0700 if missing (so is what is missing
  // above it), never chmodded when it exists, refused when anyone else could change it.
  std::string runs = state_dir + "/runs";
  for (const std::string& dir : {state_dir, runs}) {
    auto opened = open_dir_checked(dir, DirTrust::private_to_user, 0700);
    if (!opened && opened.error().unsafe)
      return tl::unexpected(fmt::format(
          "state dir {}: {}: drctl keeps its journals only where nobody but you (or root) "
          "can write",
          state_dir, opened.error().message));
    if (!opened)
      return tl::unexpected(fmt::format("state dir {}: {}", runs, opened.error().message));
  }
  if (::access(runs.c_str(), W_OK) != 0)
    return tl::unexpected(fmt::format("state dir {}: {}", runs, std::strerror(errno)));
  return runs;
}

namespace {

// The runs dir of `state_dir`, if it is to be trusted (private_to_user), for reading.
tl::expected<UniqueFd, PathError> trusted_runs_dir(const std::string& state_dir) {
  auto runs = open_dir_checked(state_dir + "/runs", DirTrust::private_to_user);
  if (!runs && runs.error().unsafe)
    runs.error().message = fmt::format("state dir {}: {}: its journals are not trusted", state_dir,
                                       runs.error().message);
  return runs;
}

// One journal's text, read through `runs` (the trusted runs dir) without following a symlink;
// refused unless the file is to be trusted (untrusted_file).
tl::expected<std::string, PathError> read_trusted_journal(int runs, const std::string& name,
                                                          const std::string& shown) {
  UniqueFd fd(::openat(runs, name.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC));
  if (!fd && errno == ELOOP)
    return tl::unexpected(
        PathError{fmt::format("journal {} is a symlink: not trusted", shown), true, 0});
  if (!fd)
    return tl::unexpected(
        PathError{fmt::format("{}: {}", shown, std::strerror(errno)), false, errno});
  if (auto problem = untrusted_file(fd.get(), shown)) {
    if (problem->unsafe) problem->message = "journal " + problem->message + ": not trusted";
    return tl::unexpected(*problem);
  }
  std::string text;
  char buffer[65536];
  while (true) {
    ssize_t n = ::read(fd.get(), buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0)
      return tl::unexpected(
          PathError{fmt::format("{}: {}", shown, std::strerror(errno)), false, errno});
    if (n == 0) break;
    text.append(buffer, static_cast<std::size_t>(n));
  }
  return text;
}

// The JSON objects of a journal's lines (a torn last line is left out).
std::vector<nlohmann::json> journal_lines(const std::string& text) {
  std::vector<nlohmann::json> lines;
  std::size_t start = 0;
  while (start < text.size()) {
    auto end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    auto j = nlohmann::json::parse(text.begin() + static_cast<std::ptrdiff_t>(start),
                                   text.begin() + static_cast<std::ptrdiff_t>(end), nullptr, false);
    if (j.is_object()) lines.push_back(std::move(j));
    start = end + 1;
  }
  return lines;
}

class FileJournalSink : public JournalSink {
 public:
  explicit FileJournalSink(std::string dir) : m_dir(std::move(dir)) {}
  ~FileJournalSink() override {
    if (m_fd >= 0) ::close(m_fd);
  }

  tl::expected<void, std::string> open(const std::string& run_id) override {
    m_path = fmt::format("{}/{}.jsonl", m_dir, run_id);
    m_fd = ::open(m_path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_APPEND | O_CLOEXEC,
                  0600);
    if (m_fd < 0 || ::fchmod(m_fd, 0600) != 0)  // 0600 whatever the umask
      return tl::unexpected(fmt::format("journal {}: {}", m_path, std::strerror(errno)));
    // Held for the run's life (the kernel drops it when the process dies, however it dies):
    // recovery refuses a run whose journal is still locked (journal_in_use).
    if (::flock(m_fd, LOCK_EX | LOCK_NB) != 0)
      return tl::unexpected(fmt::format("journal {}: lock: {}", m_path, std::strerror(errno)));
    return {};
  }

  tl::expected<void, std::string> write(const std::string& text) override {
    const char* data = text.data();
    std::size_t left = text.size();
    while (left > 0) {
      ssize_t n = ::write(m_fd, data, left);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return tl::unexpected(fmt::format("journal {}: {}", m_path, std::strerror(errno)));
      data += n;
      left -= static_cast<std::size_t>(n);
    }
    return {};
  }

  tl::expected<void, std::string> sync() override {
    if (::fdatasync(m_fd) != 0)
      return tl::unexpected(fmt::format("journal {}: fsync: {}", m_path, std::strerror(errno)));
    if (!m_entry_synced) {
      // The new file's name lives in the directory: without this, a power loss could keep the
      // file's lines but lose the file.
      // (EINVAL: this filesystem cannot sync a directory, so there is nothing more to do.)
      int dir = ::open(m_dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
      if (dir < 0 || (::fsync(dir) != 0 && errno != EINVAL)) {
        int error = errno;
        if (dir >= 0) ::close(dir);
        return tl::unexpected(
            fmt::format("journal {}: fsync of the directory: {}", m_dir, std::strerror(error)));
      }
      ::close(dir);
      m_entry_synced = true;
    }
    return {};
  }

 private:
  std::string m_dir, m_path;
  int m_fd = -1;
  bool m_entry_synced = false;  // the directory holding the new file's name was synced
};

}  // namespace

std::unique_ptr<JournalSink> file_journal_sink(std::string runs_dir) {
  return std::make_unique<FileJournalSink>(std::move(runs_dir));
}

void JournalReporter::append(const nlohmann::json& line, Durability durability) {
  m_writer.append(dump_json(line) + "\n", durability);
}

void JournalReporter::run_started(const RunReport& header) {
  m_writer.open(header.run_id);
  nlohmann::json line = {{"type", "run_started"},
                         {"run_id", header.run_id},
                         {"mode", mode_name(header.mode)},
                         {"playbook",
                          {{"name", header.playbook_name},
                           {"path", header.playbook_path},
                           {"hash", header.playbook_hash},
                           {"source", m_playbook.source},
                           {"vars", m_playbook.var_overrides}}},
                         {"started_at", rfc3339_utc(header.started.wall)},
                         {"host", header.operator_host},
                         {"user", header.operator_user},
                         {"pid", ::getpid()}};
  if (!header.resumed_from.empty()) line["resumed_from"] = header.resumed_from;
  if (!header.rolls_back.empty()) line["rolls_back"] = header.rolls_back;
  append(line,
         Durability::later);  // durable with the first step's start: nothing changes before it
}

// A step or rollback may change things from its start on, so `drctl rollback`, here or on
// another machine, must know it started: its start is durable everywhere before it runs.
// Unless it changes nothing before its undo state, whose wait covers every earlier line: then
// its start (and the previous step's end) only start syncing at once, while the step prepares.
// A crash before that sync ends loses the previous step's end just as it could when the start
// waited: the window is the same sync, and the step changed nothing in it. A check changes
// nothing.
void JournalReporter::entry_started(const EntryRecord& record) {
  Durability durability = record.phase == Phase::check      ? Durability::later
                          : record.changes_after_undo_state ? Durability::soon
                                                            : Durability::everywhere;
  append({{"type", "entry_started"},
          {"phase", phase_name(record.phase)},
          {"name", record.name},
          {"kind", record.kind},
          {"started_at", rfc3339_utc(record.started.wall)}},
         durability);
}

bool JournalReporter::entry_checkpoint(const EntryRecord& record) {
  append({{"type", "entry_undo"},
          {"phase", phase_name(record.phase)},
          {"name", record.name},
          {"undo", record.undo_state}},
         Durability::everywhere);
  return m_writer.failure().empty();
}

void JournalReporter::entry_process(const EntryRecord& record, long long pgid) {
  // In the file at once (append writes before it returns: a drctl killed right after still
  // leaves it); synced with the next wait, so it costs the step no sync of its own.
  append({{"type", "entry_process"},
          {"phase", phase_name(record.phase)},
          {"name", record.name},
          {"pgid", pgid}},
         Durability::later);
}

// Durable everywhere before the wait starts: `drctl approve` on another machine reads the
// etcd copy to know that the run waits at this step.
void JournalReporter::entry_waiting(const EntryRecord& record, const std::string& message) {
  append({{"type", "approval_waiting"},
          {"phase", phase_name(record.phase)},
          {"name", record.name},
          {"message", message},
          {"since", rfc3339_utc(std::chrono::system_clock::now())}},
         Durability::everywhere);
}

void JournalReporter::entry_finished(const EntryRecord& record) {
  nlohmann::json line = record_to_json(record);
  line["type"] = "entry_finished";
  if (record.phase == Phase::step) line["undo"] = record.undo_state;
  if (!record.done_in_run.empty()) line["done_in_run"] = record.done_in_run;
  append(line,
         Durability::later);  // synced with the next step's start, so before it changes anything
}

void JournalReporter::notice(const std::string& text) {
  append(
      {{"type", "notice"}, {"text", text}, {"at", rfc3339_utc(std::chrono::system_clock::now())}},
      Durability::later);
}

void JournalReporter::run_ending(const RunReport& report) {
  append({{"type", "run_finished"}, {"report", report_to_json(report)}}, Durability::everywhere);
}

std::vector<JournalEntry> list_journals(const std::string& state_dir, std::string* refused) {
  std::vector<JournalEntry> out;
  auto runs = trusted_runs_dir(state_dir);
  if (!runs) {
    if (refused != nullptr && runs.error().unsafe) *refused = runs.error().message;
    return out;
  }
  std::error_code error;
  for (const auto& file : std::filesystem::directory_iterator(state_dir + "/runs", error)) {
    if (file.path().extension() != ".jsonl") continue;
    auto text =
        read_trusted_journal(runs->get(), file.path().filename().string(), file.path().string());
    if (!text) {
      // Not listed: a journal someone else could have written is never shown as a run.
      if (refused != nullptr && text.error().unsafe && refused->empty())
        *refused = text.error().message;
      continue;
    }
    JournalEntry entry;
    entry.path = file.path().string();
    entry.run_id = file.path().stem().string();
    for (const auto& j : journal_lines(*text)) {
      if (json_text(j, "type") == "run_started") {
        entry.link = chain_link(j);
        entry.playbook = json_text(json_member(j, "playbook"), "name");
        entry.started_at = json_text(j, "started_at");
      } else if (json_text(j, "type") == "run_finished") {
        entry.result = json_text(json_member(j, "report"), "result");
        entry.exit_code = static_cast<int>(json_int(json_member(j, "report"), "exit_code", -1));
      }
    }
    out.push_back(entry);
  }
  std::sort(out.begin(), out.end(),
            [](const auto& a, const auto& b) { return a.started_at > b.started_at; });
  return out;
}

bool journal_in_use(const std::string& state_dir, const std::string& run_id) {
  if (run_id.find('/') != std::string::npos) return false;
  std::string path = fmt::format("{}/runs/{}.jsonl", state_dir, run_id);
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) return false;
  bool in_use = ::flock(fd, LOCK_SH | LOCK_NB) != 0 && errno == EWOULDBLOCK;
  ::close(fd);
  return in_use;
}

tl::expected<std::vector<nlohmann::json>, std::string> read_journal(const std::string& state_dir,
                                                                    const std::string& run_id) {
  if (run_id.empty() || run_id.find('/') != std::string::npos)
    return tl::unexpected(fmt::format("not a run id: {}", run_id));
  const std::string missing = fmt::format("no run {} in {}/runs", run_id, state_dir);
  auto runs = trusted_runs_dir(state_dir);
  if (!runs) return tl::unexpected(runs.error().unsafe ? runs.error().message : missing);
  std::string name = run_id + ".jsonl";
  auto text = read_trusted_journal(runs->get(), name, fmt::format("{}/runs/{}", state_dir, name));
  if (!text) return tl::unexpected(text.error().unsafe ? text.error().message : missing);
  return journal_lines(*text);
}

}  // namespace drctl
