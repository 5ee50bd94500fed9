#pragma once
// Runs a child process in its own process group, capturing stdout and stderr, and kills the
// whole group when the deadline passes or the run is cancelled (a shell's grandchildren too).
#include <sys/types.h>

#include <chrono>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "core/cancel.hpp"

namespace drctl {

struct ProcessSpec {
  std::vector<std::string> argv;           // argv[0] is looked up in PATH
  std::map<std::string, std::string> env;  // the child's whole environment
  std::string cwd;                         // "" keeps drctl's
  std::size_t capture_limit = 1 << 20;     // bytes kept of each stream (the tail)
  // Called with the child's pid, which is its process group, as soon as it runs.
  std::function<void(pid_t)> started;
};

struct ProcessResult {
  enum class End { exited, signaled, timed_out, cancelled, spawn_failed };
  End end = End::exited;
  int exit_code = -1;
  int signal = 0;
  pid_t pid = -1;
  std::string out;
  std::string err;
  std::string spawn_error;  // strerror text when the process could not start
};

ProcessResult run_process(const ProcessSpec& spec, std::chrono::steady_clock::time_point deadline,
                          const CancelToken* cancel);

}  // namespace drctl
