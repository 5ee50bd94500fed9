#pragma once
// SIGINT/SIGTERM while a run is in flight: the first one cancels the run (no new entry
// starts, the running one is stopped), a second one exits at once with 130.
#include <atomic>
#include <thread>

#include "engine/cancel.hpp"

namespace drctl::cli {

class SignalWatch {
 public:
  explicit SignalWatch(CancelToken& cancel);
  ~SignalWatch();

 private:
  CancelToken& m_cancel;
  std::atomic<bool> m_stop{false};
  std::thread m_thread;
};

}  // namespace drctl::cli
