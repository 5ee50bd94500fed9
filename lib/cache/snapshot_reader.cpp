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

tl::expected<SnapshotReader, std::string> SnapshotReader::open(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return tl::unexpected(fmt::format("{}: {}", path, std::strerror(errno)));
  return map(fd, path, true);
}

tl::expected<SnapshotReader, std::string> SnapshotReader::open_fd(int fd, const std::string& name) {
  return map(fd, name, false);
}

tl::expected<SnapshotReader, std::string> SnapshotReader::map(int fd, const std::string& name,
                                                              bool owns_fd) {
  struct stat st {};
  int saved = 0;
  if (::fstat(fd, &st) != 0) saved = errno;
  auto close_fd = [&] {
    if (owns_fd) ::close(fd);
  };
  if (saved != 0) {
    close_fd();
    return tl::unexpected(fmt::format("{}: {}", name, std::strerror(saved)));
  }
  SnapshotReader reader;
  reader.m_name = name;
  reader.m_size = static_cast<std::uint64_t>(st.st_size);
  if (reader.m_size < sizeof(snapshot::Header) + sizeof(snapshot::Footer)) {
    close_fd();
    return tl::unexpected(fmt::format("{}: truncated: {} bytes, smaller than a header and a footer",
                                      name, reader.m_size));
  }
  void* data = ::mmap(nullptr, reader.m_size, PROT_READ, MAP_SHARED, fd, 0);
  saved = errno;
  close_fd();  // the mapping stays valid
  if (data == MAP_FAILED)
    return tl::unexpected(fmt::format("{}: mmap: {}", name, std::strerror(saved)));
  reader.m_data = static_cast<const char*>(data);
  std::memcpy(&reader.m_header, reader.m_data, sizeof reader.m_header);
  const auto& h = reader.m_header;
  if (std::memcmp(h.magic, snapshot::k_magic, sizeof h.magic) != 0)
    return tl::unexpected(fmt::format("{}: offset 0: not a drctl snapshot (bad magic)", name));
  if (h.format_version != snapshot::k_format_version) {
    return tl::unexpected(fmt::format("{}: offset 8: format version {} (this drctl reads {})", name,
                                      h.format_version, snapshot::k_format_version));
  }
  if (h.entries_offset != sizeof h + h.prefix_length || h.index_offset < h.entries_offset ||
      h.footer_offset < h.index_offset ||
      h.footer_offset - h.index_offset != h.key_count * sizeof(std::uint64_t) ||
      h.footer_offset + sizeof(snapshot::Footer) != reader.m_size) {
    return tl::unexpected(
        fmt::format("{}: truncated or damaged: the header's layout (footer at {}) does not fit the "
                    "file's {} bytes",
                    name, h.footer_offset, reader.m_size));
  }
  return reader;
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

std::optional<SnapshotEntry> SnapshotReader::entry_at(std::uint64_t offset) const {
  if (offset < m_header.entries_offset ||
      offset + sizeof(snapshot::EntryHeader) > m_header.index_offset)
    return std::nullopt;
  snapshot::EntryHeader eh;
  std::memcpy(&eh, m_data + offset, sizeof eh);
  std::uint64_t end = offset + sizeof eh + eh.key_length + eh.value_length;
  if (end > m_header.index_offset) return std::nullopt;
  const char* key = m_data + offset + sizeof eh;
  return SnapshotEntry{
      {key, eh.key_length}, {key + eh.key_length, eh.value_length}, eh.mod_revision};
}

std::optional<SnapshotEntry> SnapshotReader::entry_number(std::uint64_t index) const {
  if (index >= m_header.key_count) return std::nullopt;
  std::uint64_t offset;
  std::memcpy(&offset, m_data + m_header.index_offset + index * sizeof offset, sizeof offset);
  return entry_at(offset);
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
    auto entry = entry_at(offset);
    if (!entry)
      return fmt::format("entry {} at offset {}: runs past the entries section", i, offset);
    std::uint64_t listed;
    std::memcpy(&listed, m_data + m_header.index_offset + i * sizeof listed, sizeof listed);
    if (listed != offset)
      return fmt::format("index slot {} at offset {}: points at {}, entry {} is at {}", i,
                         m_header.index_offset + i * 8, listed, i, offset);
    snapshot::EntryHeader eh;
    std::memcpy(&eh, m_data + offset, sizeof eh);
    if (snapshot::entry_checksum(entry->key, entry->value, entry->mod_revision) != eh.checksum) {
      return fmt::format("entry {} (key {}) at offset {}: checksum mismatch", i,
                         entry->key.substr(0, 200), offset);
    }
    if (i > 0 && !(previous < entry->key))
      return fmt::format("entry {} (key {}) at offset {}: keys out of order", i,
                         entry->key.substr(0, 200), offset);
    previous = entry->key;
    if (offset - hashed >= k_window) advance(offset);  // `previous` lies in the kept part
    offset += sizeof eh + eh.key_length + eh.value_length;
  }
  if (offset != m_header.index_offset)
    return fmt::format("offset {}: {} bytes after the last entry, before the index", offset,
                       m_header.index_offset - offset);
  advance(footer_at);
  if (XXH3_64bits_digest(&body) != footer.body_checksum)
    return fmt::format("offset {}-{}: body checksum mismatch", m_header.entries_offset, footer_at);
  return "";
}

std::optional<SnapshotEntry> SnapshotReader::find(std::string_view key) const {
  std::uint64_t low = 0, high = m_header.key_count;
  while (low < high) {
    std::uint64_t middle = low + (high - low) / 2;
    auto entry = entry_number(middle);
    if (!entry) return std::nullopt;
    int order = entry->key.compare(key);
    if (order == 0) return entry;
    if (order < 0)
      low = middle + 1;
    else
      high = middle;
  }
  return std::nullopt;
}

std::uint64_t SnapshotReader::lower_bound(std::string_view key) const {
  std::uint64_t low = 0, high = m_header.key_count;
  while (low < high) {
    std::uint64_t middle = low + (high - low) / 2;
    auto entry = entry_number(middle);
    if (!entry) return m_header.key_count;
    if (entry->key < key)
      low = middle + 1;
    else
      high = middle;
  }
  return low;
}

void SnapshotReader::scan(std::string_view prefix,
                          const std::function<bool(const SnapshotEntry&)>& visit) const {
  for (std::uint64_t i = lower_bound(prefix); i < m_header.key_count; ++i) {
    auto entry = entry_number(i);
    if (!entry || entry->key.substr(0, prefix.size()) != prefix) return;
    if (!visit(*entry)) return;
  }
}

}  // namespace drctl
