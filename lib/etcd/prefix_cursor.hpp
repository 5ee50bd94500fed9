#pragma once
// Reads every key under a prefix in pages of `page_size`, all at one revision, so a prefix of
// any size is read in bounded memory and as one consistent point in time.
#include <cstddef>
#include <string>

#include "clients/etcd.hpp"

namespace drctl {

// etcd counts the whole rest of the range on every page, so paging costs grow with
// keys x pages: 5000-key pages read 100k keys 3x faster than 1000-key ones for +4 MiB
// (docs/performance.md).
constexpr std::size_t k_etcd_page_size = 5000;

class PrefixCursor {
 public:
  // revision 0: the newest, fixed by the first page (then revision() tells which).
  PrefixCursor(EtcdSession& session, std::string prefix, std::int64_t revision,
               std::size_t page_size = k_etcd_page_size);

  // The next key-value in key order; nullopt at the end.
  EtcdResult<std::optional<EtcdKeyValue>> next(Deadline deadline);
  std::int64_t revision() const { return m_revision; }
  std::uint64_t cluster_id() const { return m_cluster_id; }
  std::size_t pages() const { return m_pages; }
  // Keys in the range at the revision, as etcd counted them with the first page (-1 before).
  std::int64_t total() const { return m_total; }

 private:
  EtcdSession& m_session;
  std::string m_prefix, m_range_end, m_from;
  std::int64_t m_revision;
  std::size_t m_page_size;
  std::vector<EtcdKeyValue> m_page;
  std::size_t m_position = 0;
  bool m_more = true;
  std::size_t m_pages = 0;
  std::uint64_t m_cluster_id = 0;
  std::int64_t m_total = -1;
};

}  // namespace drctl
