#include "clients/process.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <thread>

#include "util/secrets.hpp"
#include "util/strings.hpp"

namespace drctl {
namespace {

constexpr auto k_term_grace = std::chrono::milliseconds(300);
constexpr auto k_drain_after_exit = std::chrono::milliseconds(200);

// Keeps the tail. Where the front was cut, the end of a secret may start what is kept: the
// bytes that could be one (the longest secret's length less one) are cut too, so masking later
// never leaves a secret's last characters behind.
void append_capped(std::string& buffer, const char* data, std::size_t size, std::size_t limit) {
  buffer.append(data, size);
  if (buffer.size() <= limit) return;
  std::size_t cut = buffer.size() - limit;
  if (std::size_t longest = longest_secret(); longest > 1) cut += longest - 1;
  buffer.erase(0, std::min(cut, buffer.size()));
}

// Sends SIGTERM to the group, then SIGKILL to whatever is left after a short grace.
void kill_group(pid_t pgid, pid_t child, int& status, bool& reaped) {
  ::kill(-pgid, SIGTERM);
  auto until = std::chrono::steady_clock::now() + k_term_grace;
  while (std::chrono::steady_clock::now() < until) {
    if (!reaped && ::waitpid(child, &status, WNOHANG) == child) reaped = true;
    if (reaped && ::kill(-pgid, 0) != 0) return;  // the whole group is gone
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ::kill(-pgid, SIGKILL);
  if (!reaped && ::waitpid(child, &status, 0) == child) reaped = true;
}

}  // namespace

ProcessResult run_process(const ProcessSpec& spec, std::chrono::steady_clock::time_point deadline,
                          const CancelToken* cancel) {
  ProcessResult result;
  int out_pipe[2];
  int err_pipe[2];
  if (::pipe2(out_pipe, O_CLOEXEC) != 0 || ::pipe2(err_pipe, O_CLOEXEC) != 0) {
    result.end = ProcessResult::End::spawn_failed;
    result.spawn_error = std::strerror(errno);
    return result;
  }

  // Everything the child needs is built before spawning: nothing allocates after the fork.
  std::vector<char*> argv;
  for (const auto& a : spec.argv) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  std::vector<std::string> env_strings;
  for (const auto& [k, v] : spec.env) env_strings.push_back(k + "=" + v);
  std::vector<char*> envp;
  for (auto& e : env_strings) envp.push_back(e.data());
  envp.push_back(nullptr);

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&actions, out_pipe[1], 1);
  posix_spawn_file_actions_adddup2(&actions, err_pipe[1], 2);
  if (!spec.cwd.empty()) posix_spawn_file_actions_addchdir_np(&actions, spec.cwd.c_str());

  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  posix_spawnattr_setpgroup(&attr, 0);  // its own group, so a timeout can kill the whole tree
  sigset_t no_signals;
  sigemptyset(&no_signals);
  posix_spawnattr_setsigmask(&attr, &no_signals);
  sigset_t defaults;
  sigemptyset(&defaults);
  for (int s : {SIGINT, SIGTERM, SIGPIPE, SIGHUP, SIGCHLD}) sigaddset(&defaults, s);
  posix_spawnattr_setsigdefault(&attr, &defaults);
  posix_spawnattr_setflags(&attr,
                           POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);

  // A bare name is looked up in the child's PATH (when given) and only there: never relative
  // to drctl's working directory or the step's `cwd`, so an empty or relative PATH entry
  // (which a shell would read as ".") is skipped, and a name found nowhere is not run.
  std::string path_env =
      spec.env.count("PATH") ? spec.env.at("PATH") : "/usr/local/bin:/usr/bin:/bin";
  std::string program = spec.argv.empty() ? "" : spec.argv[0];
  bool found = program.find('/') != std::string::npos;
  for (const auto& dir : split(path_env, ':')) {
    if (found) break;
    if (dir.empty() || dir[0] != '/') continue;
    std::string candidate = dir + "/" + program;
    found = ::access(candidate.c_str(), X_OK) == 0;
    if (found) program = candidate;
  }

  pid_t pid = -1;
  int rc = spec.argv.empty() || !found
               ? (spec.argv.empty() ? EINVAL : ENOENT)
               : ::posix_spawn(&pid, program.c_str(), &actions, &attr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  ::close(out_pipe[1]);
  ::close(err_pipe[1]);
  if (rc != 0) {
    ::close(out_pipe[0]);
    ::close(err_pipe[0]);
    result.end = ProcessResult::End::spawn_failed;
    result.spawn_error =
        found ? std::strerror(rc) : fmt::format("not found in PATH ({})", path_env);
    return result;
  }
  result.pid = pid;
  if (spec.started) spec.started(pid);

  pollfd fds[2] = {{out_pipe[0], POLLIN, 0}, {err_pipe[0], POLLIN, 0}};
  std::string* sinks[2] = {&result.out, &result.err};
  int open_fds = 2;
  int status = 0;
  bool reaped = false;
  std::chrono::steady_clock::time_point exited_at{};
  char buffer[16384];

  while (open_fds > 0) {
    auto now = std::chrono::steady_clock::now();
    bool cancelled = cancel != nullptr && cancel->cancelled();
    if (now >= deadline || cancelled) {
      kill_group(pid, pid, status, reaped);
      result.end = cancelled ? ProcessResult::End::cancelled : ProcessResult::End::timed_out;
      break;
    }
    if (!reaped && ::waitpid(pid, &status, WNOHANG) == pid) {
      reaped = true;
      exited_at = now;
    }
    // A background grandchild can hold the pipes open forever; stop reading shortly after
    // the child itself has exited.
    if (reaped && now - exited_at > k_drain_after_exit) break;
    int wait_ms = static_cast<int>(std::clamp<long long>(
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - now).count(), 1, 20));
    int ready = ::poll(fds, 2, wait_ms);
    if (ready < 0 && errno != EINTR) break;
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || (fds[i].revents & (POLLIN | POLLHUP | POLLERR)) == 0) continue;
      ssize_t n = ::read(fds[i].fd, buffer, sizeof buffer);
      if (n > 0) {
        append_capped(*sinks[i], buffer, static_cast<std::size_t>(n), spec.capture_limit);
      } else if (n == 0 || (errno != EINTR && errno != EAGAIN)) {
        ::close(fds[i].fd);
        fds[i].fd = -1;
        --open_fds;
      }
    }
  }
  for (auto& fd : fds) {
    if (fd.fd >= 0) ::close(fd.fd);
  }
  if (!reaped) {
    // Pipes closed first: wait for the exit, still bounded by the deadline.
    while (::waitpid(pid, &status, WNOHANG) == 0) {
      bool cancelled = cancel != nullptr && cancel->cancelled();
      if (std::chrono::steady_clock::now() >= deadline || cancelled) {
        kill_group(pid, pid, status, reaped);
        result.end = cancelled ? ProcessResult::End::cancelled : ProcessResult::End::timed_out;
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
  }
  if (result.end == ProcessResult::End::exited) {
    if (WIFEXITED(status)) {
      result.exit_code = WEXITSTATUS(status);
    } else if (WIFSIGNALED(status)) {
      result.end = ProcessResult::End::signaled;
      result.signal = WTERMSIG(status);
    }
  }
  return result;
}

}  // namespace drctl
