#pragma once
// A cancellation flag that sleeping code can wait on, so an interrupt or a deadline wakes
// a retry delay or a poll loop at once instead of after it.
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>

namespace drctl {

class CancelToken {
 public:
  void cancel();
  bool cancelled() const { return m_cancelled.load(); }
  // Sleeps until `until` or until cancelled; returns false when cancelled.
  bool sleep_until(std::chrono::steady_clock::time_point until) const;

 private:
  std::atomic<bool> m_cancelled{false};
  mutable std::mutex m_mutex;
  mutable std::condition_variable m_wake;
};

}  // namespace drctl
