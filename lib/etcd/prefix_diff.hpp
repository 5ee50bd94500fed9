#pragma once
// Compares a prefix on two clusters (a mirror's source and destination), each read page by
// page at its own current revision, in one merge pass: memory stays flat in key count.
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "clients/etcd.hpp"
#include "etcd/prefix_cursor.hpp"

namespace drctl {

struct PrefixDiff {
  std::int64_t from_revision = 0, to_revision = 0;
  std::int64_t from_keys = 0, to_keys = 0;
  std::int64_t missing = 0, extra = 0, different = 0;  // on the `to` side, against `from`
  std::vector<std::string> missing_keys, extra_keys,
      different_keys;  // the first 20 of each, as on `from`
  std::int64_t total() const { return missing + extra + different; }
};

// One side of a comparison: its next key and value in key order, nullopt at the end.
struct KeyAndValue {
  std::string key, value;
};
using KeySource = std::function<EtcdResult<std::optional<KeyAndValue>>()>;

// The merge pass itself, over any two sorted sources (two clusters; a snapshot and etcd).
// Keys are compared by what follows each side's prefix; the revisions are left to the caller.
EtcdResult<PrefixDiff> diff_sources(const KeySource& from, const std::string& from_prefix,
                                    const KeySource& to, const std::string& to_prefix);

// A source reading a cursor page by page.
KeySource cursor_source(PrefixCursor& cursor, Deadline deadline);

// Keys are compared by what follows their prefix (a mirror may use another destination prefix).
EtcdResult<PrefixDiff> compare_prefixes(EtcdSession& from, const std::string& from_prefix,
                                        EtcdSession& to, const std::string& to_prefix,
                                        Deadline deadline, std::size_t page_size);

}  // namespace drctl
