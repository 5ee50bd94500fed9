// drctl: disaster-recovery switchover between two sites. Parses the command line into
// GlobalOptions and one subcommand, and maps every failure to the exit-code contract.
#include <fcntl.h>
#include <fmt/format.h>
#include <signal.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <string_view>

#include "command.hpp"
#include "common.hpp"
#include "engine/exit_codes.hpp"

using namespace drctl;
using namespace drctl::cli;

namespace {

// A report that did not reach stdout (a full disk behind `> report.json`) must not pass for
// success: exit 74; the run's result stays in its journal (drctl show). A reader that left
// early (`| head`) gets no message, as with SIGPIPE.
int with_output_checked(int exit_code) {
  errno = 0;
  std::cout.flush();  // flushes stdout too (synced with stdio)
  std::fflush(stdout);
  const int error = errno;
  const bool stdout_failed = std::ferror(stdout) != 0;
  if (stdout_failed && error != EPIPE) {
    report_output_failure(fmt::format("cannot write the output to stdout: {}",
                                      error != 0 ? std::strerror(error) : "a write failed"));
  }
  return (stdout_failed || output_failed()) && exit_code == k_exit_success ? k_exit_output_failed
                                                                           : exit_code;
}

}  // namespace

// A descriptor 0-2 that was closed (`drctl run ... >&-`) is opened on /dev/null before
// anything else opens a file: otherwise the first file drctl opens (the journal) gets fd 1, and
// the report and progress lines are written into it.
void reopen_closed_standard_fds() {
  for (int fd = 0; fd <= 2; ++fd) {
    if (::fcntl(fd, F_GETFD) != -1 || errno != EBADF) continue;
    int opened = ::open("/dev/null", fd == 0 ? O_RDONLY : O_WRONLY);
    if (opened >= 0 && opened != fd) {
      ::dup2(opened, fd);
      ::close(opened);
    }
  }
}

int main(int argc, char** argv) {
  reopen_closed_standard_fds();
  ::signal(SIGPIPE, SIG_IGN);  // a closed pipe is an error to report, not a reason to die
  ::signal(SIGXFSZ, SIG_IGN);  // so is a file-size limit (write() fails with EFBIG)

  std::vector<std::unique_ptr<Command>> commands;
  commands.push_back(make_validate_command());
  commands.push_back(make_plan_command());
  commands.push_back(make_check_command());
  commands.push_back(make_run_command());
  commands.push_back(make_version_command());
  commands.push_back(make_schema_command());
  commands.push_back(make_probe_command());
  commands.push_back(make_cache_command());
  commands.push_back(make_runs_command());
  commands.push_back(make_show_command());
  commands.push_back(make_report_command());
  commands.push_back(make_rollback_command());
  commands.push_back(make_approve_command());
  commands.push_back(make_reject_command());
  commands.push_back(make_serve_command());
  commands.push_back(make_help_command());

  CLI::App app{
      "drctl: disaster-recovery switchover with pre-switch checks, timed steps and rollback"};
  app.fallthrough();  // global options may also follow the subcommand
  app.require_subcommand(1);
  GlobalOptions global;
  std::string output = "text";
  app.add_option("-o,--output", output, "Report format on stdout: text or json")
      ->check(CLI::IsMember({"text", "json"}));
  app.add_option("--junit", global.junit_path, "Also write a JUnit XML report to FILE");
  app.add_option("--html", global.html_path,
                 "Also write a self-contained HTML drill report to FILE (timeline, SLA verdict)");
  app.add_option("--grace", global.grace,
                 "After SIGINT/SIGTERM, time the running step gets to finish (default 10s)")
      ->check([](const std::string& value) {
        return drctl::parse_duration(value) ? std::string() : "expected a duration such as 10s";
      });
  app.add_option("--push-metrics", global.push_metrics,
                 "When the run ends, push its step durations and SLA verdict to this Prometheus "
                 "Pushgateway URL")
      ->check([](const std::string& value) {
        return value.rfind("http://", 0) == 0 || value.rfind("https://", 0) == 0
                   ? std::string()
                   : "expected an http:// or https:// URL";
      });
  app.add_option("--state-dir", global.state_dir,
                 "Where run journals go (default $XDG_STATE_HOME/drctl or ~/.local/state/drctl)");
  app.add_option("--var", global.vars,
                 "Set or override ${vars.NAME}: --var NAME=VALUE (repeatable)")
      ->allow_extra_args(false);  // one value per --var, so a following positional is not swallowed
  app.add_option("--parallel", global.parallel, "Checks run at once (default 8)")
      ->check(CLI::Range(1, 256));
  app.add_flag("-q,--quiet", global.quiet, "Print only failures and the verdict");
  app.add_flag("-v,--verbose", global.verbose, "Print each entry's evidence");
  // After --output, so `drctl --output json --version` sees it (CLI11 runs callbacks in order).
  app.set_version_flag(
      "--version",
      [&output] {
        return version_text(output == "json" ? OutputFormat::json : OutputFormat::text);
      },
      "Print the version and exit (as drctl version)");

  Command* selected = nullptr;
  for (auto& command : commands) {
    CLI::App* sub = app.add_subcommand(command->name(), command->help());
    // Only the named subcommand declares its options: `drctl probe` alone makes ~100 flags from
    // the kinds' tables, a cost `drctl version` should not pay at every start.
    bool named = std::any_of(argv + 1, argv + argc, [&](const char* arg) {
      return std::string_view(arg) == command->name();
    });
    if (named) command->setup(*sub);
    sub->callback([&selected, c = command.get()] { selected = c; });
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);  // prints what drctl version prints, exit 0
  } catch (const CLI::ParseError& e) {
    print_error(fmt::format("{} (see drctl --help)", e.what()));
    // `drctl probe grpc` keeps grpc_health_probe's contract: invalid arguments exit 1.
    for (int i = 1; i + 1 < argc; ++i) {
      if (std::string(argv[i]) == "probe" && std::string(argv[i + 1]) == "grpc") return 1;
    }
    return k_exit_usage;
  }
  global.output = output == "json" ? OutputFormat::json : OutputFormat::text;
  if (selected == nullptr) {
    print_error("no command given (see drctl --help)");
    return k_exit_usage;
  }
  try {
    const int exit_code = with_output_checked(selected->run(global));
    // Everything drctl owns is finished by now: journals synced, reports written, its threads
    // joined. What is left are the libraries' static objects (the etcd module's gRPC channels
    // and gRPC's own threads, libcurl's pool); tearing them down took ~6 ms of every run on the
    // lab and changes nothing outside the process. So flush and leave without it.
    std::fflush(nullptr);
    std::_Exit(exit_code);
  } catch (const std::exception& e) {
    // Kinds report failures as outcomes; reaching here is a bug in drctl, said plainly.
    print_error(fmt::format("internal error: {}", e.what()));
    return k_exit_partial;
  }
}
