#pragma once
// An in-process kind for engine tests: it sleeps, succeeds or fails as its spec says, and
// records every start, end and undo in a shared log with monotonic timestamps.
#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "kinds/registry.hpp"
#include "playbook/loader.hpp"

namespace drctl::testing {

struct LogEvent {
  std::string what;  // "start", "end", "undo"
  std::string name;  // the fake's `id`
  std::chrono::steady_clock::time_point at;
};

class EventLog {
 public:
  void add(std::string what, std::string name);
  std::vector<LogEvent> events() const;
  std::vector<std::string> names_of(const std::string& what) const;
  std::chrono::steady_clock::time_point at(const std::string& what, const std::string& name) const;
  void clear();

 private:
  mutable std::mutex m_mutex;
  std::vector<LogEvent> m_events;
};

EventLog& event_log();

// A registry with `fake` plus the built-in exec and http.
const KindRegistry& test_kinds();

// Parses YAML text with the test registry; fails the test (with the diagnostics) if invalid.
Playbook parse_for_test(const std::string& yaml);

}  // namespace drctl::testing
