#include "confirm_prompt.hpp"

#include <fmt/format.h>
#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "kinds/registry.hpp"
#include "util/print.hpp"
#include "util/secrets.hpp"
#include "util/strings.hpp"

namespace drctl::cli {
namespace {

// One line from stdin, read byte by byte so that nothing after it is taken from the terminal
// (an approval step reads what is typed later). Signals are taken by a thread, so the wait
// polls: an interrupt ends it.
std::string read_answer(const CancelToken& cancel) {
  std::string line;
  char c = 0;
  while (!cancel.stop_requested()) {
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
  std::size_t name_width = 5;
  for (const auto& check : gate.checks) name_width = std::max(name_width, check.name.size());
  for (const auto& step : playbook.steps) name_width = std::max(name_width, step.name.size());
  print_to(stderr, "\nThe gate is open: {} check(s) passed{}.\n", gate.checks.size(),
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
           "\nThe SLA clock starts at the first step, not at this prompt.\nType 'yes' to {} {} "
           "step(s) of '{}': ",
           resume != nullptr ? "resume run " + resume->run_id + " with" : std::string("run"),
           to_run, playbook.name);
  const std::string answer = read_answer(cancel);
  if (cancel.stop_requested()) return false;
  if (answer != "yes")
    print_to(stderr, "drctl: not confirmed ('{}'): no step was started\n", answer);
  return answer == "yes";
}

}  // namespace drctl::cli
