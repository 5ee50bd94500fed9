#pragma once
// Reads a snapshot through a read-only mmap: the header, O(log n) lookups through the index,
// ordered scans, and a full verification that names the first bad entry or offset.
// Opening checks the structure (no count or offset may point outside the file, whatever the
// bytes); every entry a lookup returns is checked as it is read; verify() checks every byte.
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

// Why a snapshot was not opened: the file could not be read at all, or it is not a sound
// snapshot (truncated, damaged, another format version).
struct SnapshotOpenError {
  enum class Kind { unreadable, corrupt };
  Kind kind = Kind::corrupt;
  std::string message;  // "FILE: what is wrong (and at which offset)"
};

class SnapshotReader {
 public:
  // Opens and checks the structure without reading the entries: magic, version, that the
  // header's counts and offsets fit the file (overflow-safe), the footer's magic, the header
  // checksum, and every index slot (the first at the first entry, each inside the entries
  // section and at least an entry header after the one before). O(index), not O(file).
  static tl::expected<SnapshotReader, SnapshotOpenError> load(const std::string& path);
  // load(), the message only.
  static tl::expected<SnapshotReader, std::string> open(const std::string& path);
  // The same checks on an open file (left open).
  static tl::expected<SnapshotReader, std::string> open_fd(int fd, const std::string& name);
  SnapshotReader(SnapshotReader&& other) noexcept;
  SnapshotReader& operator=(SnapshotReader&&) = delete;
  ~SnapshotReader();

  const std::string& name() const { return m_name; }
  const snapshot::Header& header() const { return m_header; }
  std::string_view prefix() const;
  std::uint64_t size() const { return m_size; }

  // Every checksum, the key order, the index and the key count. "" when sound, else where
  // and what: "entry 17 (key /cfg/a) at offset 1234: checksum mismatch".
  std::string verify() const;

  // Lookups check each entry they read: that it fills the space between its index slot and
  // the next exactly, its checksum, and its key's order against the entries read around it.
  // An error (where and what, as verify() says it) when one is bad: never a wrong answer.
  tl::expected<std::optional<SnapshotEntry>, std::string> find(std::string_view key) const;
  // The index of the first key >= `key`.
  tl::expected<std::uint64_t, std::string> lower_bound(std::string_view key) const;
  // The entry at an index (nullopt past the last), its key checked against the one before.
  tl::expected<std::optional<SnapshotEntry>, std::string> at(std::uint64_t index) const;
  // Entries whose key starts with `prefix`, in key order; stop by returning false. "" when
  // every entry read was sound, else the problem (the entries before it were visited).
  std::string scan(std::string_view prefix,
                   const std::function<bool(const SnapshotEntry&)>& visit) const;

 private:
  SnapshotReader() = default;
  static tl::expected<SnapshotReader, SnapshotOpenError> map(int fd, const std::string& name,
                                                             bool owns_fd);
  std::string check_structure() const;
  std::uint64_t slot(std::uint64_t index) const;
  // The entry starting at `offset` if its header and bytes end by `end`.
  std::optional<SnapshotEntry> entry_within(std::uint64_t offset, std::uint64_t end) const;
  // Entry `index` (< key_count), checked: its extent against the index and its checksum.
  tl::expected<SnapshotEntry, std::string> entry_number(std::uint64_t index) const;

  std::string m_name;
  const char* m_data = nullptr;
  std::uint64_t m_size = 0;
  snapshot::Header m_header{};
};

}  // namespace drctl
