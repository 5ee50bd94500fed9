#include <doctest/doctest.h>
#include <signal.h>

#include <cerrno>
#include <filesystem>
#include <fstream>
#include <thread>

#include "clients/process.hpp"
#include "engine/runner.hpp"
#include "fake_kind.hpp"
#include "util/secrets.hpp"

using namespace drctl;

namespace {

// True once the pid no longer exists or is only a zombie waiting for its new parent.
bool gone(pid_t pid) {
  if (::kill(pid, 0) != 0 && errno == ESRCH) return true;
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string pid_field, comm, state;
  stat >> pid_field >> comm >> state;
  return !stat || state == "Z";
}

bool gone_within(pid_t pid, std::chrono::milliseconds limit) {
  auto until = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < until) {
    if (gone(pid)) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return gone(pid);
}

}  // namespace

TEST_CASE("run_process captures output and the exit code") {
  ProcessSpec spec;
  spec.argv = {"/bin/sh", "-c", "echo out; echo err >&2; exit 3"};
  auto result =
      run_process(spec, std::chrono::steady_clock::now() + std::chrono::seconds(10), nullptr);
  CHECK(result.end == ProcessResult::End::exited);
  CHECK(result.exit_code == 3);
  CHECK(result.out == "out\n");
  CHECK(result.err == "err\n");
}

TEST_CASE("a program that does not exist is a spawn failure") {
  ProcessSpec spec;
  spec.argv = {"drctl-no-such-program"};
  spec.env["PATH"] = "/usr/bin:/bin";
  auto result =
      run_process(spec, std::chrono::steady_clock::now() + std::chrono::seconds(10), nullptr);
  CHECK(result.end == ProcessResult::End::spawn_failed);
}

TEST_CASE("a bare name runs from PATH only, never from the working directory or the step's cwd") {
  // An executable `flip-route` planted in a directory that is the working directory, the
  // step's cwd and an empty PATH entry ("::", which a shell reads as "."): none may run it.
  auto dir = std::filesystem::temp_directory_path() / ("drctl-path-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  auto marker = dir / "ran";
  {
    std::ofstream script(dir / "flip-route");
    script << "#!/bin/sh\ntouch " << marker.string() << "\n";
  }
  std::filesystem::permissions(dir / "flip-route", std::filesystem::perms::owner_all);
  auto old_cwd = std::filesystem::current_path();
  std::filesystem::current_path(dir);
  ProcessSpec spec;
  spec.argv = {"flip-route"};
  spec.cwd = dir.string();
  spec.env["PATH"] = "/usr/bin::/bin:relative";
  auto result =
      run_process(spec, std::chrono::steady_clock::now() + std::chrono::seconds(10), nullptr);
  std::filesystem::current_path(old_cwd);
  CHECK(result.end == ProcessResult::End::spawn_failed);
  CHECK(result.spawn_error == "not found in PATH (/usr/bin::/bin:relative)");
  CHECK_FALSE(std::filesystem::exists(marker));
  // The same program named by a path runs: the lookup, not the program, was refused.
  spec.argv = {(dir / "flip-route").string()};
  result = run_process(spec, std::chrono::steady_clock::now() + std::chrono::seconds(10), nullptr);
  CHECK(result.end == ProcessResult::End::exited);
  CHECK(std::filesystem::exists(marker));
  std::filesystem::remove_all(dir);
}

TEST_CASE("an exec step's timeout kills its whole process group, grandchildren included") {
  auto dir = std::filesystem::temp_directory_path() / ("drctl-unit-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  auto pidfile = (dir / "grandchild.pid").string();
  auto playbook = testing::parse_for_test(R"(
version: 1
name: t
steps:
  - name: hang
    timeout: 400ms
    exec:
      shell: true
      command: "sleep 60 & echo $! > )" + pidfile +
                                          R"(; echo $$ >> )" + pidfile + R"(; wait"
)");
  Reporter quiet;
  CancelToken cancel;
  auto report = run_playbook(playbook, testing::test_kinds(), quiet, {}, cancel);
  REQUIRE(report.steps.size() == 1);
  CHECK(report.steps[0].status == Status::timeout);
  CHECK(report.steps[0].message.find("process group was killed") != std::string::npos);

  std::ifstream in(pidfile);
  pid_t grandchild = 0, shell = 0;
  in >> grandchild >> shell;
  REQUIRE(grandchild > 0);
  REQUIRE(shell > 0);
  CHECK(gone_within(grandchild, std::chrono::seconds(3)));
  CHECK(gone_within(shell, std::chrono::seconds(3)));
  std::filesystem::remove_all(dir);
}

TEST_CASE("exec passes declared variables only, and the run id") {
  ::setenv("DRCTL_UNIT_PRIVATE", "must-not-leak-into-children", 1);
  auto playbook = testing::parse_for_test(R"(
version: 1
name: t
steps:
  - name: env
    exec:
      argv: [/bin/sh, -c, 'echo "$DRCTL_UNIT_PRIVATE|$DECLARED|$DRCTL_ENTRY"']
      env: {DECLARED: yes-declared}
)");
  Reporter quiet;
  CancelToken cancel;
  auto report = run_playbook(playbook, testing::test_kinds(), quiet, {}, cancel);
  REQUIRE(report.steps.size() == 1);
  CHECK(report.steps[0].outputs.at("stdout") == "|yes-declared|env");
}

TEST_CASE("a capture cut through a secret keeps none of its end") {
  register_secret("capture-secret-5f3a");
  ProcessSpec spec;
  // 19 bytes of secret, then 2000: a 2010-byte tail would start with its last 10 characters.
  spec.argv = {"sh", "-c", "printf 'capture-secret-5f3a'; printf '%2000s' ''"};
  spec.capture_limit = 2010;
  auto result =
      run_process(spec, std::chrono::steady_clock::now() + std::chrono::seconds(10), nullptr);
  CHECK(result.exit_code == 0);
  CHECK(result.out.find("5f3a") == std::string::npos);
  CHECK(result.out.size() >= 1990);  // the rest of the tail is kept
  CHECK(result.out.find_first_not_of(' ') == std::string::npos);
}
