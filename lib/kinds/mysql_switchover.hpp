#pragma once
#include <memory>

#include "core/kind.hpp"

namespace drctl {

// `mysql_switchover`: move the MySQL/MariaDB primary role to a replica (planned: RPO 0 proven
// by GTID; emergency: the primary is gone), with an undo that never drops a write.
std::unique_ptr<Kind> make_mysql_switchover_kind();

}  // namespace drctl
