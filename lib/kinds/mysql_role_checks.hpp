#pragma once
// The `mysql` check's two role methods, as verdicts over two connected servers: `promotable`
// (may this replica replace its primary now: the switch's preconditions, changing nothing) and
// `lost` (after an emergency promotion, what the old primary has that its successor lacks;
// the old primary is kept read-only).
#include "kinds/mysql_promotion.hpp"

namespace drctl {

// Sessions that can write through read_only are a warning here (the step refuses them unless
// kill_after is set); output lag_ms (whole seconds, as the replica reports them).
Outcome promotion_readiness(MysqlServer& primary, MysqlServer& replica,
                            const PromotionLimits& limits);

// Refuses (not_a_successor) unless `successor` took over: writable and not replicating from
// `old_primary`, so that a healthy pair's primary is never frozen; then sets the old primary
// read-only if it is writable, and names what it has that the successor lacks (fails as `lost`
// when anything).
Outcome lost_transactions(MysqlServer& old_primary, MysqlServer& successor);

}  // namespace drctl
