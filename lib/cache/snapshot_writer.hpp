#pragma once
// Streams a snapshot to an unnamed file in the target directory (O_TMPFILE): a crash or a
// failure at any point leaves nothing behind, and the file only gets a name (link()) once it
// is complete, fsync'd and verified. Memory is one write buffer, whatever the key count: the
// index of entry offsets is spilled to a second unnamed file and appended at the end.
#include <cstdint>
#include <memory>
#include <string>
#include <tl/expected.hpp>
#include <vector>

#define XXH_STATIC_LINKING_ONLY  // XXH3_state_t as a member
#include <xxhash.h>

#include "clients/etcd.hpp"

namespace drctl {

class SnapshotWriter {
 public:
  static tl::expected<std::unique_ptr<SnapshotWriter>, std::string> create(
      const std::string& dir, const std::string& prefix);
  ~SnapshotWriter();

  // Keys must come in ascending byte order (etcd's range order).
  tl::expected<void, std::string> add(const EtcdKeyValue& kv);
  // Index, header, whole-file checksum, footer, fsync. Returns the file size.
  tl::expected<std::uint64_t, std::string> finish(std::uint64_t cluster_id, std::int64_t revision);
  // Gives the finished file a name in its directory (fails if the name exists).
  tl::expected<void, std::string> link_as(const std::string& name);

  int fd() const { return m_fd; }
  std::uint64_t keys() const { return m_keys; }

 private:
  SnapshotWriter() = default;
  tl::expected<void, std::string> write_all(int fd, const char* data, std::size_t size,
                                            const char* what);
  tl::expected<void, std::string> flush();
  tl::expected<void, std::string> flush_index();
  tl::expected<void, std::string> append(const void* data, std::size_t size);

  std::string m_dir, m_prefix, m_named_temp;
  int m_fd = -1, m_index_fd = -1;
  std::vector<char> m_buffer;
  std::vector<std::uint64_t> m_index_buffer;
  std::uint64_t m_offset = 0, m_keys = 0;
  std::string m_last_key;
  XXH3_state_t m_body_hash;
  bool m_hashing = false;
};

}  // namespace drctl
