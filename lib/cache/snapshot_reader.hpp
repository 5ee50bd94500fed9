#pragma once
// Reads a snapshot through a read-only mmap: the header, O(log n) lookups through the index,
// ordered scans, and a full verification that names the first bad entry or offset.
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <tl/expected.hpp>

#include "cache/snapshot_format.hpp"

namespace drctl {

struct SnapshotEntry {
  std::string_view key, value;
  std::int64_t mod_revision = 0;
};

class SnapshotReader {
 public:
  // Checks the magic, version and that the layout fits the file; verify() checks the rest.
  static tl::expected<SnapshotReader, std::string> open(const std::string& path);
  static tl::expected<SnapshotReader, std::string> open_fd(int fd, const std::string& name);
  SnapshotReader(SnapshotReader&& other) noexcept;
  SnapshotReader& operator=(SnapshotReader&&) = delete;
  ~SnapshotReader();

  const snapshot::Header& header() const { return m_header; }
  std::string_view prefix() const;
  std::uint64_t size() const { return m_size; }

  // Every checksum, the key order, the index and the key count. "" when sound, else where
  // and what: "entry 17 (key /cfg/a) at offset 1234: checksum mismatch".
  std::string verify() const;

  std::optional<SnapshotEntry> find(std::string_view key) const;
  // The index of the first key >= `key`, and the entry at an index (ordered access).
  std::uint64_t lower_bound(std::string_view key) const;
  std::optional<SnapshotEntry> at(std::uint64_t index) const { return entry_number(index); }
  // Entries whose key starts with `prefix`, in key order; stop by returning false.
  void scan(std::string_view prefix, const std::function<bool(const SnapshotEntry&)>& visit) const;

 private:
  SnapshotReader() = default;
  static tl::expected<SnapshotReader, std::string> map(int fd, const std::string& name,
                                                       bool owns_fd);
  std::optional<SnapshotEntry> entry_at(std::uint64_t offset) const;
  std::optional<SnapshotEntry> entry_number(std::uint64_t index) const;

  std::string m_name;
  const char* m_data = nullptr;
  std::uint64_t m_size = 0;
  snapshot::Header m_header{};
};

}  // namespace drctl
