#pragma once
// A cancellation flag that sleeping code can wait on, so an interrupt or a deadline wakes
// a retry delay or a poll loop at once instead of after it.
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>

namespace drctl {

// Two levels: a stop request (no new entry or attempt starts; the running one may finish) and
// a cancel (the running one is stopped too). A cancel is also a stop.
class CancelToken {
 public:
  void cancel();
  void request_stop();
  bool cancelled() const { return m_cancelled.load(); }
  bool stop_requested() const { return m_stopping.load() || m_cancelled.load(); }
  // Sleeps until `until` or until cancelled; returns false when cancelled.
  bool sleep_until(std::chrono::steady_clock::time_point until) const;

 private:
  std::atomic<bool> m_cancelled{false};
  std::atomic<bool> m_stopping{false};
  mutable std::mutex m_mutex;
  mutable std::condition_variable m_wake;
};

}  // namespace drctl
