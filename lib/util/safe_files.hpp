#pragma once
// Files and directories drctl creates, often as root, in places other users may reach: nothing
// here follows a symlink someone else could have planted, opens an existing name it meant to
// create, or leaves a mode to the umask; a directory others can write (without the sticky bit)
// is refused, and what drctl later trusts (its journals) must be out of everyone else's reach.
// See docs/security.md.
#include <sys/types.h>

#include <optional>
#include <string>
#include <string_view>
#include <tl/expected.hpp>
#include <utility>

namespace drctl {

// A file descriptor, closed when this goes.
class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) : m_fd(fd) {}
  UniqueFd(UniqueFd&& other) noexcept : m_fd(std::exchange(other.m_fd, -1)) {}
  UniqueFd& operator=(UniqueFd&& other) noexcept;
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  ~UniqueFd();
  int get() const { return m_fd; }
  int release() { return std::exchange(m_fd, -1); }
  explicit operator bool() const { return m_fd >= 0; }

 private:
  int m_fd = -1;
};

// Why a path cannot be used: `message` is one line naming the path and what is wrong.
struct PathError {
  std::string message;
  bool unsafe = false;  // refused because someone else could change it (not a system error)
  int error = 0;        // errno, for a system error (ENOENT: it does not exist)
};

// How far out of others' reach a directory must be.
enum class DirTrust {
  // Writable by its owner only (not by its group, not by others), or sticky (like /tmp): a
  // directory drctl creates files in without ever following what others planted there (a cache
  // dir, --junit's directory, a config file's directory).
  not_shared,
  // Owned by you or root and writable by nobody else, sticky or not, and every directory above
  // it owned by you or root: where drctl keeps what it trusts later (the state dir, the journals).
  private_to_user,
};

// Opens the directory `path` (made absolute from the working directory) by walking it from /
// one name at a time, as the kernel would, checking each directory before looking inside it:
// none may be writable by group or others unless it is sticky and owned by you or root (with
// `private_to_user` each must be owned by you or root in any case), and a symlink in a sticky
// directory others can write is followed only when you, root or the directory's owner own it. The
// last directory must be `trust`. With `create_mode`, what is missing is created with exactly that
// mode (whatever the umask); a directory that exists keeps its mode. Returns the last directory
// opened O_PATH.
tl::expected<UniqueFd, PathError> open_dir_checked(const std::string& path, DirTrust trust,
                                                   std::optional<mode_t> create_mode = {});

// A new file `name` in the directory `dir_fd`: O_CREAT|O_EXCL|O_NOFOLLOW (never an existing
// name, never through a symlink), opened with `flags` (O_RDWR, O_WRONLY, ...), its mode exactly
// `mode`. `shown` names it in errors.
tl::expected<UniqueFd, PathError> create_file_at(int dir_fd, const std::string& name, int flags,
                                                 mode_t mode, const std::string& shown);

// A new file beside `path`, named `<path>.drctl-XXXXXX.tmp` (random; O_EXCL), mode exactly
// `mode`. The caller renames or unlinks it.
struct TempFile {
  UniqueFd fd;
  std::string path;
};
tl::expected<TempFile, PathError> create_temp_beside(const std::string& path, mode_t mode);

// Replaces `path` with `content`: the directory must be `not_shared`; a new temp file beside it
// (mode exactly `mode`), written, fsync'd, renamed over `path` (a symlink at `path` is replaced,
// never followed). Nothing is left behind when it fails.
tl::expected<void, PathError> replace_file(const std::string& path, std::string_view content,
                                           mode_t mode);

// `path` made anew for writing, mode exactly `mode`: its directory must be `not_shared`; what
// had that name is removed first (a symlink itself, never what it points at), then the file is
// created O_EXCL|O_NOFOLLOW.
tl::expected<UniqueFd, PathError> create_fresh_file(const std::string& path, mode_t mode);

// Why the open file `fd` (`shown` in the message) is not to be trusted, if it is not: it must be
// a regular file owned by you or root, writable by nobody else.
std::optional<PathError> untrusted_file(int fd, const std::string& shown);

// The directory a path is in ("." for a bare name, "/" for "/x").
std::string parent_dir(const std::string& path);

// "0755", "1777": a mode's permission bits as octal.
std::string mode_text(mode_t mode);

}  // namespace drctl
