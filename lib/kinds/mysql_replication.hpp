#pragma once
#include <memory>

#include "core/kind.hpp"

namespace drctl {

// `mysql`: the backup replica is replicating and its lag is under max_lag (MariaDB or MySQL),
// measured by replica status, by GTID comparison with the primary, or by a heartbeat row.
std::unique_ptr<Kind> make_mysql_kind();

}  // namespace drctl
