#pragma once
// A snapshot directory: versioned files `snapshot-000042.drs`, a `current` symlink that is
// only ever switched by renaming a new symlink over it, and a `.lock` so two writers never
// share the directory.
#include <optional>
#include <string>
#include <tl/expected.hpp>
#include <vector>

#include "util/safe_files.hpp"

namespace drctl {

struct SnapshotVersion {
  int number = 0;
  std::string name;  // snapshot-000042.drs
  std::string path;
};

class SnapshotStore {
 public:
  // For reading. `create`: open_for_writing(dir, true), its error as text.
  static tl::expected<SnapshotStore, std::string> open(const std::string& dir, bool create);
  // For a writer (then lock()): `dir` must be not_shared (writable by its owner only, or
  // sticky; PathError::unsafe otherwise); with `create`, made if missing, 0750 whatever the
  // umask (so is any missing directory above it). An existing directory keeps its mode.
  static tl::expected<SnapshotStore, PathError> open_for_writing(const std::string& dir,
                                                                 bool create);
  SnapshotStore(SnapshotStore&& other) noexcept;
  SnapshotStore& operator=(SnapshotStore&&) = delete;
  ~SnapshotStore();

  // An exclusive, non-blocking lock on DIR/.lock (a store from open_for_writing); the error
  // names the holder's pid. .lock is created 0640 (whatever the umask), or must be a regular
  // file with one link owned by you or root: never a symlink (PathError::unsafe otherwise).
  tl::expected<void, PathError> lock();

  std::vector<SnapshotVersion> versions() const;  // oldest first
  std::optional<std::string> current() const;     // the name `current` points at
  std::string next_name() const;
  const std::string& dir() const { return m_dir; }

  // Points `current` at `name` atomically (new symlink, rename over, fsync the directory).
  tl::expected<void, std::string> switch_current(const std::string& name);
  tl::expected<void, std::string> remove_current();
  tl::expected<void, std::string> sync_dir() const;
  // Removes all but the newest `keep` versions, never one named in `protect`.
  std::vector<std::string> prune(int keep, const std::vector<std::string>& protect);

 private:
  SnapshotStore() = default;
  std::string m_dir;
  UniqueFd m_dir_fd;  // O_PATH, checked: for a writer
  UniqueFd m_lock_fd;
};

}  // namespace drctl
