#include "etcd/continuity.hpp"

#include <algorithm>

namespace drctl {
namespace {
constexpr std::size_t k_keys_reported = 20;
}

void ContinuityTracker::note_problem(const std::string& key) {
  if (m_problem_keys.size() < k_keys_reported) m_problem_keys.push_back(key);
}

void ContinuityTracker::note_lost(const std::string& key) {
  if (m_lost_keys.size() < k_keys_reported)
    m_lost_keys.push_back(key);
  else
    ++m_lost_beyond;
}

void ContinuityTracker::observe(const EtcdEvent& event) {
  const std::int64_t revision = event.kv.mod_revision;
  Seen& seen = m_last_seen[event.kv.key];
  ++m_events;
  if (seen.mod_revision == revision) {
    ++m_duplicates;
    note_problem(event.kv.key);
  } else if (revision < m_last_revision || revision < seen.mod_revision || revision < m_start) {
    ++m_out_of_order;
    note_problem(event.kv.key);
  }
  seen.mod_revision = std::max(seen.mod_revision, revision);
  seen.deleted = event.is_delete;
  m_last_revision = std::max(m_last_revision, revision);
}

void ContinuityTracker::expect(const EtcdKeyValue& kv) {
  auto it = m_last_seen.find(kv.key);
  if (it != m_last_seen.end()) it->second.confirmed = true;
  if (kv.mod_revision < m_start) return;  // unchanged since before the watch began
  if (it == m_last_seen.end() || it->second.mod_revision != kv.mod_revision || it->second.deleted)
    note_lost(kv.key);
}

void ContinuityTracker::finish(std::int64_t at) {
  // A key last seen alive but absent from the read was deleted without the watch telling.
  for (const auto& [key, seen] : m_last_seen) {
    if (!seen.deleted && !seen.confirmed && seen.mod_revision <= at) note_lost(key);
  }
}

}  // namespace drctl
