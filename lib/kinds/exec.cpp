#include "kinds/exec.hpp"

#include <fmt/format.h>
#include <sys/signal.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "clients/process.hpp"
#include "util/secrets.hpp"
#include "util/strings.hpp"

namespace drctl {
namespace {

const Field k_argv = Field::string_list("argv", "Program and arguments, run without a shell.");
const Field k_command = Field::string("command", "A shell command line; requires shell: true.");
const Field k_shell = Field::boolean("shell", "Run `command` with /bin/sh -c.").defaults_to(false);
const Field k_env = Field::string_map(
    "env", "Extra environment variables (not for secrets: they appear in plans).");
const Field k_secret_env = Field::string_map(
    "secret_env", "Child variable name -> name of drctl's environment variable holding a secret.");
const Field k_secret_file =
    Field::string_map("secret_file", "Child variable name -> path of a file holding a secret.");
const Field k_cwd = Field::string("cwd", "Working directory.");
const Field k_expect_exit =
    Field::integer_list("expect_exit", "Exit code(s) that count as success.")
        .defaults_to(nlohmann::json::array({0}));

// The child starts from these of drctl's variables only: drctl's own environment may hold
// secrets, and a child gets a secret only when the playbook declares it (secret_env/_file).
constexpr const char* k_passed_through[] = {"PATH",   "HOME", "USER",   "LOGNAME", "LANG",
                                            "LC_ALL", "TZ",   "TMPDIR", "TERM"};

constexpr std::size_t k_tail_lines = 20;
constexpr std::size_t k_tail_bytes = 2048;
constexpr std::size_t k_stdout_output_limit = 64 * 1024;

std::string quote_argv(const std::vector<std::string>& argv) {
  std::vector<std::string> quoted;
  for (const auto& a : argv) {
    bool plain = !a.empty() && a.find_first_of(" \t\n'\"$`\\|&;<>()*?") == std::string::npos;
    quoted.push_back(plain ? a : fmt::format("'{}'", a));
  }
  return join(quoted, " ");
}

std::vector<std::string> argv_of(const Spec& spec) {
  if (spec.boolean(k_shell)) return {"/bin/sh", "-c", spec.str(k_command)};
  return spec.strings(k_argv);
}

class ExecOperation : public Operation {
 public:
  explicit ExecOperation(Spec spec) : m_spec(std::move(spec)) {}

  Outcome run(const AttemptContext& ctx) override {
    ProcessSpec process;
    process.argv = argv_of(m_spec);
    process.cwd = m_spec.str(k_cwd);
    for (const char* name : k_passed_through) {
      if (const char* value = std::getenv(name)) process.env[name] = value;
    }
    for (const auto& [k, v] : m_spec.string_map(k_env)) process.env[k] = v;
    for (const auto& [child_name, source] : m_spec.string_map(k_secret_env)) {
      auto value = secret_from_env(source);
      if (!value)
        return Outcome::fail(Status::failed,
                             fmt::format("secret_env.{}: {}", child_name, value.error()),
                             Changed::no);
      process.env[child_name] = *value;
    }
    for (const auto& [child_name, path] : m_spec.string_map(k_secret_file)) {
      auto value = secret_from_file(path);
      if (!value)
        return Outcome::fail(Status::failed,
                             fmt::format("secret_file.{}: {}", child_name, value.error()),
                             Changed::no);
      process.env[child_name] = *value;
    }
    process.env["DRCTL_RUN_ID"] = ctx.run_id;
    if (!ctx.fencing_token.empty()) process.env["DRCTL_FENCING_TOKEN"] = ctx.fencing_token;
    process.env["DRCTL_ENTRY"] = ctx.entry_name;
    if (ctx.process_started) process.started = ctx.process_started;

    if (!process.cwd.empty() && ::access(process.cwd.c_str(), X_OK) != 0) {
      return Outcome::fail(Status::failed,
                           fmt::format("cwd {}: {}", process.cwd, std::strerror(errno)),
                           Changed::no);
    }
    auto result = run_process(process, ctx.deadline, ctx.cancel);
    const std::string shown = process.argv.empty() ? "" : process.argv[0];
    Outcome outcome;
    outcome.evidence["argv0"] = shown;
    outcome.evidence["pid"] = result.pid;
    if (result.end == ProcessResult::End::spawn_failed) {
      return Outcome::fail(Status::failed,
                           fmt::format("cannot run '{}': {}", shown, result.spawn_error),
                           Changed::no);
    }
    // Masked first, then cut: a cut through a secret would leave part of it unrecognisable.
    const std::string out = redact(result.out);
    const std::string err = redact(result.err);
    outcome.evidence["stdout_tail"] = tail(out, k_tail_lines, k_tail_bytes);
    outcome.evidence["stderr_tail"] = tail(err, k_tail_lines, k_tail_bytes);
    outcome.changed = Changed::unknown;  // a program ran: drctl cannot know what it changed
    auto expected = m_spec.integers(k_expect_exit);
    switch (result.end) {
      case ProcessResult::End::timed_out:
        outcome.status = Status::timeout;
        outcome.message =
            fmt::format("'{}' did not finish in time; its process group was killed", shown);
        return outcome;
      case ProcessResult::End::cancelled:
        outcome.status = Status::failed;
        outcome.message = fmt::format("'{}' was cancelled; its process group was killed", shown);
        return outcome;
      case ProcessResult::End::signaled:
        outcome.status = Status::failed;
        outcome.evidence["signal"] = result.signal;
        outcome.message = fmt::format("'{}' was killed by signal {} ({})", shown, result.signal,
                                      strsignal(result.signal));
        return outcome;
      default:
        break;
    }
    outcome.evidence["exit_code"] = result.exit_code;
    outcome.outputs["exit_code"] = std::to_string(result.exit_code);
    outcome.outputs["stdout"] = trim(
        out.size() > k_stdout_output_limit ? out.substr(out.size() - k_stdout_output_limit) : out);
    if (std::find(expected.begin(), expected.end(), result.exit_code) == expected.end()) {
      outcome.status = Status::failed;
      std::string last_err = tail(err, 1, 200);
      outcome.message = redact(fmt::format(
          "'{}' exited with {} (expected {}){}", shown, result.exit_code,
          expected.size() == 1 ? std::to_string(expected[0]) : "one of the expect_exit codes",
          last_err.empty() ? "" : ": " + one_line(last_err)));
      return outcome;
    }
    outcome.status = Status::ok;
    outcome.message = fmt::format("'{}' exited with {}", shown, result.exit_code);
    return outcome;
  }

 private:
  Spec m_spec;
};

class ExecKind : public Kind {
 public:
  std::string_view name() const override { return "exec"; }
  std::string_view summary() const override {
    return "Runs a program; the timeout kills its whole process group.";
  }
  bool allowed_as(Role) const override { return true; }

  const Fields& fields() const override {
    static const Fields fields = {k_argv,       k_command,     k_shell, k_env,
                                  k_secret_env, k_secret_file, k_cwd,   k_expect_exit};
    return fields;
  }

  std::vector<std::string> outputs() const override { return {"exit_code", "stdout"}; }

  std::vector<SpecProblem> check_spec(const Spec& spec) const override {
    std::vector<SpecProblem> problems;
    bool shell = spec.boolean(k_shell);
    if (shell && !spec.has(k_command))
      problems.push_back({"", "shell: true needs `command` (a string)"});
    if (shell && spec.has(k_argv))
      problems.push_back({k_argv.name, "use `command` with shell: true, `argv` without it"});
    if (!shell && spec.has(k_command))
      problems.push_back(
          {k_command.name, "`command` runs through a shell: add shell: true, or use argv"});
    if (!shell && !spec.has(k_command) && !spec.has(k_argv))
      problems.push_back({"", "missing required key 'argv'"});
    if (!shell && spec.has(k_argv) && spec.strings(k_argv).empty())
      problems.push_back({k_argv.name, "must not be empty"});
    return problems;
  }

  std::string target(const Spec& spec) const override {
    auto argv = argv_of(spec);
    return spec.boolean(k_shell) ? "sh -c" : (argv.empty() ? "" : argv[0]);
  }

  std::string describe(const Spec& spec) const override {
    return fmt::format("run {}", quote_argv(argv_of(spec)));
  }

  std::unique_ptr<Operation> prepare(const Spec& spec) const override {
    return std::make_unique<ExecOperation>(spec);
  }
};

}  // namespace

std::unique_ptr<Kind> make_exec_kind() {
  return std::make_unique<ExecKind>();
}

}  // namespace drctl
