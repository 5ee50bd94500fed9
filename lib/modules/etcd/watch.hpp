#pragma once
#include "core.hpp"

namespace drctl::etcd {

// Opens a watch on [key, range_end) from start_revision (0: from now) and waits for etcd to
// confirm it, so an unreachable cluster or a refused token fails here, not later.
EtcdResult<std::unique_ptr<EtcdWatch>> open_watch(std::shared_ptr<Core> core,
                                                  const std::string& key,
                                                  const std::string& range_end,
                                                  std::int64_t start_revision, Deadline deadline);

}  // namespace drctl::etcd
