#include "cache/snapshot_reader.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#define XXH_STATIC_LINKING_ONLY  // XXH3_state_t on the stack
#include <xxhash.h>

#include <cerrno>
#include <cstring>

namespace drctl {
namespace {

constexpr std::uint64_t k_slot = sizeof(std::uint64_t);
constexpr std::uint64_t k_entry_header = sizeof(snapshot::EntryHeader);

// A key as it may appear in a one-line message: at most 200 bytes, control and non-ASCII
// bytes as \xNN (a damaged key may hold anything, a newline included).
std::string printable(std::string_view key) {
  std::string out;
  for (unsigned char c : key.substr(0, 200)) {
    if (c >= 0x20 && c < 0x7f && c != '\\')
      out += static_cast<char>(c);
    else
      out += fmt::format("\\x{:02x}", c);
  }
  if (key.size() > 200) out += "...";
  return out;
}

}  // namespace

tl::expected<SnapshotReader, SnapshotOpenError> SnapshotReader::load(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    return tl::unexpected(SnapshotOpenError{SnapshotOpenError::Kind::unreadable,
                                            fmt::format("{}: {}", path, std::strerror(errno))});
  }
  return map(fd, path, true);
}

tl::expected<SnapshotReader, std::string> SnapshotReader::open(const std::string& path) {
  return load(path).map_error([](SnapshotOpenError e) { return std::move(e.message); });
}

tl::expected<SnapshotReader, std::string> SnapshotReader::open_fd(int fd, const std::string& name) {
  return map(fd, name, false).map_error([](SnapshotOpenError e) { return std::move(e.message); });
}

tl::expected<SnapshotReader, SnapshotOpenError> SnapshotReader::map(int fd, const std::string& name,
                                                                    bool owns_fd) {
  auto unreadable = [&](const std::string& what) {
    return tl::unexpected(
        SnapshotOpenError{SnapshotOpenError::Kind::unreadable, fmt::format("{}: {}", name, what)});
  };
  auto corrupt = [&](const std::string& what) {
    return tl::unexpected(
        SnapshotOpenError{SnapshotOpenError::Kind::corrupt, fmt::format("{}: {}", name, what)});
  };
  struct stat st {};
  int saved = 0;
  if (::fstat(fd, &st) != 0) saved = errno;
  auto close_fd = [&] {
    if (owns_fd) ::close(fd);
  };
  if (saved != 0) {
    close_fd();
    return unreadable(std::strerror(saved));
  }
  if (!S_ISREG(st.st_mode)) {
    close_fd();
    return unreadable("not a regular file");
  }
  SnapshotReader reader;
  reader.m_name = name;
  reader.m_size = static_cast<std::uint64_t>(st.st_size);
  if (reader.m_size < sizeof(snapshot::Header) + sizeof(snapshot::Footer)) {
    close_fd();
    return corrupt(
        fmt::format("truncated: {} bytes, smaller than a header and a footer", reader.m_size));
  }
  void* data = ::mmap(nullptr, reader.m_size, PROT_READ, MAP_SHARED, fd, 0);
  saved = errno;
  close_fd();  // the mapping stays valid
  if (data == MAP_FAILED) return unreadable(fmt::format("mmap: {}", std::strerror(saved)));
  reader.m_data = static_cast<const char*>(data);
  std::memcpy(&reader.m_header, reader.m_data, sizeof reader.m_header);
  const auto& h = reader.m_header;
  if (std::memcmp(h.magic, snapshot::k_magic, sizeof h.magic) != 0)
    return corrupt("offset 0: not a drctl snapshot (bad magic)");
  if (h.format_version != snapshot::k_format_version) {
    return corrupt(fmt::format("offset 8: format version {} (this drctl reads {})",
                               h.format_version, snapshot::k_format_version));
  }
  if (auto problem = reader.check_structure(); !problem.empty()) return corrupt(problem);
  return reader;
}

// Every comparison below subtracts only a smaller value from a larger one, so no count or
// offset from the file can wrap around (key_count * 8 would, for key_count >= 2^61).
std::string SnapshotReader::check_structure() const {
  const auto& h = m_header;
  const std::uint64_t footer_at = m_size - sizeof(snapshot::Footer);  // m_size >= 96
  if (h.footer_offset != footer_at || h.index_offset > h.footer_offset ||
      h.entries_offset > h.index_offset) {
    return fmt::format(
        "truncated or damaged: the header's layout (entries at {}, index at {}, footer at {}) "
        "does not fit the file's {} bytes",
        h.entries_offset, h.index_offset, h.footer_offset, m_size);
  }
  if (h.entries_offset != sizeof(snapshot::Header) + std::uint64_t{h.prefix_length}) {
    return fmt::format(
        "offset 12: damaged header: a prefix of {} bytes puts the entries at {}, "
        "the header says {}",
        h.prefix_length, sizeof(snapshot::Header) + std::uint64_t{h.prefix_length},
        h.entries_offset);
  }
  const std::uint64_t index_bytes = h.footer_offset - h.index_offset;
  if (index_bytes % k_slot != 0 || index_bytes / k_slot != h.key_count) {
    return fmt::format(
        "offset 32: damaged header: key_count {} does not match the index ({} bytes at {}: {} "
        "slots)",
        h.key_count, index_bytes, h.index_offset, index_bytes / k_slot);
  }
  snapshot::Footer footer;
  std::memcpy(&footer, m_data + footer_at, sizeof footer);
  if (std::memcmp(footer.magic, snapshot::k_footer_magic, sizeof footer.magic) != 0)
    return fmt::format("offset {}: bad footer magic (truncated or overwritten)", footer_at + 16);
  if (XXH3_64bits(m_data, h.entries_offset) != footer.header_checksum)
    return fmt::format("offset 0-{}: header checksum mismatch", h.entries_offset);
  // The index: entry 0 first, then each slot at least an entry header after the one before,
  // and room for an entry header before the index. Each entry's own length is checked when it
  // is read (entry_number), against the next slot.
  if (h.key_count == 0) {
    if (h.index_offset != h.entries_offset)
      return fmt::format("offset {}: {} bytes of entries, and no key", h.entries_offset,
                         h.index_offset - h.entries_offset);
    return "";
  }
  if ((h.index_offset - h.entries_offset) / k_entry_header < h.key_count) {
    return fmt::format(
        "offset 32: damaged header: key_count {} does not fit the {} bytes of entries at {}",
        h.key_count, h.index_offset - h.entries_offset, h.entries_offset);
  }
  const std::uint64_t last_start = h.index_offset - k_entry_header;
  std::uint64_t earliest = h.entries_offset;  // where this slot may point at the soonest
  for (std::uint64_t i = 0; i < h.key_count; ++i) {
    const std::uint64_t at = slot(i);
    const std::uint64_t slot_at = h.index_offset + i * k_slot;
    if (i == 0 && at != h.entries_offset) {
      return fmt::format("index slot 0 at offset {}: points at {}, the first entry is at {}",
                         slot_at, at, h.entries_offset);
    }
    if (at < h.entries_offset || at > last_start) {
      return fmt::format(
          "index slot {} at offset {}: points at {}, outside the entries section ({}-{})", i,
          slot_at, at, h.entries_offset, h.index_offset);
    }
    if (at < earliest) {
      return fmt::format(
          "index slot {} at offset {}: points at {}, not after entry {}'s header (at {})", i,
          slot_at, at, i - 1, earliest - k_entry_header);
    }
    earliest = at + k_entry_header;  // at < index_offset < m_size: no overflow
  }
  return "";
}

SnapshotReader::SnapshotReader(SnapshotReader&& other) noexcept
    : m_name(std::move(other.m_name)),
      m_data(other.m_data),
      m_size(other.m_size),
      m_header(other.m_header) {
  other.m_data = nullptr;
}

SnapshotReader::~SnapshotReader() {
  if (m_data != nullptr) ::munmap(const_cast<char*>(m_data), m_size);
}

std::string_view SnapshotReader::prefix() const {
  return {m_data + sizeof(snapshot::Header), m_header.prefix_length};
}

std::uint64_t SnapshotReader::slot(std::uint64_t index) const {
  std::uint64_t offset;
  std::memcpy(&offset, m_data + m_header.index_offset + index * k_slot, sizeof offset);
  return offset;
}

std::optional<SnapshotEntry> SnapshotReader::entry_within(std::uint64_t offset,
                                                          std::uint64_t end) const {
  if (offset < m_header.entries_offset || offset > end || end - offset < k_entry_header)
    return std::nullopt;
  snapshot::EntryHeader eh;
  std::memcpy(&eh, m_data + offset, sizeof eh);
  const std::uint64_t length = std::uint64_t{eh.key_length} + eh.value_length;  // < 2^33
  if (length > end - offset - k_entry_header) return std::nullopt;
  const char* key = m_data + offset + k_entry_header;
  return SnapshotEntry{
      {key, eh.key_length}, {key + eh.key_length, eh.value_length}, eh.mod_revision};
}

tl::expected<SnapshotEntry, std::string> SnapshotReader::entry_number(std::uint64_t index) const {
  // check_structure(): entries_offset <= offset, offset + 24 <= end <= index_offset.
  const std::uint64_t offset = slot(index);
  const std::uint64_t end =
      index + 1 < m_header.key_count ? slot(index + 1) : m_header.index_offset;
  auto entry = entry_within(offset, end);
  if (!entry || offset + k_entry_header + entry->key.size() + entry->value.size() != end) {
    snapshot::EntryHeader eh;
    std::memcpy(&eh, m_data + offset, sizeof eh);
    return tl::unexpected(fmt::format(
        "entry {} at offset {}: a {}-byte key and a {}-byte value do not fill the {} bytes up "
        "to {}",
        index, offset, eh.key_length, eh.value_length, end - offset - k_entry_header,
        index + 1 < m_header.key_count ? fmt::format("entry {}", index + 1) : "the index"));
  }
  snapshot::EntryHeader eh;
  std::memcpy(&eh, m_data + offset, sizeof eh);
  if (snapshot::entry_checksum(entry->key, entry->value, entry->mod_revision) != eh.checksum) {
    return tl::unexpected(fmt::format("entry {} (key {}) at offset {}: checksum mismatch", index,
                                      printable(entry->key), offset));
  }
  return *entry;
}

std::string SnapshotReader::verify() const {
  const std::uint64_t footer_at = m_header.footer_offset;
  snapshot::Footer footer;
  std::memcpy(&footer, m_data + footer_at, sizeof footer);
  if (std::memcmp(footer.magic, snapshot::k_footer_magic, sizeof footer.magic) != 0) {
    return fmt::format("offset {}: bad footer magic (truncated or overwritten)", footer_at + 16);
  }
  if (XXH3_64bits(m_data, m_header.entries_offset) != footer.header_checksum) {
    return fmt::format("offset 0-{}: header checksum mismatch", m_header.entries_offset);
  }
  // One pass over the body: entries (named when bad), index slots, and the body checksum.
  // Pages already checked are dropped from this process, so a verification of any size
  // keeps the resident set small (they stay in the page cache).
  XXH3_state_t body;
  XXH3_64bits_reset(&body);
  std::uint64_t hashed = m_header.entries_offset;
  auto advance = [&](std::uint64_t upto) {
    XXH3_64bits_update(&body, m_data + hashed, upto - hashed);
    const std::uint64_t page = static_cast<std::uint64_t>(::sysconf(_SC_PAGESIZE));
    std::uint64_t from = (hashed + page - 1) / page * page, to = upto / page * page;
    if (to > from) ::madvise(const_cast<char*>(m_data) + from, to - from, MADV_DONTNEED);
    hashed = upto;
  };
  constexpr std::uint64_t k_window = 8 << 20;
  std::uint64_t offset = m_header.entries_offset;
  std::string_view previous;
  for (std::uint64_t i = 0; i < m_header.key_count; ++i) {
    auto entry = entry_within(offset, m_header.index_offset);
    if (!entry)
      return fmt::format("entry {} at offset {}: runs past the entries section", i, offset);
    std::uint64_t listed = slot(i);
    if (listed != offset)
      return fmt::format("index slot {} at offset {}: points at {}, entry {} is at {}", i,
                         m_header.index_offset + i * k_slot, listed, i, offset);
    snapshot::EntryHeader eh;
    std::memcpy(&eh, m_data + offset, sizeof eh);
    if (snapshot::entry_checksum(entry->key, entry->value, entry->mod_revision) != eh.checksum) {
      return fmt::format("entry {} (key {}) at offset {}: checksum mismatch", i,
                         printable(entry->key), offset);
    }
    if (i > 0 && !(previous < entry->key))
      return fmt::format("entry {} (key {}) at offset {}: keys out of order", i,
                         printable(entry->key), offset);
    previous = entry->key;
    if (offset - hashed >= k_window) advance(offset);  // `previous` lies in the kept part
    offset += k_entry_header + entry->key.size() + entry->value.size();  // <= index_offset
  }
  if (offset != m_header.index_offset)
    return fmt::format("offset {}: {} bytes after the last entry, before the index", offset,
                       m_header.index_offset - offset);
  advance(footer_at);
  if (XXH3_64bits_digest(&body) != footer.body_checksum)
    return fmt::format("offset {}-{}: body checksum mismatch", m_header.entries_offset, footer_at);
  return "";
}

tl::expected<std::uint64_t, std::string> SnapshotReader::lower_bound(std::string_view key) const {
  // A binary search over unsorted keys would answer wrongly without noticing: every key read
  // must lie strictly between the keys already read below and above it.
  std::uint64_t low = 0, high = m_header.key_count;
  std::optional<std::string_view> below, above;
  while (low < high) {
    std::uint64_t middle = low + (high - low) / 2;
    auto entry = entry_number(middle);
    if (!entry) return tl::unexpected(entry.error());
    if ((below && !(*below < entry->key)) || (above && !(entry->key < *above))) {
      return tl::unexpected(fmt::format("entry {} (key {}) at offset {}: keys out of order", middle,
                                        printable(entry->key), slot(middle)));
    }
    if (entry->key < key) {
      low = middle + 1;
      below = entry->key;
    } else {
      high = middle;
      above = entry->key;
    }
  }
  return low;
}

tl::expected<std::optional<SnapshotEntry>, std::string> SnapshotReader::find(
    std::string_view key) const {
  auto index = lower_bound(key);
  if (!index) return tl::unexpected(index.error());
  if (*index >= m_header.key_count) return std::nullopt;
  auto entry = entry_number(*index);
  if (!entry) return tl::unexpected(entry.error());
  if (entry->key != key) return std::nullopt;
  return *entry;
}

tl::expected<std::optional<SnapshotEntry>, std::string> SnapshotReader::at(
    std::uint64_t index) const {
  if (index >= m_header.key_count) return std::nullopt;
  auto entry = entry_number(index);
  if (!entry) return tl::unexpected(entry.error());
  if (index > 0) {
    // Only the key before is needed: its extent is checked, its checksum when it is read.
    auto before = entry_within(slot(index - 1), slot(index));
    if (!before || !(before->key < entry->key)) {
      return tl::unexpected(fmt::format("entry {} (key {}) at offset {}: keys out of order", index,
                                        printable(entry->key), slot(index)));
    }
  }
  return entry;
}

std::string SnapshotReader::scan(std::string_view prefix,
                                 const std::function<bool(const SnapshotEntry&)>& visit) const {
  auto first = lower_bound(prefix);
  if (!first) return first.error();
  for (std::uint64_t i = *first; i < m_header.key_count; ++i) {
    auto entry = at(i);
    if (!entry) return entry.error();
    if ((*entry)->key.substr(0, prefix.size()) != prefix) return "";
    if (!visit(**entry)) return "";
  }
  return "";
}

}  // namespace drctl
