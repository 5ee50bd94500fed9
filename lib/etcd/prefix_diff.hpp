#pragma once
// Compares a prefix on two clusters (a mirror's source and destination), each read page by
// page at its own current revision, in one merge pass: memory stays flat in key count.
#include <string>
#include <vector>

#include "clients/etcd.hpp"

namespace drctl {

struct PrefixDiff {
  std::int64_t from_revision = 0, to_revision = 0;
  std::int64_t from_keys = 0, to_keys = 0;
  std::int64_t missing = 0, extra = 0, different = 0;  // on the `to` side, against `from`
  std::vector<std::string> missing_keys, extra_keys,
      different_keys;  // the first 20 of each, as on `from`
  std::int64_t total() const { return missing + extra + different; }
};

// Keys are compared by what follows their prefix (a mirror may use another destination prefix).
EtcdResult<PrefixDiff> compare_prefixes(EtcdSession& from, const std::string& from_prefix,
                                        EtcdSession& to, const std::string& to_prefix,
                                        Deadline deadline, std::size_t page_size);

}  // namespace drctl
