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
#include <fstream>

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
  struct stat st {};
  if (::stat(dir.c_str(), &st) != 0) {
    if (!create || errno != ENOENT) return tl::unexpected(fmt::format("{}: {}", dir, errno_text()));
    std::error_code error;
    std::filesystem::create_directories(dir, error);
    if (error) return tl::unexpected(fmt::format("cannot create {}: {}", dir, error.message()));
    ::chmod(dir.c_str(), 0750);
  } else if (!S_ISDIR(st.st_mode)) {
    return tl::unexpected(fmt::format("{}: not a directory", dir));
  }
  SnapshotStore store;
  store.m_dir = dir;
  return store;
}

SnapshotStore::SnapshotStore(SnapshotStore&& other) noexcept
    : m_dir(std::move(other.m_dir)), m_lock_fd(other.m_lock_fd) {
  other.m_lock_fd = -1;
}

SnapshotStore::~SnapshotStore() {
  if (m_lock_fd >= 0) ::close(m_lock_fd);  // releases the flock
}

tl::expected<void, std::string> SnapshotStore::lock() {
  std::string path = m_dir + "/.lock";
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0640);
  if (fd < 0)
    return tl::unexpected(fmt::format("{}: cannot open the lock file: {}", path, errno_text()));
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    int saved = errno;
    char holder[32] = {};
    ssize_t n = ::pread(fd, holder, sizeof holder - 1, 0);
    ::close(fd);
    if (saved == EWOULDBLOCK) {
      return tl::unexpected(
          fmt::format("{} is being written by another run (lock {} held by pid {})", m_dir, path,
                      n > 0 ? std::string(holder, static_cast<std::size_t>(n)) : "?"));
    }
    return tl::unexpected(fmt::format("{}: flock: {}", path, std::strerror(saved)));
  }
  std::string pid = std::to_string(::getpid());
  if (::ftruncate(fd, 0) != 0 ||
      ::pwrite(fd, pid.data(), pid.size(), 0) < 0) { /* the pid is only a hint */
  }
  m_lock_fd = fd;
  return {};
}

std::vector<SnapshotVersion> SnapshotStore::versions() const {
  std::vector<SnapshotVersion> out;
  std::error_code error;
  for (const auto& item : std::filesystem::directory_iterator(m_dir, error)) {
    std::string name = item.path().filename().string();
    if (auto number = version_of(name); number && item.is_regular_file(error))
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
  std::string temp = fmt::format("{}/.current-{}.tmp", m_dir, ::getpid());
  ::unlink(temp.c_str());
  if (::symlink(name.c_str(), temp.c_str()) != 0)
    return tl::unexpected(fmt::format("{}: symlink: {}", temp, errno_text()));
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
