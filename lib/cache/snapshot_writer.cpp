#include "cache/snapshot_writer.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>
#define XXH_STATIC_LINKING_ONLY  // XXH3_state_t on the stack
#include <xxhash.h>

#include <cerrno>
#include <chrono>
#include <cstring>

#include "cache/snapshot_format.hpp"

namespace drctl {
namespace {

constexpr std::size_t k_buffer_size = 1 << 20;
constexpr std::size_t k_index_buffer_entries = 8192;

std::string errno_text() {
  return std::strerror(errno);
}

// An unnamed file in `dir`; falls back to a named one (removed at once for the index) where
// the filesystem has no O_TMPFILE: a new name (O_EXCL), never a symlink's target. `dir` is one
// SnapshotStore::open_for_writing accepted.
int open_unnamed(const std::string& dir, std::string& named_fallback, bool keep_name) {
  int fd = ::open(dir.c_str(), O_TMPFILE | O_RDWR | O_CLOEXEC, 0640);
  if (fd >= 0 || (errno != EOPNOTSUPP && errno != EISDIR && errno != EINVAL)) return fd;
  std::string path =
      fmt::format("{}/.snapshot-{}-{}.tmp", dir, ::getpid(), keep_name ? "data" : "index");
  fd = ::open(path.c_str(), O_CREAT | O_EXCL | O_NOFOLLOW | O_RDWR | O_CLOEXEC, 0640);
  if (fd >= 0 && !keep_name) ::unlink(path.c_str());
  if (fd >= 0 && keep_name) named_fallback = path;
  return fd;
}

}  // namespace

tl::expected<std::unique_ptr<SnapshotWriter>, std::string> SnapshotWriter::create(
    const std::string& dir, const std::string& prefix) {
  std::unique_ptr<SnapshotWriter> writer(new SnapshotWriter());
  writer->m_dir = dir;
  writer->m_prefix = prefix;
  writer->m_fd = open_unnamed(dir, writer->m_named_temp, true);
  if (writer->m_fd < 0)
    return tl::unexpected(fmt::format("cannot create a file in {}: {}", dir, errno_text()));
  if (::fchmod(writer->m_fd, 0640) != 0)  // whatever the umask
    return tl::unexpected(fmt::format("chmod of a new file in {}: {}", dir, errno_text()));
  std::string unused;
  writer->m_index_fd = open_unnamed(dir, unused, false);
  if (writer->m_index_fd < 0 || ::fchmod(writer->m_index_fd, 0600) != 0)
    return tl::unexpected(fmt::format("cannot create a file in {}: {}", dir, errno_text()));
  writer->m_buffer.reserve(k_buffer_size);
  // The header is written last (it needs the counts); reserve its place and the prefix's.
  snapshot::Header blank{};
  if (auto ok = writer->append(&blank, sizeof blank); !ok) return tl::unexpected(ok.error());
  if (auto ok = writer->append(prefix.data(), prefix.size()); !ok)
    return tl::unexpected(ok.error());
  XXH3_64bits_reset(&writer->m_body_hash);
  writer->m_hashing = true;  // everything from here on is the body
  return writer;
}

SnapshotWriter::~SnapshotWriter() {
  if (m_fd >= 0) ::close(m_fd);
  if (m_index_fd >= 0) ::close(m_index_fd);
  if (!m_named_temp.empty())
    ::unlink(m_named_temp.c_str());  // only set while the file has no real name
}

tl::expected<void, std::string> SnapshotWriter::write_all(int fd, const char* data,
                                                          std::size_t size, const char* what) {
  while (size > 0) {
    ssize_t n = ::write(fd, data, size);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0)
      return tl::unexpected(fmt::format("writing the {} in {}: {}", what, m_dir, errno_text()));
    data += n;
    size -= static_cast<std::size_t>(n);
  }
  return {};
}

tl::expected<void, std::string> SnapshotWriter::flush() {
  auto ok = write_all(m_fd, m_buffer.data(), m_buffer.size(), "snapshot");
  m_buffer.clear();
  return ok;
}

tl::expected<void, std::string> SnapshotWriter::flush_index() {
  auto ok = write_all(m_index_fd, reinterpret_cast<const char*>(m_index_buffer.data()),
                      m_index_buffer.size() * sizeof(std::uint64_t), "index");
  m_index_buffer.clear();
  return ok;
}

tl::expected<void, std::string> SnapshotWriter::append(const void* data, std::size_t size) {
  const char* bytes = static_cast<const char*>(data);
  if (m_hashing) XXH3_64bits_update(&m_body_hash, bytes, size);
  if (m_buffer.size() + size > k_buffer_size) {
    if (auto ok = flush(); !ok) return ok;
  }
  if (size > k_buffer_size) {
    if (auto ok = write_all(m_fd, bytes, size, "snapshot"); !ok) return ok;
  } else {
    m_buffer.insert(m_buffer.end(), bytes, bytes + size);
  }
  m_offset += size;
  return {};
}

tl::expected<void, std::string> SnapshotWriter::add(const EtcdKeyValue& kv) {
  if (m_keys > 0 && kv.key <= m_last_key)
    return tl::unexpected(fmt::format("keys out of order: '{}' after '{}'", kv.key, m_last_key));
  m_index_buffer.push_back(m_offset);
  if (m_index_buffer.size() == k_index_buffer_entries) {
    if (auto ok = flush_index(); !ok) return ok;
  }
  snapshot::EntryHeader header{static_cast<std::uint32_t>(kv.key.size()),
                               static_cast<std::uint32_t>(kv.value.size()), kv.mod_revision,
                               snapshot::entry_checksum(kv.key, kv.value, kv.mod_revision)};
  if (auto ok = append(&header, sizeof header); !ok) return ok;
  if (auto ok = append(kv.key.data(), kv.key.size()); !ok) return ok;
  if (auto ok = append(kv.value.data(), kv.value.size()); !ok) return ok;
  m_last_key = kv.key;
  ++m_keys;
  return {};
}

tl::expected<std::uint64_t, std::string> SnapshotWriter::finish(std::uint64_t cluster_id,
                                                                std::int64_t revision) {
  // The index: copied from its spill file after the entries.
  snapshot::Header header{};
  std::memcpy(header.magic, snapshot::k_magic, sizeof header.magic);
  header.format_version = snapshot::k_format_version;
  header.prefix_length = static_cast<std::uint32_t>(m_prefix.size());
  header.cluster_id = cluster_id;
  header.revision = revision;
  header.key_count = m_keys;
  header.created_at_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                             std::chrono::system_clock::now().time_since_epoch())
                             .count();
  header.entries_offset = sizeof header + m_prefix.size();
  header.index_offset = m_offset;
  if (auto ok = flush_index(); !ok) return tl::unexpected(ok.error());
  if (::lseek(m_index_fd, 0, SEEK_SET) < 0)
    return tl::unexpected(fmt::format("index: {}", errno_text()));
  std::vector<char> chunk(k_buffer_size);
  while (true) {
    ssize_t n = ::read(m_index_fd, chunk.data(), chunk.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return tl::unexpected(fmt::format("reading back the index: {}", errno_text()));
    if (n == 0) break;
    if (auto ok = append(chunk.data(), static_cast<std::size_t>(n)); !ok)
      return tl::unexpected(ok.error());
  }
  header.footer_offset = m_offset;
  if (auto ok = flush(); !ok) return tl::unexpected(ok.error());
  snapshot::Footer footer{};
  std::vector<char> head(sizeof header + m_prefix.size());
  std::memcpy(head.data(), &header, sizeof header);
  std::memcpy(head.data() + sizeof header, m_prefix.data(), m_prefix.size());
  footer.header_checksum = XXH3_64bits(head.data(), head.size());
  footer.body_checksum = XXH3_64bits_digest(&m_body_hash);
  std::memcpy(footer.magic, snapshot::k_footer_magic, sizeof footer.magic);
  if (auto ok = write_all(m_fd, reinterpret_cast<const char*>(&footer), sizeof footer, "footer");
      !ok)
    return tl::unexpected(ok.error());
  if (::pwrite(m_fd, head.data(), head.size(), 0) != static_cast<ssize_t>(head.size())) {
    return tl::unexpected(fmt::format("writing the header in {}: {}", m_dir, errno_text()));
  }
  if (::fsync(m_fd) != 0)
    return tl::unexpected(fmt::format("fsync in {}: {}", m_dir, errno_text()));
  return header.footer_offset + sizeof footer;
}

tl::expected<void, std::string> SnapshotWriter::link_as(const std::string& name) {
  std::string target = m_dir + "/" + name;
  if (!m_named_temp.empty()) {
    if (::link(m_named_temp.c_str(), target.c_str()) != 0)
      return tl::unexpected(fmt::format("naming {}: {}", target, errno_text()));
    ::unlink(m_named_temp.c_str());
    m_named_temp.clear();
    return {};
  }
  std::string self = fmt::format("/proc/self/fd/{}", m_fd);
  if (::linkat(AT_FDCWD, self.c_str(), AT_FDCWD, target.c_str(), AT_SYMLINK_FOLLOW) != 0) {
    return tl::unexpected(fmt::format("naming {}: {}", target, errno_text()));
  }
  return {};
}

}  // namespace drctl
