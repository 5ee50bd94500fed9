#include "cache/snapshot_store.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <random>

namespace drctl {
namespace {

std::string errno_text() {
  return std::strerror(errno);
}

std::optional<int> version_of(const std::string& name) {
  // snapshot-NNNNNN.drs
  if (name.size() != 19 || name.rfind("snapshot-", 0) != 0 || name.substr(15) != ".drs")
    return std::nullopt;
  try {
    return std::stoi(name.substr(9, 6));
  } catch (...) {
    return std::nullopt;
  }
}

}  // namespace

tl::expected<SnapshotStore, std::string> SnapshotStore::open(const std::string& dir, bool create) {
  if (create) {
    auto store = open_for_writing(dir, true);
    if (!store) return tl::unexpected(store.error().message);
    return std::move(*store);
  }
  struct stat st {};
  if (::stat(dir.c_str(), &st) != 0)
    return tl::unexpected(fmt::format("{}: {}", dir, errno_text()));
  if (!S_ISDIR(st.st_mode)) return tl::unexpected(fmt::format("{}: not a directory", dir));
  SnapshotStore store;
  store.m_dir = dir;
  return store;
}

tl::expected<SnapshotStore, PathError> SnapshotStore::open_for_writing(const std::string& dir,
                                                                       bool create) {
  auto opened = open_dir_checked(dir, DirTrust::not_shared,
                                 create ? std::optional<mode_t>(0750) : std::nullopt);
  if (!opened) {
    PathError error = opened.error();
    error.message =
        error.unsafe ? fmt::format("{}: refusing to write snapshots in {}", error.message, dir)
                     : fmt::format("{}{}: {}", create ? "cannot create " : "", dir, error.message);
    return tl::unexpected(error);
  }
  SnapshotStore store;
  store.m_dir = dir;
  store.m_dir_fd = std::move(*opened);
  return store;
}

SnapshotStore::SnapshotStore(SnapshotStore&& other) noexcept
    : m_dir(std::move(other.m_dir)),
      m_dir_fd(std::move(other.m_dir_fd)),
      m_lock_fd(std::move(other.m_lock_fd)) {}

SnapshotStore::~SnapshotStore() = default;  // closing the lock file releases the flock

tl::expected<void, PathError> SnapshotStore::lock() {
  std::string path = m_dir + "/.lock";
  if (!m_dir_fd) return tl::unexpected(PathError{path + ": the store is not open for writing"});
  // Created here (0640, whatever the umask), or the one a writer left: never through a
  // symlink, and only a plain file of ours (a hard link to another file has more than one
  // link), since its pid is written into it.
  auto created = create_file_at(m_dir_fd.get(), ".lock", O_RDWR | O_NONBLOCK, 0640, path);
  UniqueFd fd;
  if (created) {
    fd = std::move(*created);
  } else if (created.error().error == EEXIST) {
    fd = UniqueFd(::openat(m_dir_fd.get(), ".lock", O_RDWR | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC));
    if (!fd && errno == ELOOP)
      return tl::unexpected(PathError{fmt::format("{} is a symlink: not followed", path), true});
    if (!fd)
      return tl::unexpected(PathError{
          fmt::format("{}: cannot open the lock file: {}", path, errno_text()), false, errno});
    struct stat st {};
    if (::fstat(fd.get(), &st) != 0)
      return tl::unexpected(PathError{fmt::format("{}: {}", path, errno_text()), false, errno});
    if (!S_ISREG(st.st_mode))
      return tl::unexpected(PathError{
          fmt::format("{} is not a regular file: not used as the lock file", path), true});
    if (st.st_uid != 0 && st.st_uid != ::geteuid())
      return tl::unexpected(PathError{
          fmt::format("{} is owned by uid {}, neither you nor root: not used as the lock file",
                      path, st.st_uid),
          true});
    if (st.st_nlink != 1)
      return tl::unexpected(PathError{
          fmt::format("{} has {} links (a hard link to another file?): not used as the lock file",
                      path, st.st_nlink),
          true});
  } else {
    return tl::unexpected(
        PathError{fmt::format("{}: cannot open the lock file: {}", path, created.error().message),
                  false, created.error().error});
  }
  if (::flock(fd.get(), LOCK_EX | LOCK_NB) != 0) {
    int saved = errno;
    char holder[32] = {};
    ssize_t n = ::pread(fd.get(), holder, sizeof holder - 1, 0);
    if (saved == EWOULDBLOCK) {
      return tl::unexpected(PathError{
          fmt::format("{} is being written by another run (lock {} held by pid {})", m_dir, path,
                      n > 0 ? std::string(holder, static_cast<std::size_t>(n)) : "?")});
    }
    return tl::unexpected(PathError{fmt::format("{}: flock: {}", path, std::strerror(saved))});
  }
  std::string pid = std::to_string(::getpid());
  if (::ftruncate(fd.get(), 0) != 0 ||
      ::pwrite(fd.get(), pid.data(), pid.size(), 0) < 0) { /* the pid is only a hint */
  }
  m_lock_fd = std::move(fd);
  return {};
}

std::vector<SnapshotVersion> SnapshotStore::versions() const {
  std::vector<SnapshotVersion> out;
  std::error_code error;
  for (const auto& item : std::filesystem::directory_iterator(m_dir, error)) {
    std::string name = item.path().filename().string();
    if (auto number = version_of(name);
        number && item.symlink_status(error).type() == std::filesystem::file_type::regular)
      out.push_back({*number, name, item.path().string()});
  }
  std::sort(out.begin(), out.end(),
            [](const auto& a, const auto& b) { return a.number < b.number; });
  return out;
}

std::optional<std::string> SnapshotStore::current() const {
  std::error_code error;
  auto target = std::filesystem::read_symlink(m_dir + "/current", error);
  if (error) return std::nullopt;
  return target.filename().string();
}

std::string SnapshotStore::next_name() const {
  auto all = versions();
  int next = all.empty() ? 1 : all.back().number + 1;
  return fmt::format("snapshot-{:06d}.drs", next);
}

tl::expected<void, std::string> SnapshotStore::sync_dir() const {
  int fd = ::open(m_dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return tl::unexpected(fmt::format("{}: {}", m_dir, errno_text()));
  int rc = ::fsync(fd);
  int saved = errno;
  ::close(fd);
  if (rc != 0) return tl::unexpected(fmt::format("fsync {}: {}", m_dir, std::strerror(saved)));
  return {};
}

tl::expected<void, std::string> SnapshotStore::switch_current(const std::string& name) {
  // The new symlink under a name nobody could have guessed (symlink() never replaces one).
  static std::mt19937_64 random{std::random_device{}()};
  std::string temp;
  int tries = 0;
  while (true) {
    temp = fmt::format("{}/.current-{}-{:08x}.tmp", m_dir, ::getpid(), random() & 0xffffffffu);
    if (::symlink(name.c_str(), temp.c_str()) == 0) break;
    if (errno != EEXIST || ++tries == 10)
      return tl::unexpected(fmt::format("{}: symlink: {}", temp, errno_text()));
  }
  if (::rename(temp.c_str(), (m_dir + "/current").c_str()) != 0) {
    int saved = errno;
    ::unlink(temp.c_str());
    return tl::unexpected(fmt::format("{}/current: rename: {}", m_dir, std::strerror(saved)));
  }
  return sync_dir();
}

tl::expected<void, std::string> SnapshotStore::remove_current() {
  if (::unlink((m_dir + "/current").c_str()) != 0 && errno != ENOENT)
    return tl::unexpected(fmt::format("{}/current: {}", m_dir, errno_text()));
  return sync_dir();
}

std::vector<std::string> SnapshotStore::prune(int keep, const std::vector<std::string>& protect) {
  std::vector<std::string> removed;
  auto all = versions();
  int excess = static_cast<int>(all.size()) - std::max(keep, 1);
  for (const auto& version : all) {
    if (excess <= 0) break;
    if (std::find(protect.begin(), protect.end(), version.name) != protect.end()) continue;
    if (::unlink(version.path.c_str()) == 0) {
      removed.push_back(version.name);
      --excess;
    }
  }
  return removed;
}

}  // namespace drctl
