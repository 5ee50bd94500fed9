#include "signals.hpp"

#include <signal.h>
#include <unistd.h>

#include <cstdio>

namespace drctl::cli {
namespace {

// SIGUSR2 is how the destructor wakes the watcher at once (a polling tick cost every run up
// to 100 ms at exit).
constexpr int k_wake_signal = SIGUSR2;

// SIGHUP (a dropped SSH session) is an interrupt like SIGINT and SIGTERM: grace, journal, lock
// released, the step's group stopped. Unless drctl was started to ignore it (`nohup`): a
// blocked signal is queued even when ignored, so that choice is read once, before blocking.
bool hangup_ignored() {
  static const bool ignored = [] {
    struct sigaction current {};
    return sigaction(SIGHUP, nullptr, &current) == 0 && current.sa_handler == SIG_IGN;
  }();
  return ignored;
}

sigset_t watched_signals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  if (!hangup_ignored()) sigaddset(&set, SIGHUP);
  sigaddset(&set, k_wake_signal);
  return set;
}

}  // namespace

SignalWatch::SignalWatch(CancelToken& cancel, Millis grace) : m_cancel(cancel) {
  // Blocked here, before any worker thread exists, so only the watcher receives them.
  sigset_t set = watched_signals();
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  m_thread = std::thread([this, grace] {
    sigset_t wait_set = watched_signals();
    int received = 0;
    while (!m_stop.load()) {
      int sig = sigwaitinfo(&wait_set, nullptr);
      if (sig <= 0 || sig == k_wake_signal) continue;
      ++received;
      if (received == 1) {
        std::fprintf(
            stderr,
            "\ndrctl: interrupted: no new step will start; the running one has %s to finish "
            "(interrupt again to stop it now)\n",
            format_duration(grace).c_str());
        m_cancel.request_stop();
        m_grace_timer = std::thread([this, grace] {
          if (m_timer_stop.sleep_until(std::chrono::steady_clock::now() + grace)) {
            std::fputs("drctl: grace period over: stopping the running step\n", stderr);
            m_cancel.cancel();
          }
        });
      } else if (received == 2) {
        std::fputs("drctl: interrupted again: stopping the running step now\n", stderr);
        m_cancel.cancel();
      } else {
        std::fputs("drctl: interrupted three times: exiting now\n", stderr);
        _exit(130);
      }
    }
  });
}

SignalWatch::~SignalWatch() {
  m_timer_stop.cancel();
  m_stop = true;
  pthread_kill(m_thread.native_handle(), k_wake_signal);
  m_thread.join();
  if (m_grace_timer.joinable()) m_grace_timer.join();
  sigset_t set = watched_signals();
  pthread_sigmask(SIG_UNBLOCK, &set, nullptr);
}

}  // namespace drctl::cli
