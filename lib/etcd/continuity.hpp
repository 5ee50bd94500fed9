#pragma once
// The continuity proof of a watch: events arrive in revision order, no (key, mod_revision)
// twice, and at the end nothing is missing against a linearizable read of the prefix.
// Memory is one entry per key of the prefix (the last revision seen), never per event.
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "clients/etcd.hpp"

namespace drctl {

class ContinuityTracker {
 public:
  // Events before `start_revision` are not expected; a baseline (a re-list) may seed keys.
  explicit ContinuityTracker(std::int64_t start_revision) : m_start(start_revision) {}
  void seed(const EtcdKeyValue& kv) { m_last_seen[kv.key] = {kv.mod_revision, false, false}; }

  void observe(const EtcdEvent& event);

  // Compares the final read (every key of the prefix at revision `at`) with what was seen.
  // Only call it once every event up to `at` has been observed (and none after it): call
  // expect() for each key of that read, then finish(at).
  void expect(const EtcdKeyValue& kv);
  void finish(std::int64_t at);

  std::int64_t events() const { return m_events; }
  std::int64_t last_revision() const { return m_last_revision; }
  std::int64_t out_of_order() const { return m_out_of_order; }
  std::int64_t duplicates() const { return m_duplicates; }
  std::int64_t lost() const {
    return static_cast<std::int64_t>(m_lost_keys.size()) + m_lost_beyond;
  }
  // The first few keys behind each count, for the report.
  const std::vector<std::string>& lost_keys() const { return m_lost_keys; }
  const std::vector<std::string>& problem_keys() const { return m_problem_keys; }

 private:
  struct Seen {
    std::int64_t mod_revision = 0;
    bool deleted = false;
    bool confirmed = false;  // found in the final read
  };
  void note_problem(const std::string& key);
  void note_lost(const std::string& key);

  std::int64_t m_start;
  std::map<std::string, Seen> m_last_seen;
  std::int64_t m_events = 0, m_last_revision = 0, m_out_of_order = 0, m_duplicates = 0,
               m_lost_beyond = 0;
  std::vector<std::string> m_lost_keys, m_problem_keys;
};

}  // namespace drctl
