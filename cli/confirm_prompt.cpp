#include "confirm_prompt.hpp"

#include <fmt/format.h>
#include <poll.h>
#include <termios.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "kinds/registry.hpp"
#include "util/print.hpp"
#include "util/secrets.hpp"
#include "util/strings.hpp"

namespace drctl::cli {
namespace {

// An operator who walked away must not leave the lock held, nor a verdict to go stale.
constexpr Millis k_answer_within{10 * 60 * 1000};

// One line from stdin, read byte by byte so that nothing after it is taken from the terminal
// (an approval step reads what is typed later). Signals are taken by a thread, so the wait
// polls: an interrupt ends it.
std::string read_answer(const CancelToken& cancel, std::chrono::steady_clock::time_point until) {
  std::string line;
  char c = 0;
  while (!cancel.stop_requested() && std::chrono::steady_clock::now() < until) {
    pollfd p{STDIN_FILENO, POLLIN, 0};
    int ready = ::poll(&p, 1, 100);
    if (ready == 0 || (ready < 0 && errno == EINTR)) continue;
    ssize_t n = ::read(STDIN_FILENO, &c, 1);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0 || c == '\n') break;
    line += c;
  }
  return trim(line);
}

std::string cut(std::string text, std::size_t width) {
  text = one_line(text);
  if (text.size() > width) text = text.substr(0, width - 3) + "...";
  return text;
}

}  // namespace

bool confirm_on_terminal(const Playbook& playbook, const RunReport& gate,
                         const JournalState* resume, const CancelToken& cancel) {
  // What was typed before the question is shown is no answer to it (flushed before it is shown,
  // so that a quick answer to it is kept).
  ::tcflush(STDIN_FILENO, TCIFLUSH);
  std::size_t passed = 0, not_rerun = 0;
  for (const auto& check : gate.checks) (check.status == Status::ok ? passed : not_rerun) += 1;
  std::size_t name_width = 5;
  for (const auto& check : gate.checks) name_width = std::max(name_width, check.name.size());
  for (const auto& step : playbook.steps) name_width = std::max(name_width, step.name.size());
  print_to(stderr, "\nThe gate is open: {} check(s) passed{}{}.\n", passed,
           not_rerun
               ? fmt::format(", {} not re-run (the resumed run changed their premise)", not_rerun)
               : "",
           gate.lock.is_object() ? ", the run lock is held" : "");
  for (const auto& check : gate.checks) {
    // What it measured: its message, and a script's last line of output (what it printed).
    std::string said = check.message;
    if (auto out = check.outputs.find("stdout"); out != check.outputs.end()) {
      std::string text = trim(out->second);
      if (!text.empty()) said += ": " + text.substr(text.rfind('\n') + 1);
    }
    print_to(stderr, "  {:<{}}  {:<7}  {}\n", check.name, name_width, status_name(check.status),
             cut(said, 110));
  }
  std::size_t to_run = 0;
  print_to(stderr, "\nSteps that will run{}:\n",
           playbook.sla.total ? fmt::format(" (sla.total {})", format_duration(*playbook.sla.total))
                              : "");
  for (std::size_t i = 0; i < playbook.steps.size(); ++i) {
    const Entry& step = playbook.steps[i];
    if (resume != nullptr && resume->find_done(step.name) != nullptr) continue;
    ++to_run;
    const Kind* kind = builtin_kinds().find(step.action.kind);
    std::string what =
        kind != nullptr ? redact(kind->describe(step.action.spec)) : step.action.kind;
    print_to(stderr, "  {:>2}. {:<{}}  {:<18}  {:<14}  {}\n", i + 1, step.name, name_width,
             step.action.kind,
             step.budget ? "budget " + format_duration(*step.budget) : "no budget", cut(what, 70));
  }
  print_to(stderr,
           "\nThe SLA clock starts at the first step, not at this prompt. Unanswered for {}, the "
           "run ends declined (the checks' verdict would be stale).\nType 'yes' to {} {} "
           "step(s) of '{}': ",
           format_duration(k_answer_within),
           resume != nullptr ? "resume run " + resume->run_id + " with" : std::string("run"),
           to_run, playbook.name);
  const std::string answer =
      read_answer(cancel, std::chrono::steady_clock::now() + k_answer_within);
  if (cancel.stop_requested()) return false;
  if (answer != "yes")
    print_to(stderr, "drctl: not confirmed ('{}'): no step was started\n", answer);
  return answer == "yes";
}

}  // namespace drctl::cli
