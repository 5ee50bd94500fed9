#pragma once
// A snapshot directory: versioned files `snapshot-000042.drs`, a `current` symlink that is
// only ever switched by renaming a new symlink over it, and a `.lock` so two writers never
// share the directory.
#include <optional>
#include <string>
#include <tl/expected.hpp>
#include <vector>

namespace drctl {

struct SnapshotVersion {
  int number = 0;
  std::string name;  // snapshot-000042.drs
  std::string path;
};

class SnapshotStore {
 public:
  // `create`: make the directory (0750) if it does not exist.
  static tl::expected<SnapshotStore, std::string> open(const std::string& dir, bool create);
  SnapshotStore(SnapshotStore&& other) noexcept;
  SnapshotStore& operator=(SnapshotStore&&) = delete;
  ~SnapshotStore();

  // An exclusive, non-blocking lock on DIR/.lock; the error names the holder's pid.
  tl::expected<void, std::string> lock();

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
  int m_lock_fd = -1;
};

}  // namespace drctl
