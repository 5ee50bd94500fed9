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
#include "util/safe_files.hpp"
#include "util/strings.hpp"

namespace drctl {
namespace {

const Field k_path = Field::string("path", "The config file.").mandatory();
const Field k_content =
    Field::string("content", "Its new content (${...} interpolated); or content_file.");
const Field k_content_file =
    Field::string("content_file",
                  "A file whose bytes are the new content, read when the step runs (not "
                  "interpolated); instead of content.");
const Field k_mode = Field::string("mode", "File mode, octal.").defaults_to("0644");
const Field k_precheck =
    Field::string_list("precheck",
                       "Run before the new file takes effect; {candidate} is the new file written "
                       "beside the real one, e.g. [nginx, -t, -c, \"{candidate}\"] (with "
                       "precheck_in_place: the whole config, {path} is the real file).");
const Field k_precheck_in_place =
    Field::boolean("precheck_in_place",
                   "Precheck with the new file under its real name (a file another one includes, "
                   "e.g. an nginx upstream file): restored if the precheck fails, never reloaded "
                   "in between.")
        .defaults_to(false);
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

// The whole of a file, or why not ("PATH: No such file or directory").
tl::expected<std::string, std::string> read_whole(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return tl::unexpected(fmt::format("{}: {}", path, std::strerror(errno)));
  std::string text;
  char buffer[65536];
  while (true) {
    ssize_t n = ::read(fd, buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int saved = errno;
      ::close(fd);
      return tl::unexpected(fmt::format("{}: {}", path, std::strerror(saved)));
    }
    if (n == 0) break;
    text.append(buffer, static_cast<std::size_t>(n));
  }
  ::close(fd);
  return text;
}

// The placeholder a precheck may use: {candidate} beside the real file, or {path} in place.
constexpr const char* k_candidate_placeholder = "{candidate}";
constexpr const char* k_path_placeholder = "{path}";

bool mentions(const std::vector<std::string>& argv, const char* placeholder) {
  for (const auto& arg : argv) {
    if (arg.find(placeholder) != std::string::npos) return true;
  }
  return false;
}

// Writes `content` to `path` through a new temp file beside it (random name, O_EXCL, mode
// exactly `mode`), fsync, rename: a symlink planted at either name is never followed, and a
// directory others can write (not sticky) is refused.
tl::expected<void, PathError> write_atomically(const std::string& path, const std::string& content,
                                               mode_t mode) {
  return replace_file(path, content, mode);
}

// The outcome of a write that failed: `unsafe_path` when its directory was refused, else
// `write`.
Outcome write_failure(const PathError& error, const std::string& path, Changed changed) {
  if (error.unsafe)
    return failed(Status::failed, "unsafe_path",
                  fmt::format("{}: refusing to write {}", error.message, path), changed);
  return failed(Status::failed, "write", error.message, changed);
}

// "" when the command exited 0, else what went wrong (with its stderr's tail).
std::string command_problem(const std::vector<std::string>& argv, const std::string& cwd,
                            const AttemptContext& ctx) {
  ProcessSpec process;
  process.argv = argv;
  process.env = child_env();
  process.cwd = cwd;
  if (ctx.process_started) process.started = ctx.process_started;
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

// The new content a spec gives: `content`, or the bytes of `content_file`.
tl::expected<std::string, std::string> content_of(const Spec& spec) {
  if (!spec.has(k_content_file)) return spec.str(k_content);
  auto text = read_whole(spec.str(k_content_file));
  if (!text) return tl::unexpected("content_file " + text.error());
  return text;
}

// A file as a preview reads it: its text when at most k_preview_text_max bytes, and, whatever
// its size, its summary (streamed: a huge file is never held whole) and mode.
struct PreviewRead {
  std::optional<std::string> text;
  TextSummary summary;
  mode_t mode = 0;
};

tl::expected<PreviewRead, std::string> read_for_preview(const std::string& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) return tl::unexpected(fmt::format("{}: {}", path, std::strerror(errno)));
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0)
    return tl::unexpected(fmt::format("{}: {}", path, std::strerror(errno)));
  PreviewRead read;
  read.mode = st.st_mode & 07777;
  read.text.emplace();
  TextSummarizer summarizer;
  char buffer[65536];
  while (true) {
    ssize_t n = ::read(fd.get(), buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return tl::unexpected(fmt::format("{}: {}", path, std::strerror(errno)));
    if (n == 0) break;
    std::string_view piece(buffer, static_cast<std::size_t>(n));
    summarizer.update(piece);
    if (read.text && read.text->size() + piece.size() <= k_preview_text_max)
      read.text->append(piece);
    else
      read.text.reset();
  }
  read.summary = summarizer.done();
  return read;
}

bool write_all(int fd, std::string_view bytes) {
  while (!bytes.empty()) {
    ssize_t n = ::write(fd, bytes.data(), bytes.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return false;
    bytes.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

// The candidate a precheck tests, beside `path` (same relative paths): a new file under a random
// name (O_EXCL: never an existing name, never through a symlink), mode 0600 whatever the step's
// mode (no one else reads what it holds), from `text`, else copied from `source` in pieces.
// Returns its name; the caller removes it.
tl::expected<std::string, std::string> write_candidate(const std::string& path,
                                                       const std::optional<std::string>& text,
                                                       const std::string& source) {
  auto temp = create_temp_beside(path, 0600);
  if (!temp) return tl::unexpected(temp.error().message);
  auto fail = [&](const std::string& why) {
    ::unlink(temp->path.c_str());
    return tl::unexpected(why);
  };
  if (text) {
    if (!write_all(temp->fd.get(), *text))
      return fail(fmt::format("{}: {}", temp->path, std::strerror(errno)));
    return temp->path;
  }
  UniqueFd in(::open(source.c_str(), O_RDONLY | O_CLOEXEC));
  if (!in) return fail(fmt::format("content_file {}: {}", source, std::strerror(errno)));
  char buffer[65536];
  while (true) {
    ssize_t n = ::read(in.get(), buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return fail(fmt::format("content_file {}: {}", source, std::strerror(errno)));
    if (n == 0) break;
    if (!write_all(temp->fd.get(), std::string_view(buffer, static_cast<std::size_t>(n))))
      return fail(fmt::format("{}: {}", temp->path, std::strerror(errno)));
  }
  return temp->path;
}

// The file now (or as an earlier step's preview leaves it) against the new content; the
// precheck run on a copy of the candidate beside the real file (same relative paths), which
// is removed again: the real file is never touched. A file that is not world-readable, or would
// not be, is shown as sizes, lines and SHA-256s only (it may hold credentials); so is one too
// large to diff.
Preview preview_file(const Spec& spec, const AttemptContext& ctx, PreviewOverlay& overlay) {
  Preview preview;
  const std::string path = spec.str(k_path);
  const std::string resource = "file:" + path;
  PreviewRead after;
  if (spec.has(k_content_file)) {
    auto read = read_for_preview(spec.str(k_content_file));
    if (!read) {
      preview.unreadable.push_back("content_file " + read.error());
      return preview;
    }
    after = std::move(*read);
  } else {
    after.text = spec.str(k_content);
    after.summary = TextSummary::of(*after.text);
  }
  const auto mode = static_cast<mode_t>(std::stoul(spec.str(k_mode), nullptr, 8));
  std::optional<PreviewRead> before;  // nullopt: absent
  std::optional<mode_t> live_mode;    // the file's mode now, when it exists
  std::string as_after;
  struct stat st {};
  const int stat_error = ::stat(path.c_str(), &st) == 0 ? 0 : errno;
  if (stat_error == 0) live_mode = st.st_mode & 07777;
  if (const auto* earlier = overlay.find(resource)) {
    as_after = earlier->step;
    if (earlier->value) {
      before.emplace();
      before->text = *earlier->value;
      before->summary = TextSummary::of(*earlier->value);
    }
  } else if (stat_error == ENOENT) {
    // absent now
  } else if (auto now = read_for_preview(path); !now) {
    preview.unreadable.push_back(now.error());
    return preview;
  } else {
    before = std::move(*now);
    live_mode = before->mode;
    if (before->mode != mode)
      preview.state("mode of " + path, fmt::format("{:04o}", before->mode),
                    fmt::format("{:04o}", mode));
  }
  // The real write refuses a directory others can write (util/safe_files.hpp): so does this.
  bool writable = true;
  if (auto dir = open_dir_checked(parent_dir(path), DirTrust::not_shared); !dir) {
    writable = false;
    preview.refusals.push_back(
        dir.error().unsafe ? fmt::format("{}: refusing to write {}", dir.error().message, path)
                           : "the write would fail: " + dir.error().message);
  }
  if (spec.has(k_precheck) && spec.boolean(k_precheck_in_place)) {
    preview.notes.push_back(fmt::format(
        "precheck `{}` not run: precheck_in_place tests the new file under its real name, which a "
        "preview never writes",
        join(spec.strings(k_precheck), " ")));
  } else if (spec.has(k_precheck) && !writable) {
    preview.notes.push_back(fmt::format("precheck `{}` not run: the file cannot be written there",
                                        join(spec.strings(k_precheck), " ")));
  } else if (spec.has(k_precheck)) {
    auto candidate = write_candidate(path, after.text, spec.str(k_content_file));
    if (!candidate) {
      preview.unreadable.push_back(
          fmt::format("precheck not run: the candidate could not be "
                      "written beside the file: {}",
                      candidate.error()));
    } else {
      auto argv = spec.strings(k_precheck);
      for (auto& arg : argv) arg = replace_all(arg, k_candidate_placeholder, *candidate);
      auto problem = command_problem(argv, spec.str(k_cwd), ctx);
      ::unlink(candidate->c_str());
      if (!problem.empty())
        preview.refusals.push_back("precheck fails on the candidate: " +
                                   replace_all(problem, *candidate, "{candidate}"));
    }
  }
  const std::string what = "file " + path;
  std::string hidden;
  if (live_mode && (*live_mode & S_IROTH) == 0)
    hidden = fmt::format("{} is not world-readable (mode {:04o}): it may hold credentials", path,
                         *live_mode);
  else if ((mode & S_IROTH) == 0)
    hidden = fmt::format(
        "the new file would not be world-readable (mode {:04o}): it may hold "
        "credentials",
        mode);
  else if (!after.text || (before && !before->text))
    hidden = fmt::format("larger than {} MiB: not diffed", k_preview_text_max >> 20);
  if (!hidden.empty()) {
    preview.hidden_text(what, before ? std::optional(before->summary) : std::nullopt, after.summary,
                        hidden, as_after);
  } else {
    preview.text(what, before ? *before->text : "", *after.text, as_after, before.has_value());
  }
  // A later step reads the file as this one leaves it (not when the content is too large to
  // hold: it reads the file as it is then).
  if (preview.refusals.empty() && after.text) overlay.set(resource, *after.text);
  return preview;
}

// Write a config file atomically, precheck it (beside the real one, or in its place for a file
// that is only valid inside the whole configuration), reload.
class FileAndExecOperation : public Operation {
 public:
  explicit FileAndExecOperation(const Spec& spec) : m_spec(spec), m_path(spec.str(k_path)) {}

  Outcome run(const AttemptContext& ctx) override {
    mode_t mode = file_mode();
    if (!m_adopted) {
      m_previous = read_file(m_path, m_existed);  // a resumed run restores what was there first
      struct stat st {};
      if (m_existed && ::stat(m_path.c_str(), &st) == 0) m_previous_mode = st.st_mode & 07777;
    }
    auto content = new_content();
    if (!content) return failed(Status::failed, "content_file", content.error(), Changed::no);
    const bool in_place = m_spec.boolean(k_precheck_in_place);
    if (m_spec.has(k_precheck) && !in_place) {
      // The candidate sits beside the real file (same relative paths) until it passes.
      std::string candidate = m_path + ".drctl-candidate";
      if (auto written = write_atomically(candidate, *content, mode); !written)
        return write_failure(written.error(), candidate, Changed::no);
      auto result = run_command(precheck_argv(k_candidate_placeholder, candidate), ctx);
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
    if (auto written = write_atomically(m_path, *content, mode); !written)
      return write_failure(written.error(), m_path, Changed::no);
    m_written = true;
    if (in_place) {
      // The whole configuration is tested with the new file under its real name; nothing is
      // reloaded until it passes, and a failure puts the previous bytes back first.
      auto result = run_command(precheck_argv(k_path_placeholder, m_path), ctx);
      if (!result.empty()) {
        if (auto restored = restore_previous(); !restored) {
          return failed(Status::failed, "precheck",
                        fmt::format("precheck failed with {} in place: {}; restoring it failed "
                                    "too: {} (nothing reloaded)",
                                    m_path, result, restored.error().message),
                        Changed::unknown);
        }
        m_written = false;
        return failed(
            Status::failed, "precheck",
            fmt::format("precheck failed, nothing changed ({} tested in place, restored, not "
                        "reloaded): {}",
                        m_path, result),
            Changed::no);
      }
    }
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
    if (auto restored = restore_previous(); !restored)
      return write_failure(restored.error(), m_path, Changed::unknown);
    return reload(ctx, "restored");
  }

 private:
  mode_t file_mode() const {
    return static_cast<mode_t>(std::stoul(m_spec.str(k_mode), nullptr, 8));
  }

  tl::expected<std::string, std::string> new_content() const { return content_of(m_spec); }

  std::vector<std::string> precheck_argv(const char* placeholder, const std::string& file) const {
    auto argv = m_spec.strings(k_precheck);
    for (auto& arg : argv) arg = replace_all(arg, placeholder, file);
    return argv;
  }

  // The previous bytes back under the real name (its mode as it was), or no file if there was
  // none.
  tl::expected<void, PathError> restore_previous() const {
    if (m_existed)
      return write_atomically(m_path, m_previous, m_previous_mode.value_or(file_mode()));
    if (::unlink(m_path.c_str()) != 0 && errno != ENOENT)
      return tl::unexpected(
          PathError{fmt::format("{}: {}", m_path, std::strerror(errno)), false, errno});
    return {};
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
    return command_problem(argv, m_spec.str(k_cwd), ctx);
  }

  Spec m_spec;
  std::string m_path, m_previous;
  std::optional<mode_t> m_previous_mode;  // the old file's mode, when this process read it
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
    static const Fields fields = {k_path,     k_content,           k_content_file, k_mode,
                                  k_precheck, k_precheck_in_place, k_reload,       k_cwd};
    return fields;
  }
  std::vector<SpecProblem> check_spec(const Spec& spec) const override {
    std::vector<SpecProblem> problems;
    auto mode = spec.str(k_mode);
    if (mode.empty() || mode.find_first_not_of("01234567") != std::string::npos)
      problems.push_back({k_mode.name, "expected an octal mode such as 0644"});
    if (spec.has(k_content) == spec.has(k_content_file))
      problems.push_back({spec.has(k_content) ? k_content_file.name : "",
                          "give content or content_file (exactly one)"});
    auto precheck = spec.strings(k_precheck);
    if (spec.boolean(k_precheck_in_place)) {
      if (!spec.has(k_precheck))
        problems.push_back({k_precheck_in_place.name,
                            "precheck_in_place needs precheck (the command that tests the whole "
                            "configuration, e.g. [nginx, -t, -c, /etc/nginx/nginx.conf])"});
      else if (mentions(precheck, k_candidate_placeholder))
        problems.push_back({k_precheck.name,
                            "{candidate} does not exist with precheck_in_place: the new file is "
                            "tested under its real name, {path}"});
    } else if (mentions(precheck, k_path_placeholder)) {
      problems.push_back({k_precheck.name,
                          "{path} is the real file, still the old one while precheck runs: test "
                          "{candidate}, or set precheck_in_place: true"});
    }
    return problems;
  }
  std::string target(const Spec& spec) const override { return spec.str(k_path); }
  std::string describe(const Spec& spec) const override {
    std::string what = spec.has(k_content_file) ? fmt::format("write {} from {}", spec.str(k_path),
                                                              spec.str(k_content_file))
                                                : fmt::format("write {}", spec.str(k_path));
    if (spec.has(k_precheck) && spec.boolean(k_precheck_in_place)) {
      what += fmt::format(", run `{}` with it in place (the old file back if that fails)",
                          join(spec.strings(k_precheck), " "));
    } else if (spec.has(k_precheck)) {
      what += fmt::format(" after `{}` accepts it", join(spec.strings(k_precheck), " "));
    }
    return fmt::format("{}, run `{}`", what, join(spec.strings(k_reload), " "));
  }
  // The old file is journaled before the new one is written.
  bool undo_state_before_changes(const Spec&) const override { return true; }
  std::string undo_description(const Spec& spec) const override {
    return fmt::format("restore the previous {}, reload", spec.str(k_path));
  }
  std::unique_ptr<Operation> prepare(const Spec& spec) const override {
    return std::make_unique<FileAndExecOperation>(spec);
  }
  Preview preview(const Spec& spec, const AttemptContext& ctx,
                  PreviewOverlay& overlay) const override {
    return preview_file(spec, ctx, overlay);
  }
};

}  // namespace

std::unique_ptr<Kind> make_file_and_exec_kind() {
  return std::make_unique<FileAndExecKind>();
}

}  // namespace drctl
