#pragma once
// The fallback snapshot file (docs/cache-format.md): a header, the entries sorted by key, an
// index of entry offsets (binary search over an mmap), and a footer with a whole-file checksum.
// All integers little-endian; checksums are XXH3-64.
#include <bit>
#include <cstdint>
#include <cstring>
#include <string_view>

namespace drctl::snapshot {

static_assert(std::endian::native == std::endian::little, "the snapshot format is little-endian");

inline constexpr char k_magic[8] = {'D', 'R', 'C', 'T', 'L', 'S', 'N', 'P'};
inline constexpr char k_footer_magic[8] = {'D', 'R', 'C', 'T', 'L', 'E', 'N', 'D'};
inline constexpr std::uint32_t k_format_version = 1;

// Fixed part of the header; the source prefix follows it (prefix_length bytes).
struct Header {
  char magic[8];
  std::uint32_t format_version;
  std::uint32_t prefix_length;
  std::uint64_t cluster_id;
  std::int64_t revision;
  std::uint64_t key_count;
  std::int64_t created_at_ms;    // Unix time
  std::uint64_t entries_offset;  // = sizeof(Header) + prefix_length
  std::uint64_t index_offset;
  std::uint64_t footer_offset;
};
static_assert(sizeof(Header) == 72);

// Before each entry's key and value bytes.
struct EntryHeader {
  std::uint32_t key_length;
  std::uint32_t value_length;
  std::int64_t mod_revision;
  std::uint64_t checksum;  // XXH3-64 of key, value and mod_revision (8 bytes LE)
};
static_assert(sizeof(EntryHeader) == 24);

// Two checksums so the writer never re-reads what it wrote: the body's is computed as the
// entries and index stream out, the header's once the header is final.
struct Footer {
  std::uint64_t header_checksum;  // XXH3-64 of [0, entries_offset): the header and the prefix
  std::uint64_t body_checksum;    // XXH3-64 of [entries_offset, footer_offset): entries and index
  char magic[8];
};
static_assert(sizeof(Footer) == 24);

std::uint64_t entry_checksum(std::string_view key, std::string_view value,
                             std::int64_t mod_revision);

}  // namespace drctl::snapshot
