#include "engine/etcd_journal.hpp"

#include <fmt/format.h>

#include <chrono>
#include <mutex>

#include "clients/etcd_connection.hpp"
#include "etcd/prefix_cursor.hpp"
#include "util/json_fields.hpp"
#include "util/secrets.hpp"

namespace drctl {
namespace {

constexpr std::chrono::milliseconds k_call_limit{5'000};

Deadline deadline_from_now() {
  return std::chrono::steady_clock::now() + k_call_limit;
}

tl::expected<std::unique_ptr<EtcdSession>, std::string> connect(const LockSpec& lock) {
  auto session = etcd_connect(Spec(lock.etcd), deadline_from_now(), "journal");
  if (!session) return tl::unexpected(redact(session.error().message));
  return std::move(*session);
}

std::string journals_prefix(const LockSpec& lock) {
  return lock.key + "/journal/";
}

// Lines are buffered as they come and committed together, several keys in one transaction.
class EtcdJournalSink : public JournalSink {
 public:
  explicit EtcdJournalSink(LockSpec lock) : m_lock(std::move(lock)) {}

  bool remote() const override { return true; }

  tl::expected<void, std::string> open(const std::string& run_id) override {
    m_prefix = etcd_journal_prefix(m_lock, run_id);
    auto session = connect(m_lock);
    if (!session) return tl::unexpected(session.error());
    m_session = std::move(*session);
    return {};
  }

  tl::expected<void, std::string> write(const std::string& line) override {
    std::lock_guard lock(m_mutex);
    m_buffer.push_back(line);
    return {};
  }

  tl::expected<void, std::string> sync() override {
    std::vector<std::string> lines;
    {
      std::lock_guard lock(m_mutex);
      lines.swap(m_buffer);
    }
    std::vector<std::pair<std::string, std::string>> batch;
    std::size_t bytes = 0;
    auto commit = [&]() -> tl::expected<void, std::string> {
      if (batch.empty()) return {};
      auto put = m_session->put_all(batch, deadline_from_now());
      if (!put)
        return tl::unexpected(fmt::format("etcd journal {}..{}: {}", batch.front().first,
                                          batch.back().first.substr(m_prefix.size()),
                                          put.error().to_string()));
      batch.clear();
      bytes = 0;
      return {};
    };
    for (auto& line : lines) {
      if (line.size() > k_max_bytes) {
        // Too large for one request (a final report of many steps' outputs): its parts, each
        // in a transaction of its own, <line>.<part>; read_etcd_journal joins them.
        if (auto committed = commit(); !committed) return committed;
        const int number = m_next++;
        for (std::size_t at = 0, part = 0; at < line.size(); at += k_max_bytes, ++part) {
          batch.emplace_back(fmt::format("{}{:06}.{:04}", m_prefix, number, part),
                             line.substr(at, k_max_bytes));
          if (auto committed = commit(); !committed) return committed;
        }
        continue;
      }
      if (batch.size() == k_max_ops || (bytes > 0 && bytes + line.size() > k_max_bytes)) {
        if (auto committed = commit(); !committed) return committed;
      }
      bytes += line.size();
      batch.emplace_back(fmt::format("{}{:06}", m_prefix, m_next++), std::move(line));
    }
    return commit();
  }

 private:
  // Under etcd's defaults: --max-txn-ops 128, --max-request-bytes 1.5 MiB.
  static constexpr std::size_t k_max_ops = 64;
  static constexpr std::size_t k_max_bytes = 1024 * 1024;

  LockSpec m_lock;
  std::string m_prefix;
  std::unique_ptr<EtcdSession> m_session;
  int m_next = 0;  // used by sync() only, on the writer's thread
  std::mutex m_mutex;
  std::vector<std::string> m_buffer;
};

// Lines from one run's keys, in key order: a line written in parts (<line>.<part>) is joined;
// one whose parts are not all there (a crash between them) does not parse and is left out, as
// a torn last line of the file is.
class LineJoiner {
 public:
  void add(std::string_view key_tail, std::string value) {
    std::string_view line = key_tail.substr(0, key_tail.find('.'));
    bool part = line.size() != key_tail.size();
    if (!part || line != m_line) flush();
    m_line = part ? std::string(line) : "";
    m_text += value;
    if (!part) flush();
  }
  std::vector<nlohmann::json> finish() {
    flush();
    return std::move(m_lines);
  }

 private:
  void flush() {
    if (!m_text.empty()) {
      auto parsed = nlohmann::json::parse(m_text, nullptr, false);
      if (parsed.is_object()) m_lines.push_back(std::move(parsed));
    }
    m_text.clear();
    m_line.clear();
  }
  std::string m_line, m_text;
  std::vector<nlohmann::json> m_lines;
};

}  // namespace

std::string etcd_journal_prefix(const LockSpec& lock, const std::string& run_id) {
  return journals_prefix(lock) + run_id + "/";
}

std::unique_ptr<JournalSink> etcd_journal_sink(const LockSpec& lock) {
  return std::make_unique<EtcdJournalSink>(lock);
}

namespace {

// Every key under `prefix`, in order, given to `visit(key after the prefix, value)`; each page
// within `deadline`, or within its own call limit when there is none.
template <class Visit>
tl::expected<void, std::string> walk(EtcdSession& session, const std::string& prefix,
                                     std::optional<Deadline> deadline, Visit&& visit) {
  PrefixCursor cursor(session, prefix, 0);
  while (true) {
    auto kv = cursor.next(deadline.value_or(deadline_from_now()));
    if (!kv)
      return tl::unexpected(fmt::format("etcd journal {}: {}", prefix, kv.error().to_string()));
    if (!*kv) return {};
    visit(std::string_view((*kv)->key).substr(prefix.size()), std::move((*kv)->value));
  }
}

template <class Visit>
tl::expected<void, std::string> walk(const LockSpec& lock, const std::string& prefix,
                                     Visit&& visit) {
  auto session = connect(lock);
  if (!session) return tl::unexpected(session.error());
  return walk(**session, prefix, std::nullopt, std::forward<Visit>(visit));
}

tl::expected<std::vector<nlohmann::json>, std::string> read_run_lines(
    EtcdSession& session, const LockSpec& lock, const std::string& run_id,
    std::optional<Deadline> deadline) {
  if (run_id.find('/') != std::string::npos)
    return tl::unexpected(fmt::format("not a run id: {}", run_id));
  const std::string prefix = etcd_journal_prefix(lock, run_id);
  LineJoiner joiner;
  auto walked = walk(session, prefix, deadline, [&](std::string_view line, std::string value) {
    joiner.add(line, std::move(value));
  });
  if (!walked) return tl::unexpected(walked.error());
  auto lines = joiner.finish();
  if (lines.empty())
    return tl::unexpected(
        fmt::format("no run {} in the etcd journal under {}", run_id, journals_prefix(lock)));
  return lines;
}

}  // namespace

tl::expected<std::vector<nlohmann::json>, std::string> read_etcd_journal(
    const LockSpec& lock, const std::string& run_id) {
  auto session = connect(lock);
  if (!session) return tl::unexpected(session.error());
  return read_run_lines(**session, lock, run_id, std::nullopt);
}

tl::expected<std::vector<nlohmann::json>, std::string> read_etcd_journal(EtcdSession& session,
                                                                         const LockSpec& lock,
                                                                         const std::string& run_id,
                                                                         Deadline deadline) {
  return read_run_lines(session, lock, run_id, deadline);
}

tl::expected<std::vector<ChainLink>, std::string> list_etcd_journal_links(const LockSpec& lock) {
  // Each run's first line (its run_started), joined if it was written in parts.
  std::vector<ChainLink> links;
  std::string run;
  LineJoiner first;
  auto take = [&] {
    for (const auto& line : first.finish()) {
      auto link = chain_link(line);
      if (!link.run_id.empty()) links.push_back(std::move(link));
    }
    first = LineJoiner();
  };
  auto walked = walk(lock, journals_prefix(lock), [&](std::string_view tail, std::string value) {
    std::string_view this_run = tail.substr(0, tail.find('/'));
    if (this_run != run) {
      take();
      run = std::string(this_run);
    }
    std::string_view line = tail.substr(std::min(tail.size(), this_run.size() + 1));
    if (line.substr(0, line.find('.')) == "000000") first.add(line, std::move(value));
  });
  if (!walked) return tl::unexpected(walked.error());
  take();
  return links;
}

tl::expected<std::vector<JournalEntry>, std::string> list_etcd_journal_runs(const LockSpec& lock) {
  std::vector<JournalEntry> runs;
  std::string run, line_number;
  LineJoiner first, last;  // the run's first line, and the line being read (its last, at the end)
  auto take = [&] {
    if (run.empty()) return;
    JournalEntry entry;
    entry.run_id = run;
    entry.path = etcd_journal_prefix(lock, run);
    for (const auto& line : first.finish()) {
      entry.link = chain_link(line);
      entry.playbook = json_text(json_member(line, "playbook"), "name");
      entry.started_at = json_text(line, "started_at");
    }
    for (const auto& line : last.finish()) {
      if (json_text(line, "type") != "run_finished") continue;
      entry.result = json_text(json_member(line, "report"), "result");
      entry.exit_code = static_cast<int>(json_int(json_member(line, "report"), "exit_code", -1));
    }
    runs.push_back(std::move(entry));
    first = LineJoiner();
    last = LineJoiner();
  };
  auto walked = walk(lock, journals_prefix(lock), [&](std::string_view tail, std::string value) {
    std::string_view this_run = tail.substr(0, tail.find('/'));
    if (this_run != run) {
      take();
      run = std::string(this_run);
      line_number.clear();
    }
    std::string_view line = tail.substr(std::min(tail.size(), this_run.size() + 1));
    std::string_view number = line.substr(0, line.find('.'));
    if (number == "000000") first.add(line, value);
    if (number != line_number) {
      last = LineJoiner();
      line_number = std::string(number);
    }
    last.add(line, std::move(value));
  });
  if (!walked) return tl::unexpected(walked.error());
  take();
  return runs;
}

tl::expected<std::vector<std::string>, std::string> list_etcd_journals(const LockSpec& lock) {
  std::vector<std::string> runs;
  auto walked = walk(lock, journals_prefix(lock), [&](std::string_view tail, std::string) {
    std::string_view run = tail.substr(0, tail.find('/'));
    if (runs.empty() || runs.back() != run) runs.emplace_back(run);
  });
  if (!walked) return tl::unexpected(walked.error());
  return runs;
}

}  // namespace drctl
