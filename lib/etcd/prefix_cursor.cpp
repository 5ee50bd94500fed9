#include "etcd/prefix_cursor.hpp"

namespace drctl {

PrefixCursor::PrefixCursor(EtcdSession& session, std::string prefix, std::int64_t revision,
                           std::size_t page_size)
    : m_session(session),
      m_prefix(std::move(prefix)),
      m_range_end(etcd_prefix_end(m_prefix)),
      m_from(m_prefix),
      m_revision(revision),
      m_page_size(page_size) {}

EtcdResult<std::optional<EtcdKeyValue>> PrefixCursor::next(Deadline deadline) {
  if (m_position == m_page.size()) {
    if (!m_more) return std::nullopt;
    EtcdRangeRequest request;
    request.key = m_from;
    request.range_end = m_range_end;
    request.revision = m_revision;
    request.limit = static_cast<std::int64_t>(m_page_size);
    auto page = m_session.range(request, deadline);
    if (!page) return tl::unexpected(page.error());
    if (m_revision == 0) m_revision = page->header.revision;
    if (m_total < 0) m_total = page->count;
    m_cluster_id = page->header.cluster_id;
    m_page = std::move(page->kvs);
    m_position = 0;
    m_more = page->more && !m_page.empty();
    ++m_pages;
    if (!m_page.empty())
      m_from = m_page.back().key + std::string(1, '\0');  // the smallest key after the last one
    if (m_page.empty()) return std::nullopt;
  }
  return std::move(m_page[m_position++]);
}

}  // namespace drctl
