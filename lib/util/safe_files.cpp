#include "util/safe_files.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <limits.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <deque>
#include <vector>

namespace drctl {

UniqueFd& UniqueFd::operator=(UniqueFd&& other) noexcept {
  if (this != &other) {
    if (m_fd >= 0) ::close(m_fd);
    m_fd = std::exchange(other.m_fd, -1);
  }
  return *this;
}

UniqueFd::~UniqueFd() {
  if (m_fd >= 0) ::close(m_fd);
}

std::string mode_text(mode_t mode) {
  return fmt::format("{:04o}", mode & 07777);
}

std::string parent_dir(const std::string& path) {
  auto slash = path.find_last_of('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

namespace {

bool writable_by_others(mode_t mode) {
  return (mode & (S_IWGRP | S_IWOTH)) != 0;
}

bool yours_or_roots(uid_t owner) {
  return owner == 0 || owner == ::geteuid();
}

PathError system_error(const std::string& what, int error) {
  return {fmt::format("{}: {}", what, std::strerror(error)), false, error};
}

PathError unsafe(std::string message) {
  return {std::move(message), true, 0};
}

void append_names(const std::string& path, std::deque<std::string>& out, bool in_front) {
  std::vector<std::string> names;
  std::size_t start = 0;
  while (start <= path.size()) {
    auto slash = path.find('/', start);
    if (slash == std::string::npos) slash = path.size();
    std::string name = path.substr(start, slash - start);
    if (!name.empty() && name != ".") names.push_back(std::move(name));
    start = slash + 1;
  }
  if (in_front)
    out.insert(out.begin(), names.begin(), names.end());
  else
    out.insert(out.end(), names.begin(), names.end());
}

struct Level {
  UniqueFd fd;
  std::string path;  // as resolved: no symlink in it
  struct stat st {};
};

// The rule every directory passed through keeps.
std::optional<PathError> passable(const Level& dir, DirTrust trust) {
  if (trust == DirTrust::private_to_user && !yours_or_roots(dir.st.st_uid))
    return unsafe(
        fmt::format("{} is owned by uid {}, neither you nor root", dir.path, dir.st.st_uid));
  if (writable_by_others(dir.st.st_mode) && (dir.st.st_mode & S_ISVTX) == 0)
    return unsafe(fmt::format("{} is writable by group or others (mode {}) and not sticky",
                              dir.path, mode_text(dir.st.st_mode)));
  // The owner of a sticky directory may still remove or rename anything in it.
  if (writable_by_others(dir.st.st_mode) && !yours_or_roots(dir.st.st_uid))
    return unsafe(fmt::format(
        "{} is writable by group or others (mode {}) and owned by uid {}, neither you nor root",
        dir.path, mode_text(dir.st.st_mode), dir.st.st_uid));
  return std::nullopt;
}

}  // namespace

tl::expected<UniqueFd, PathError> open_dir_checked(const std::string& path, DirTrust trust,
                                                   std::optional<mode_t> create_mode) {
  if (path.empty()) return tl::unexpected(PathError{"an empty path", false, ENOENT});
  std::deque<std::string> pending;
  if (path[0] != '/') {
    char cwd[PATH_MAX];
    if (::getcwd(cwd, sizeof cwd) == nullptr)
      return tl::unexpected(system_error("the working directory", errno));
    append_names(cwd, pending, false);
  }
  append_names(path, pending, false);

  std::vector<Level> chain;
  Level root;
  root.path = "/";
  root.fd = UniqueFd(::open("/", O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!root.fd || ::fstat(root.fd.get(), &root.st) != 0)
    return tl::unexpected(system_error("/", errno));
  if (auto problem = passable(root, trust)) return tl::unexpected(*problem);
  chain.push_back(std::move(root));
  int symlinks = 0;

  while (!pending.empty()) {
    std::string name = std::move(pending.front());
    pending.pop_front();
    if (name == "..") {
      if (chain.size() > 1) chain.pop_back();
      continue;
    }
    const Level& parent = chain.back();
    std::string here = parent.path == "/" ? "/" + name : parent.path + "/" + name;
    struct stat st {};
    if (::fstatat(parent.fd.get(), name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
      if (errno != ENOENT || !create_mode) return tl::unexpected(system_error(here, errno));
      if (::mkdirat(parent.fd.get(), name.c_str(), *create_mode) == 0) {
        // Exactly this mode, whatever the umask took away; never through a symlink, should the
        // parent's owner have swapped one in meanwhile.
        if (::fchmodat(parent.fd.get(), name.c_str(), *create_mode, AT_SYMLINK_NOFOLLOW) != 0) {
          if (errno == EOPNOTSUPP || errno == ENOTSUP || errno == ELOOP)
            return tl::unexpected(
                unsafe(fmt::format("{} was replaced by a symlink as it was created", here)));
          return tl::unexpected(system_error("chmod " + here, errno));
        }
      } else if (errno != EEXIST) {
        return tl::unexpected(system_error("cannot create " + here, errno));
      }
      if (::fstatat(parent.fd.get(), name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0)
        return tl::unexpected(system_error(here, errno));
    }
    if (S_ISLNK(st.st_mode)) {
      if (++symlinks > 40) return tl::unexpected(system_error(here, ELOOP));
      // In a sticky directory others can write, a symlink is only as good as its owner.
      if (writable_by_others(parent.st.st_mode) && !yours_or_roots(st.st_uid) &&
          st.st_uid != parent.st.st_uid)
        return tl::unexpected(unsafe(fmt::format(
            "{} is a symlink owned by uid {} in {}, which others can write: not followed", here,
            st.st_uid, parent.path)));
      std::vector<char> target(static_cast<std::size_t>(st.st_size > 0 ? st.st_size : PATH_MAX) +
                               1);
      ssize_t n = ::readlinkat(parent.fd.get(), name.c_str(), target.data(), target.size());
      if (n < 0) return tl::unexpected(system_error(here, errno));
      if (static_cast<std::size_t>(n) >= target.size())
        return tl::unexpected(system_error(here, ENAMETOOLONG));
      std::string link(target.data(), static_cast<std::size_t>(n));
      if (link.empty()) return tl::unexpected(system_error(here, ENOENT));
      if (link[0] == '/') chain.resize(1);
      append_names(link, pending, true);
      continue;
    }
    if (!S_ISDIR(st.st_mode)) return tl::unexpected(system_error(here, ENOTDIR));
    Level level;
    level.path = here;
    level.fd = UniqueFd(
        ::openat(parent.fd.get(), name.c_str(), O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (!level.fd || ::fstat(level.fd.get(), &level.st) != 0)
      return tl::unexpected(system_error(here, errno));
    if (auto problem = passable(level, trust)) return tl::unexpected(*problem);
    chain.push_back(std::move(level));
  }

  const Level& last = chain.back();
  if (trust == DirTrust::private_to_user && writable_by_others(last.st.st_mode))
    return tl::unexpected(unsafe(fmt::format("{} is writable by group or others (mode {})",
                                             last.path, mode_text(last.st.st_mode))));
  return std::move(chain.back().fd);
}

tl::expected<UniqueFd, PathError> create_file_at(int dir_fd, const std::string& name, int flags,
                                                 mode_t mode, const std::string& shown) {
  UniqueFd fd(
      ::openat(dir_fd, name.c_str(), flags | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode));
  if (!fd) return tl::unexpected(system_error(shown, errno));
  if (::fchmod(fd.get(), mode) != 0) {
    int error = errno;
    ::unlinkat(dir_fd, name.c_str(), 0);
    return tl::unexpected(system_error("chmod " + shown, error));
  }
  return fd;
}

tl::expected<TempFile, PathError> create_temp_beside(const std::string& path, mode_t mode) {
  TempFile temp;
  temp.path = path + ".drctl-XXXXXX.tmp";
  // mkostemps: O_CREAT|O_EXCL under a random name, so never an existing file or a symlink.
  temp.fd = UniqueFd(::mkostemps(temp.path.data(), 4, O_CLOEXEC));
  if (!temp.fd) return tl::unexpected(system_error(path + ".drctl-*.tmp", errno));
  if (::fchmod(temp.fd.get(), mode) != 0) {
    int error = errno;
    ::unlink(temp.path.c_str());
    return tl::unexpected(system_error("chmod " + temp.path, error));
  }
  return temp;
}

tl::expected<void, PathError> replace_file(const std::string& path, std::string_view content,
                                           mode_t mode) {
  if (auto dir = open_dir_checked(parent_dir(path), DirTrust::not_shared); !dir)
    return tl::unexpected(dir.error());
  auto temp = create_temp_beside(path, mode);
  if (!temp) return tl::unexpected(temp.error());
  auto fail = [&](int error) {
    ::unlink(temp->path.c_str());
    return tl::unexpected(system_error(temp->path, error));
  };
  const char* data = content.data();
  std::size_t left = content.size();
  while (left > 0) {
    ssize_t n = ::write(temp->fd.get(), data, left);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return fail(errno);
    data += n;
    left -= static_cast<std::size_t>(n);
  }
  if (::fsync(temp->fd.get()) != 0) return fail(errno);
  if (::close(temp->fd.release()) != 0) return fail(errno);
  if (::rename(temp->path.c_str(), path.c_str()) != 0) {
    int error = errno;
    ::unlink(temp->path.c_str());
    return tl::unexpected(system_error(path, error));
  }
  return {};
}

tl::expected<UniqueFd, PathError> create_fresh_file(const std::string& path, mode_t mode) {
  auto dir = open_dir_checked(parent_dir(path), DirTrust::not_shared);
  if (!dir) return tl::unexpected(dir.error());
  auto slash = path.find_last_of('/');
  std::string name = slash == std::string::npos ? path : path.substr(slash + 1);
  if (name.empty() || name == "." || name == "..")
    return tl::unexpected(PathError{fmt::format("{}: not a file name", path), false, EISDIR});
  if (::unlinkat(dir->get(), name.c_str(), 0) != 0 && errno != ENOENT)
    return tl::unexpected(system_error(path, errno));
  return create_file_at(dir->get(), name, O_WRONLY, mode, path);
}

std::optional<PathError> untrusted_file(int fd, const std::string& shown) {
  struct stat st {};
  if (::fstat(fd, &st) != 0) return system_error(shown, errno);
  if (!S_ISREG(st.st_mode)) return unsafe(fmt::format("{} is not a regular file", shown));
  if (!yours_or_roots(st.st_uid))
    return unsafe(fmt::format("{} is owned by uid {}, neither you nor root", shown, st.st_uid));
  if (writable_by_others(st.st_mode))
    return unsafe(
        fmt::format("{} is writable by group or others (mode {})", shown, mode_text(st.st_mode)));
  return std::nullopt;
}

}  // namespace drctl
