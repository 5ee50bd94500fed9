// libFuzzer target: the snapshot reader (`drctl cache get|list|diff|info|verify`, and
// cache_warmup's check of the file it wrote) on any bytes as a snapshot file. Open, list every
// key, look some up, walk by index and verify: each must return (no crash, no hang, no
// sanitizer report), and the answers must agree: when verify() finds the file sound, no
// lookup may report a problem, list must give strictly increasing keys, and each listed key
// must be found with the value listed.
//
// Random damage rarely gets past the header checksum, so each input is read twice: as given,
// and resealed (every entry checksum, the header checksum and the body checksum recomputed
// wherever the layout allows) so the structure behind the checksums is explored too.
#include <sys/mman.h>
#include <unistd.h>
#include <xxhash.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "cache/snapshot_format.hpp"
#include "cache/snapshot_reader.hpp"

namespace {

using drctl::SnapshotEntry;
using drctl::SnapshotReader;
namespace snapshot = drctl::snapshot;

int snapshot_fd() {
  static const int fd = ::memfd_create("fuzz-snapshot", MFD_CLOEXEC);
  if (fd < 0) std::abort();
  return fd;
}

void exercise(const std::vector<char>& bytes) {
  const int fd = snapshot_fd();
  if (::ftruncate(fd, 0) != 0 ||
      ::pwrite(fd, bytes.data(), bytes.size(), 0) != static_cast<ssize_t>(bytes.size()))
    std::abort();
  auto reader = SnapshotReader::open_fd(fd, "fuzz.drs");
  if (!reader) return;
  (void)reader->prefix();
  const bool sound = reader->verify().empty();

  std::vector<std::pair<std::string, std::string>> listed;
  std::string problem = reader->scan("", [&](const SnapshotEntry& entry) {
    if (!listed.empty() && !(listed.back().first < entry.key)) std::abort();  // scan checks order
    listed.emplace_back(entry.key, entry.value);
    return listed.size() < 4096;
  });
  if (sound && !problem.empty()) std::abort();

  // get: each listed key (up to 64 of them), and keys around them that are not there.
  const std::size_t step = listed.size() / 64 + 1;
  for (std::size_t i = 0; i < listed.size(); i += step) {
    const auto& [key, value] = listed[i];
    auto found = reader->find(key);
    if (sound && (!found || !*found || (*found)->key != key || (*found)->value != value))
      std::abort();
    if (found && *found && (*found)->key != key) std::abort();  // never another key's entry
    auto missing = reader->find(key + '\0');
    if (sound && (!missing || (*missing && (*missing)->key != key + '\0'))) std::abort();
  }
  for (std::string_view key : {"", "/", "/cfg/", "\xff"}) {
    auto found = reader->find(key);
    if (found && *found && (*found)->key != key) std::abort();
    auto first = reader->lower_bound(key);
    if (sound && !first) std::abort();
    if (first && *first > reader->header().key_count) std::abort();
  }
  // Walk by index (diff's way), from the first and the middle.
  const std::uint64_t count = reader->header().key_count;
  for (std::uint64_t from : {std::uint64_t{0}, count / 2}) {
    for (std::uint64_t i = from; i < from + 64; ++i) {
      auto entry = reader->at(i);
      if (sound && !entry) std::abort();
      if (!entry || !*entry) break;
    }
  }
}

// Recomputes the checksums over whatever structure the bytes have, never reading outside them.
void reseal(std::vector<char>& bytes) {
  if (bytes.size() < sizeof(snapshot::Header) + sizeof(snapshot::Footer)) return;
  snapshot::Header h;
  std::memcpy(&h, bytes.data(), sizeof h);
  const std::uint64_t size = bytes.size(), footer_at = size - sizeof(snapshot::Footer);
  if (h.footer_offset != footer_at || h.index_offset > footer_at ||
      h.entries_offset > h.index_offset)
    return;
  std::uint64_t offset = h.entries_offset;
  for (std::uint64_t i = 0; i < h.key_count && h.index_offset - offset >= 24; ++i) {
    snapshot::EntryHeader eh;
    std::memcpy(&eh, bytes.data() + offset, sizeof eh);
    const std::uint64_t length = std::uint64_t{eh.key_length} + eh.value_length;
    if (length > h.index_offset - offset - sizeof eh) break;
    const char* key = bytes.data() + offset + sizeof eh;
    eh.checksum = snapshot::entry_checksum({key, eh.key_length},
                                           {key + eh.key_length, eh.value_length}, eh.mod_revision);
    std::memcpy(bytes.data() + offset, &eh, sizeof eh);
    offset += sizeof eh + length;
  }
  snapshot::Footer footer;
  std::memcpy(&footer, bytes.data() + footer_at, sizeof footer);
  footer.header_checksum = XXH3_64bits(bytes.data(), h.entries_offset);
  footer.body_checksum = XXH3_64bits(bytes.data() + h.entries_offset, footer_at - h.entries_offset);
  std::memcpy(bytes.data() + footer_at, &footer, sizeof footer);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::vector<char> bytes(reinterpret_cast<const char*>(data),
                          reinterpret_cast<const char*>(data) + size);
  exercise(bytes);
  reseal(bytes);
  exercise(bytes);
  return 0;
}
