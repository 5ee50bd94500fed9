#include "signals.hpp"

#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <ctime>

namespace drctl::cli {
namespace {

sigset_t watched_signals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  return set;
}

}  // namespace

SignalWatch::SignalWatch(CancelToken& cancel) : m_cancel(cancel) {
  // Blocked here, before any worker thread exists, so only the watcher receives them.
  sigset_t set = watched_signals();
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  m_thread = std::thread([this] {
    sigset_t wait_set = watched_signals();
    timespec tick{0, 100'000'000};
    int received = 0;
    while (!m_stop.load()) {
      int sig = sigtimedwait(&wait_set, nullptr, &tick);
      if (sig <= 0) continue;
      if (++received == 1) {
        std::fputs("\ndrctl: interrupted: no new step will start; stopping the running one "
                   "(interrupt again to exit at once)\n", stderr);
        m_cancel.cancel();
      } else {
        std::fputs("drctl: interrupted twice: exiting now\n", stderr);
        _exit(130);
      }
    }
  });
}

SignalWatch::~SignalWatch() {
  m_stop = true;
  m_thread.join();
  sigset_t set = watched_signals();
  pthread_sigmask(SIG_UNBLOCK, &set, nullptr);
}

}  // namespace drctl::cli
