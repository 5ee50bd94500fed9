#pragma once
// SIGINT/SIGTERM while a run is in flight: the first one stops the run (no new entry starts;
// the running one has `grace` to finish, then is stopped, its child processes killed); a
// second one stops the running entry at once. Either way the run ends normally: journaled,
// the lock released, exit 130. A third one exits at once.
#include <atomic>
#include <thread>

#include "core/cancel.hpp"
#include "util/duration.hpp"

namespace drctl::cli {

class SignalWatch {
 public:
  SignalWatch(CancelToken& cancel, Millis grace);
  ~SignalWatch();

 private:
  CancelToken& m_cancel;
  std::atomic<bool> m_stop{false};
  std::thread m_thread;
  std::thread m_grace_timer;
  CancelToken m_timer_stop;  // wakes the grace timer when the run ends first
};

}  // namespace drctl::cli
