#include "engine/etcd_journal.hpp"

#include <fmt/format.h>

#include <chrono>
#include <mutex>

#include "clients/etcd_connection.hpp"
#include "etcd/prefix_cursor.hpp"
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

}  // namespace

std::string etcd_journal_prefix(const LockSpec& lock, const std::string& run_id) {
  return journals_prefix(lock) + run_id + "/";
}

std::unique_ptr<JournalSink> etcd_journal_sink(const LockSpec& lock) {
  return std::make_unique<EtcdJournalSink>(lock);
}

tl::expected<std::vector<nlohmann::json>, std::string> read_etcd_journal(
    const LockSpec& lock, const std::string& run_id) {
  if (run_id.find('/') != std::string::npos)
    return tl::unexpected(fmt::format("not a run id: {}", run_id));
  auto session = connect(lock);
  if (!session) return tl::unexpected(session.error());
  std::string prefix = etcd_journal_prefix(lock, run_id);
  PrefixCursor cursor(**session, prefix, 0);
  std::vector<nlohmann::json> lines;
  while (true) {
    auto kv = cursor.next(deadline_from_now());
    if (!kv)
      return tl::unexpected(fmt::format("etcd journal {}: {}", prefix, kv.error().to_string()));
    if (!*kv) break;
    auto line = nlohmann::json::parse((*kv)->value, nullptr, false);
    if (line.is_object()) lines.push_back(std::move(line));
  }
  if (lines.empty())
    return tl::unexpected(
        fmt::format("no run {} in the etcd journal under {}", run_id, journals_prefix(lock)));
  return lines;
}

tl::expected<std::vector<ChainLink>, std::string> list_etcd_journal_links(const LockSpec& lock) {
  auto session = connect(lock);
  if (!session) return tl::unexpected(session.error());
  const std::string prefix = journals_prefix(lock);
  const std::string first_line = fmt::format("/{:06}", 0);
  std::vector<ChainLink> links;
  PrefixCursor cursor(**session, prefix, 0);
  while (true) {
    auto kv = cursor.next(deadline_from_now());
    if (!kv)
      return tl::unexpected(fmt::format("etcd journal {}: {}", prefix, kv.error().to_string()));
    if (!*kv) break;
    const std::string& key = (*kv)->key;
    if (key.size() < first_line.size() ||
        key.compare(key.size() - first_line.size(), first_line.size(), first_line) != 0)
      continue;
    auto link = chain_link(nlohmann::json::parse((*kv)->value, nullptr, false));
    if (!link.run_id.empty()) links.push_back(std::move(link));
  }
  return links;
}

tl::expected<std::vector<std::string>, std::string> list_etcd_journals(const LockSpec& lock) {
  auto session = connect(lock);
  if (!session) return tl::unexpected(session.error());
  const std::string prefix = journals_prefix(lock);
  std::vector<std::string> runs;
  PrefixCursor cursor(**session, prefix, 0);
  while (true) {
    auto kv = cursor.next(deadline_from_now());
    if (!kv)
      return tl::unexpected(fmt::format("etcd journal {}: {}", prefix, kv.error().to_string()));
    if (!*kv) break;
    std::string rest = (*kv)->key.substr(prefix.size());
    std::string run = rest.substr(0, rest.find('/'));
    if (runs.empty() || runs.back() != run) runs.push_back(run);
  }
  return runs;
}

}  // namespace drctl
