#include "core/cancel.hpp"

namespace drctl {

void CancelToken::cancel() {
  {
    std::lock_guard lock(m_mutex);
    m_cancelled = true;
  }
  m_wake.notify_all();
}

void CancelToken::request_stop() {
  {
    std::lock_guard lock(m_mutex);
    m_stopping = true;
  }
  m_wake.notify_all();
}

bool CancelToken::sleep_until(std::chrono::steady_clock::time_point until) const {
  std::unique_lock lock(m_mutex);
  m_wake.wait_until(lock, until, [this] { return m_cancelled.load() || m_stopping.load(); });
  return !m_cancelled.load() && !m_stopping.load();
}

}  // namespace drctl
