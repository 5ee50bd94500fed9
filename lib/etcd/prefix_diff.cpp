#include "etcd/prefix_diff.hpp"

#include "etcd/prefix_cursor.hpp"

namespace drctl {
namespace {

constexpr std::size_t k_keys_reported = 20;

void note(std::vector<std::string>& keys, const std::string& key) {
  if (keys.size() < k_keys_reported) keys.push_back(key);
}

}  // namespace

EtcdResult<PrefixDiff> diff_sources(const KeySource& from, const std::string& from_prefix,
                                    const KeySource& to, const std::string& to_prefix) {
  PrefixDiff diff;
  auto a = from();
  if (!a) return tl::unexpected(a.error());
  auto b = to();
  if (!b) return tl::unexpected(b.error());
  while (*a || *b) {
    // Compare the parts after each side's prefix.
    int order = !*a   ? 1
                : !*b ? -1
                      : (*a)->key.compare(from_prefix.size(), std::string::npos, (*b)->key,
                                          to_prefix.size(), std::string::npos);
    if (order < 0) {
      ++diff.missing;
      note(diff.missing_keys, (*a)->key);
    } else if (order > 0) {
      ++diff.extra;
      note(diff.extra_keys, from_prefix + (*b)->key.substr(to_prefix.size()));
    } else if ((*a)->value != (*b)->value) {
      ++diff.different;
      note(diff.different_keys, (*a)->key);
    }
    if (order <= 0) {
      ++diff.from_keys;
      a = from();
      if (!a) return tl::unexpected(a.error());
    }
    if (order >= 0) {
      ++diff.to_keys;
      b = to();
      if (!b) return tl::unexpected(b.error());
    }
  }
  return diff;
}

KeySource cursor_source(PrefixCursor& cursor, Deadline deadline) {
  return [&cursor, deadline]() -> EtcdResult<std::optional<KeyAndValue>> {
    auto next = cursor.next(deadline);
    if (!next) return tl::unexpected(next.error());
    if (!*next) return std::nullopt;
    return KeyAndValue{std::move((*next)->key), std::move((*next)->value)};
  };
}

EtcdResult<PrefixDiff> compare_prefixes(EtcdSession& from, const std::string& from_prefix,
                                        EtcdSession& to, const std::string& to_prefix,
                                        Deadline deadline, std::size_t page_size) {
  PrefixCursor left(from, from_prefix, 0, page_size);
  PrefixCursor right(to, to_prefix, 0, page_size);
  auto diff = diff_sources(cursor_source(left, deadline), from_prefix,
                           cursor_source(right, deadline), to_prefix);
  if (!diff) return diff;
  diff->from_revision = left.revision();
  diff->to_revision = right.revision();
  return diff;
}

}  // namespace drctl
