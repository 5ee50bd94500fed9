#pragma once
// What a mysql_switchover step knows once its spec is read (the servers, the replication
// account, the bounds) and what it journals before each change (the phase it reached, the
// primary's final position, where the candidate replicated from): shared by the switch and by
// its undo, which may run in another process (drctl rollback) from the journal alone.
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "core/context.hpp"
#include "kinds/mysql_roles.hpp"
#include "util/duration.hpp"

namespace drctl {

struct SwitchSettings {
  SqlEndpoint primary, candidate;
  ReplicationLogin candidate_login;  // how the old primary reaches the candidate
  std::string replication_password;  // the replication account's, for either direction
  Millis freeze_timeout{2'000}, catchup_timeout{5'000};
  std::optional<Millis> kill_after;
};

struct SwitchJournal {
  std::string mode = "planned";
  // "" (nothing changed), "freezing", "promoting" (planned: not journaled on its own),
  // "repointing", "done"; emergency: "draining"
  std::string phase;
  bool primary_was_read_only = false;
  std::string final_position;  // the primary's, frozen (planned); the candidate's (emergency)
  ReplicaSource source;        // the candidate's replication before the switch

  nlohmann::json to_json() const;
  static std::optional<SwitchJournal> from_json(const nlohmann::json& state);
};

// The undo of a switch, from what the servers show now (so it is right after a crash at any
// point): a candidate still replicating from the primary is left so and the primary made
// writable again; a promoted candidate is frozen, the old primary brought to everything it has
// (by replication), proven to hold it, made writable, and the candidate re-pointed at it as
// before. Fails loudly, leaving exactly one writable server, when the old primary is
// unreachable or lacks transactions it cannot get (naming them).
Outcome switch_back(const SwitchSettings& settings, const SwitchJournal& journal,
                    const AttemptContext& ctx);

// Opens a session on each endpoint at once (connections to a remote site cost round trips).
struct SwitchSessions {
  std::unique_ptr<MysqlServer> primary, control, candidate;
};
tl::expected<SwitchSessions, Outcome> open_switch_sessions(const SwitchSettings& settings,
                                                           bool with_primary);

// A failure that keeps what was measured before it (`so_far`'s evidence), and says what it
// changed.
Outcome with_evidence(Outcome failure, const Outcome& so_far, Changed changed);
// The earlier of `deadline` and `limit` from now.
SteadyClock::time_point within(SteadyClock::time_point deadline, Millis limit);

// mode: emergency: refuses unless the primary is gone (refused or silent, and the candidate no
// longer receives from it); stops the candidate's IO thread, applies its relay log within
// catchup_timeout, promotes it. `enter` journals a phase before a change (false: refused).
Outcome promote_in_emergency(const SwitchSettings& settings, SwitchJournal& journal, bool adopted,
                             const AttemptContext& ctx,
                             const std::function<bool(const char*)>& enter);

}  // namespace drctl
