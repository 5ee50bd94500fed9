#include "kinds/route_actions.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "clients/process.hpp"
#include "kinds/etcd_put.hpp"
#include "kinds/exec.hpp"
#include "kinds/http.hpp"
#include "util/json_fields.hpp"
#include "util/secrets.hpp"
#include "util/strings.hpp"

namespace drctl {
namespace {

// The kinds whose specs the etcd_put, http and exec actions reuse as they are.
const Kind& etcd_put_kind() {
  static const auto kind = make_etcd_put_kind();
  return *kind;
}
const Kind& http_kind() {
  static const auto kind = make_http_kind();
  return *kind;
}
const Kind& exec_kind() {
  static const auto kind = make_exec_kind();
  return *kind;
}

// The kind an action is carried out by, with its spec; no kind for file_and_exec.
struct Delegate {
  const Kind* kind = nullptr;
  Spec spec;
};
Delegate delegate(const Spec& spec) {
  if (spec.has("etcd_put")) return {&etcd_put_kind(), spec.object("etcd_put")};
  if (spec.has("http")) return {&http_kind(), spec.object("http")};
  if (spec.has("exec")) return {&exec_kind(), spec.object("exec")};
  return {nullptr, spec.object("file_and_exec")};
}

// An action carried out by another kind's operation; its undo is that operation's own
// (etcd_put) or the `undo:` spec run through the same kind (http, exec).
class KindAction : public RouteAction {
 public:
  KindAction(const Kind& kind, const Spec& spec) : m_kind(kind), m_spec(spec), m_operation(kind.prepare(spec)) {}
  Outcome apply(const AttemptContext& ctx) override { return m_operation->run(ctx); }
  bool can_undo() const override { return m_operation->can_undo() || m_spec.has("undo"); }
  Outcome undo(const AttemptContext& ctx) override {
    if (m_operation->can_undo()) return m_operation->undo(ctx);
    if (!m_spec.has("undo")) return Outcome::fail(Status::failed, "no undo: given for this action", Changed::no);
    return m_kind.prepare(m_spec.object("undo"))->run(ctx);
  }
  nlohmann::json undo_state() const override { return m_operation->undo_state(); }
  void adopt_undo_state(const nlohmann::json& state) override { m_operation->adopt_undo_state(state); }

 private:
  const Kind& m_kind;
  Spec m_spec;
  std::unique_ptr<Operation> m_operation;
};

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
tl::expected<void, std::string> write_atomically(const std::string& path, const std::string& content, mode_t mode) {
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
class FileAndExecAction : public RouteAction {
 public:
  explicit FileAndExecAction(const Spec& spec) : m_spec(spec), m_path(spec.str("path")) {}

  Outcome apply(const AttemptContext& ctx) override {
    mode_t mode = static_cast<mode_t>(std::stoul(m_spec.has("mode") ? m_spec.str("mode") : "0644", nullptr, 8));
    if (!m_adopted) m_previous = read_file(m_path, m_existed);  // a resumed run restores what was there first
    const std::string content = m_spec.str("content");
    if (m_spec.has("precheck")) {
      // The candidate sits beside the real file (same relative paths) until it passes.
      std::string candidate = m_path + ".drctl-candidate";
      if (auto written = write_atomically(candidate, content, mode); !written) return failed("write", written.error(), Changed::no);
      auto argv = m_spec.strings("precheck");
      for (auto& arg : argv) arg = replace_all(arg, "{candidate}", candidate);
      auto result = run(argv, ctx);
      ::unlink(candidate.c_str());
      if (!result.empty()) return failed("precheck", fmt::format("precheck failed, nothing changed: {}", result), Changed::no);
    }
    m_pending = true;
    if (!ctx.save_undo_state()) {
      m_pending = m_adopted;  // an adopted state still describes the killed attempt
      return Outcome::journal_refused();
    }
    if (auto written = write_atomically(m_path, content, mode); !written) return failed("write", written.error(), Changed::no);
    m_written = true;
    m_change_started = std::chrono::steady_clock::now();  // the new route can take effect from the reload on
    if (auto problem = run(m_spec.strings("reload"), ctx); !problem.empty()) {
      return failed("reload", fmt::format("{} written, but the reload failed: {}", m_path, problem), Changed::yes);
    }
    Outcome outcome = Outcome::ok(fmt::format("{} written and reloaded", m_path));
    outcome.changed = Changed::yes;
    return outcome;
  }

  bool can_undo() const override { return true; }
  std::optional<std::chrono::steady_clock::time_point> change_started() const override { return m_change_started; }

  nlohmann::json undo_state() const override {
    if (!m_pending) return nullptr;
    return {{"path", m_path}, {"existed", m_existed}, {"previous", m_previous}};
  }

  void adopt_undo_state(const nlohmann::json& state) override {
    if (!state.is_object() || json_text(state, "path") != m_path) return;
    m_adopted = m_pending = m_written = true;  // written, or about to be: restoring is right either way
    m_existed = json_bool(state, "existed");
    m_previous = json_text(state, "previous");
  }

  Outcome undo(const AttemptContext& ctx) override {
    if (!m_written) return Outcome::fail(Status::skipped, fmt::format("{} was not changed", m_path), Changed::no);
    if (m_existed) {
      mode_t mode = static_cast<mode_t>(std::stoul(m_spec.has("mode") ? m_spec.str("mode") : "0644", nullptr, 8));
      if (auto written = write_atomically(m_path, m_previous, mode); !written) return failed("write", written.error(), Changed::unknown);
    } else if (::unlink(m_path.c_str()) != 0) {
      return failed("write", fmt::format("{}: {}", m_path, std::strerror(errno)), Changed::unknown);
    }
    if (auto problem = run(m_spec.strings("reload"), ctx); !problem.empty()) {
      return failed("reload", fmt::format("{} restored, but the reload failed: {}", m_path, problem), Changed::yes);
    }
    Outcome outcome = Outcome::ok(fmt::format("{} restored and reloaded", m_path));
    outcome.changed = Changed::yes;
    return outcome;
  }

 private:
  // "" when the command exited 0, else what went wrong (with its stderr's tail).
  std::string run(const std::vector<std::string>& argv, const AttemptContext& ctx) {
    ProcessSpec process;
    process.argv = argv;
    process.env = child_env();
    process.cwd = m_spec.str("cwd");
    auto result = run_process(process, ctx.deadline, ctx.cancel);
    std::string what = fmt::format("`{}`", join(argv, " "));
    switch (result.end) {
      case ProcessResult::End::exited:
        if (result.exit_code == 0) return "";
        return fmt::format("{} exited {}: {}", what, result.exit_code, one_line(tail(result.err.empty() ? result.out : result.err, 3, 400)));
      case ProcessResult::End::spawn_failed: return fmt::format("{} could not start: {}", what, result.spawn_error);
      case ProcessResult::End::timed_out: return what + " timed out";
      case ProcessResult::End::cancelled: return what + " interrupted";
      case ProcessResult::End::signaled: return fmt::format("{} killed by signal {}", what, result.signal);
    }
    return what + " failed";
  }

  Outcome failed(const char* error, const std::string& message, Changed changed) const {
    Outcome outcome = Outcome::fail(Status::failed, redact(message), changed);
    outcome.evidence["error"] = error;
    return outcome;
  }

  Spec m_spec;
  std::string m_path, m_previous;
  bool m_existed = false, m_written = false;
  bool m_pending = false;  // about to write, or written: there is an undo state
  bool m_adopted = false;  // the undo state came from an earlier process's journal
  std::optional<std::chrono::steady_clock::time_point> m_change_started;
};

Fields with_undo(const Kind& kind, const char* doc) {
  Fields fields = kind.fields();
  fields.push_back(Field::object("undo", doc, kind.fields()));
  return fields;
}

}  // namespace

const std::vector<std::string>& route_action_names() {
  static const std::vector<std::string> names = {"etcd_put", "http", "file_and_exec", "exec"};
  return names;
}

Fields route_action_fields() {
  return {
      Field::object("etcd_put", "Put a key a gateway watches (as the etcd_put step; undo restores the previous value).", etcd_put_kind().fields()),
      Field::object("http", "Call an admin API (as the http kind); `undo:` is the call that reverses it.",
                    with_undo(http_kind(), "The call that reverses it (for rollback).")),
      Field::object("file_and_exec", "Write a proxy config atomically, precheck it, reload.", {
          Field::string("path", "The config file.").mandatory(),
          Field::string("content", "Its new content (${...} interpolated).").mandatory(),
          Field::string("mode", "File mode, octal.").defaults_to("0644"),
          Field::string_list("precheck", "Run before anything changes; {candidate} is the new file, e.g. [nginx, -t, -c, \"{candidate}\"]."),
          Field::string_list("reload", "Run after the file is in place, e.g. [nginx, -c, FILE, -s, reload].").mandatory(),
          Field::string("cwd", "Working directory of precheck and reload."),
      }),
      Field::object("exec", "Run a program (as the exec kind); `undo:` is the program that reverses it.",
                    with_undo(exec_kind(), "The program that reverses it (for rollback).")),
  };
}

std::vector<SpecProblem> check_route_action(const Spec& spec) {
  std::vector<SpecProblem> problems;
  std::vector<std::string> given;
  for (const auto& name : route_action_names()) {
    if (spec.has(name)) given.push_back(name);
  }
  if (given.size() != 1) {
    problems.push_back({given.empty() ? "" : given[1], fmt::format("give exactly one action: {}", join(route_action_names(), ", "))});
    return problems;
  }
  const std::string& name = given.front();
  if (auto action = delegate(spec); action.kind != nullptr) {
    for (auto problem : action.kind->check_spec(action.spec)) problems.push_back({name + (problem.key.empty() ? "" : "." + problem.key), problem.message});
  } else {
    auto mode = spec.object(name).str("mode");
    if (!mode.empty() && mode.find_first_not_of("01234567") != std::string::npos) problems.push_back({name + ".mode", "expected an octal mode such as 0644"});
  }
  return problems;
}

std::string describe_route_action(const Spec& spec) {
  auto action = delegate(spec);
  if (action.kind != nullptr) return action.kind->describe(action.spec);
  const Spec& file = action.spec;
  return fmt::format("write {}{}, run `{}`", file.str("path"),
                     file.has("precheck") ? fmt::format(" after `{}` accepts it", join(file.strings("precheck"), " ")) : "",
                     join(file.strings("reload"), " "));
}

bool route_action_undo_state_first(const Spec& spec) {
  auto action = delegate(spec);
  // FileAndExecAction journals the old file before writing the new one.
  return action.kind == nullptr || action.kind->undo_state_before_changes(action.spec);
}

std::unique_ptr<RouteAction> make_route_action(const Spec& spec) {
  auto action = delegate(spec);
  if (action.kind != nullptr) return std::make_unique<KindAction>(*action.kind, action.spec);
  return std::make_unique<FileAndExecAction>(action.spec);
}

}  // namespace drctl
