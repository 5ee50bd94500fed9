#include "kinds/file_and_exec.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "clients/process.hpp"
#include "kinds/failure.hpp"
#include "util/json_fields.hpp"
#include "util/strings.hpp"

namespace drctl {
namespace {

const Field k_path = Field::string("path", "The config file.").mandatory();
const Field k_content =
    Field::string("content", "Its new content (${...} interpolated).").mandatory();
const Field k_mode = Field::string("mode", "File mode, octal.").defaults_to("0644");
const Field k_precheck = Field::string_list("precheck",
                                            "Run before anything changes; {candidate} is the new "
                                            "file, e.g. [nginx, -t, -c, \"{candidate}\"].");
const Field k_reload =
    Field::string_list("reload",
                       "Run after the file is in place, e.g. [nginx, -c, FILE, -s, reload].")
        .mandatory();
const Field k_cwd = Field::string("cwd", "Working directory of precheck and reload.");

std::map<std::string, std::string> child_env() {
  const char* path = std::getenv("PATH");
  return {{"PATH", path ? path : "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"}};
}

std::string read_file(const std::string& path, bool& exists) {
  std::ifstream in(path, std::ios::binary);
  exists = static_cast<bool>(in);
  std::ostringstream text;
  if (exists) text << in.rdbuf();
  return text.str();
}

// Writes `content` to `path` through a temp file in the same directory, fsync, rename.
tl::expected<void, std::string> write_atomically(const std::string& path,
                                                 const std::string& content, mode_t mode) {
  std::string temp = fmt::format("{}.drctl-{}.tmp", path, ::getpid());
  int fd = ::open(temp.c_str(), O_CREAT | O_TRUNC | O_WRONLY | O_CLOEXEC, mode);
  if (fd < 0) return tl::unexpected(fmt::format("{}: {}", temp, std::strerror(errno)));
  const char* data = content.data();
  std::size_t left = content.size();
  while (left > 0) {
    ssize_t n = ::write(fd, data, left);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int saved = errno;
      ::close(fd);
      ::unlink(temp.c_str());
      return tl::unexpected(fmt::format("{}: {}", temp, std::strerror(saved)));
    }
    data += n;
    left -= static_cast<std::size_t>(n);
  }
  ::fchmod(fd, mode);
  if (::fsync(fd) != 0 || ::close(fd) != 0) {
    ::unlink(temp.c_str());
    return tl::unexpected(fmt::format("{}: {}", temp, std::strerror(errno)));
  }
  if (::rename(temp.c_str(), path.c_str()) != 0) {
    int saved = errno;
    ::unlink(temp.c_str());
    return tl::unexpected(fmt::format("{}: {}", path, std::strerror(saved)));
  }
  return {};
}

// Write a config file atomically, precheck it before it is in place, reload.
class FileAndExecOperation : public Operation {
 public:
  explicit FileAndExecOperation(const Spec& spec) : m_spec(spec), m_path(spec.str(k_path)) {}

  Outcome run(const AttemptContext& ctx) override {
    mode_t mode = file_mode();
    if (!m_adopted)
      m_previous = read_file(m_path, m_existed);  // a resumed run restores what was there first
    const std::string content = m_spec.str(k_content);
    if (m_spec.has(k_precheck)) {
      // The candidate sits beside the real file (same relative paths) until it passes.
      std::string candidate = m_path + ".drctl-candidate";
      if (auto written = write_atomically(candidate, content, mode); !written)
        return failed(Status::failed, "write", written.error(), Changed::no);
      auto argv = m_spec.strings(k_precheck);
      for (auto& arg : argv) arg = replace_all(arg, "{candidate}", candidate);
      auto result = run_command(argv, ctx);
      ::unlink(candidate.c_str());
      if (!result.empty())
        return failed(Status::failed, "precheck",
                      fmt::format("precheck failed, nothing changed: {}", result), Changed::no);
    }
    m_pending = true;
    if (!ctx.save_undo_state()) {
      m_pending = m_adopted;  // an adopted state still describes the killed attempt
      return Outcome::journal_refused();
    }
    if (auto written = write_atomically(m_path, content, mode); !written)
      return failed(Status::failed, "write", written.error(), Changed::no);
    m_written = true;
    m_change_started =
        std::chrono::steady_clock::now();  // the new route can take effect from the reload on
    return reload(ctx, "written");
  }

  bool can_undo() const override { return true; }
  std::optional<std::chrono::steady_clock::time_point> change_started() const override {
    return m_change_started;
  }

  nlohmann::json undo_state() const override {
    if (!m_pending) return nullptr;
    return {{"path", m_path}, {"existed", m_existed}, {"previous", m_previous}};
  }

  void adopt_undo_state(const nlohmann::json& state) override {
    if (!state.is_object() || json_text(state, "path") != m_path) return;
    m_adopted = m_pending = m_written =
        true;  // written, or about to be: restoring is right either way
    m_existed = json_bool(state, "existed");
    m_previous = json_text(state, "previous");
  }

  Outcome undo(const AttemptContext& ctx) override {
    if (!m_written)
      return Outcome::fail(Status::skipped, fmt::format("{} was not changed", m_path), Changed::no);
    if (m_existed) {
      mode_t mode = file_mode();
      if (auto written = write_atomically(m_path, m_previous, mode); !written)
        return failed(Status::failed, "write", written.error(), Changed::unknown);
    } else if (::unlink(m_path.c_str()) != 0) {
      return failed(Status::failed, "write", fmt::format("{}: {}", m_path, std::strerror(errno)),
                    Changed::unknown);
    }
    return reload(ctx, "restored");
  }

 private:
  mode_t file_mode() const {
    return static_cast<mode_t>(std::stoul(m_spec.str(k_mode), nullptr, 8));
  }

  // Runs the reload command once the file is `done` ("written", "restored").
  Outcome reload(const AttemptContext& ctx, const char* done) const {
    if (auto problem = run_command(m_spec.strings(k_reload), ctx); !problem.empty()) {
      return failed(Status::failed, "reload",
                    fmt::format("{} {}, but the reload failed: {}", m_path, done, problem),
                    Changed::yes);
    }
    Outcome outcome = Outcome::ok(fmt::format("{} {} and reloaded", m_path, done));
    outcome.changed = Changed::yes;
    return outcome;
  }

  // "" when the command exited 0, else what went wrong (with its stderr's tail).
  std::string run_command(const std::vector<std::string>& argv, const AttemptContext& ctx) const {
    ProcessSpec process;
    process.argv = argv;
    process.env = child_env();
    process.cwd = m_spec.str(k_cwd);
    auto result = run_process(process, ctx.deadline, ctx.cancel);
    std::string what = fmt::format("`{}`", join(argv, " "));
    switch (result.end) {
      case ProcessResult::End::exited:
        if (result.exit_code == 0) return "";
        return fmt::format("{} exited {}: {}", what, result.exit_code,
                           one_line(tail(result.err.empty() ? result.out : result.err, 3, 400)));
      case ProcessResult::End::spawn_failed:
        return fmt::format("{} could not start: {}", what, result.spawn_error);
      case ProcessResult::End::timed_out:
        return what + " timed out";
      case ProcessResult::End::cancelled:
        return what + " interrupted";
      case ProcessResult::End::signaled:
        return fmt::format("{} killed by signal {}", what, result.signal);
    }
    return what + " failed";
  }

  Spec m_spec;
  std::string m_path, m_previous;
  bool m_existed = false, m_written = false;
  bool m_pending = false;  // about to write, or written: there is an undo state
  bool m_adopted = false;  // the undo state came from an earlier process's journal
  std::optional<std::chrono::steady_clock::time_point> m_change_started;
};

class FileAndExecKind : public Kind {
 public:
  std::string_view name() const override { return "file_and_exec"; }
  std::string_view summary() const override {
    return "Write a proxy config atomically, precheck it, reload.";
  }
  bool allowed_as(Role role) const override { return role == Role::step; }
  const Fields& fields() const override {
    static const Fields fields = {k_path, k_content, k_mode, k_precheck, k_reload, k_cwd};
    return fields;
  }
  std::vector<SpecProblem> check_spec(const Spec& spec) const override {
    auto mode = spec.str(k_mode);
    if (mode.empty() || mode.find_first_not_of("01234567") != std::string::npos)
      return {{k_mode.name, "expected an octal mode such as 0644"}};
    return {};
  }
  std::string target(const Spec& spec) const override { return spec.str(k_path); }
  std::string describe(const Spec& spec) const override {
    return fmt::format("write {}{}, run `{}`", spec.str(k_path),
                       spec.has(k_precheck) ? fmt::format(" after `{}` accepts it",
                                                          join(spec.strings(k_precheck), " "))
                                            : "",
                       join(spec.strings(k_reload), " "));
  }
  // The old file is journaled before the new one is written.
  bool undo_state_before_changes(const Spec&) const override { return true; }
  std::string undo_description(const Spec& spec) const override {
    return fmt::format("restore the previous {}, reload", spec.str(k_path));
  }
  std::unique_ptr<Operation> prepare(const Spec& spec) const override {
    return std::make_unique<FileAndExecOperation>(spec);
  }
};

}  // namespace

std::unique_ptr<Kind> make_file_and_exec_kind() {
  return std::make_unique<FileAndExecKind>();
}

}  // namespace drctl
