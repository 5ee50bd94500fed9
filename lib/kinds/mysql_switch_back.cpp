#include <fmt/format.h>

#include <future>
#include <thread>

#include "kinds/failure.hpp"
#include "kinds/mysql_switch_plan.hpp"

namespace drctl {
namespace {

Outcome changed_outcome(Outcome outcome, bool changed) {
  outcome.changed = changed ? Changed::yes : Changed::no;
  return outcome;
}

// A failure of the undo that names what state it leaves.
Outcome undo_failed(Outcome cause, const std::string& left) {
  cause.message += "; " + left;
  cause.changed = Changed::unknown;
  return cause;
}

}  // namespace

Outcome switch_back(const SwitchSettings& settings, const SwitchJournal& journal,
                    const AttemptContext& ctx) {
  auto sessions = open_switch_sessions(settings, true);
  if (!sessions) {
    return undo_failed(sessions.error(),
                       "not undone: both servers are needed; the candidate's role is unchanged");
  }
  MysqlServer& primary = *sessions->primary;
  MysqlServer& control = *sessions->control;
  MysqlServer& candidate = *sessions->candidate;
  bool changed = false;

  // A later run that promoted either server (a newer fencing token in its drctl.promotions)
  // owns the roles now: this undo is stale.
  for (MysqlServer* server : {&candidate, &primary}) {
    if (auto fenced = check_fence(*server, ctx.fencing_token); !fenced) {
      Outcome refused = fenced.error();
      refused.changed = Changed::no;
      return refused;
    }
  }
  auto client = sql_client();
  if (!client) return failed(Status::failed, "module", "mysql: " + client.error());
  auto candidate_control = MysqlServer::open(**client, settings.candidate, "candidate");
  if (!candidate_control) return candidate_control.error();
  auto status = candidate.replica_status();
  if (!status) return status.error();
  auto candidate_ro = candidate.read_only();
  if (!candidate_ro) return candidate_ro.error();
  const bool candidate_was_writable = !*candidate_ro;
  auto freeze_candidate = [&]() -> tl::expected<void, Outcome> {
    if (!*candidate_ro) {
      if (auto done = set_read_only(candidate, **candidate_control, true,
                                    within(ctx.deadline, settings.freeze_timeout));
          !done)
        return done;
      *candidate_ro = true;
      changed = true;
    }
    return {};
  };
  bool replicating = *status && replica_source(**status).server_id == primary.server_id();
  if (replicating) {
    // The promotion makes the candidate writable before it stops replicating: one interrupted
    // there is frozen again, and if it took writes meanwhile (whatever its read_only says now:
    // an earlier undo may have frozen it), it counts as promoted.
    if (auto done = freeze_candidate(); !done) return done.error();
    {
      auto taken = transactions_missing(candidate, primary);
      if (!taken) return taken.error();
      if (!taken->empty()) {
        if (auto done = stop_replicating(candidate); !done) return done.error();
        replicating = false;
      }
    }
  }
  if (replicating) {
    // Never promoted: the candidate replicates again, the primary writes again.
    ReplicaSource source = replica_source(**status);
    if (!source.io_running || !source.sql_running) {
      if (auto done = candidate.exec(candidate.mariadb() ? "START SLAVE" : "START REPLICA"); !done)
        return done.error();
      changed = true;
      if (auto running = threads_running(candidate, source.host + ":" + std::to_string(source.port),
                                         within(ctx.deadline, settings.catchup_timeout));
          !running)
        return changed_outcome(running.error(), true);
    }
    auto read_only = primary.read_only();
    if (!read_only) return read_only.error();
    if (*read_only && !journal.primary_was_read_only) {
      if (auto done =
              set_read_only(primary, control, false, within(ctx.deadline, settings.freeze_timeout));
          !done)
        return done.error();
      changed = true;
    }
    if (!changed) {
      return Outcome::fail(Status::skipped,
                           "mysql: nothing to undo: the candidate still replicates from the "
                           "primary, which is writable",
                           Changed::no);
    }
    return changed_outcome(
        Outcome::ok(fmt::format("mysql: the switch had not promoted {}: it replicates from the {} "
                                "again, which is writable again",
                                candidate.name(), primary.name())),
        true);
  }

  // Promoted: switch back the planned way. Freeze the candidate first, so that there is never
  // a moment with two writable servers.
  auto start = SteadyClock::now();
  auto reopen_candidate = [&](Outcome cause) {
    if (!candidate_was_writable) {
      return undo_failed(std::move(cause), fmt::format("not undone: the {} stays as it was "
                                                       "(read-only)",
                                                       candidate.name()));
    }
    auto reopened = set_read_only(candidate, **candidate_control, false,
                                  within(ctx.deadline, settings.freeze_timeout));
    return undo_failed(std::move(cause),
                       reopened
                           ? fmt::format("not undone: the {} stays the primary", candidate.name())
                           : fmt::format("not undone, and the {} could not be made "
                                         "writable again: both servers are read-only",
                                         candidate.name()));
  };
  if (auto done = freeze_candidate(); !done) return done.error();
  auto written = candidate.written_position();
  if (!written) return reopen_candidate(written.error());

  // The old primary must have everything the candidate has: by its replication from the
  // candidate (the switch re-pointed it), or by re-pointing it now when it lacks nothing.
  auto lost = transactions_missing(primary, candidate);
  if (!lost) return reopen_candidate(lost.error());
  auto missing = transactions_missing(candidate, primary);
  if (!missing) return reopen_candidate(missing.error());
  if (!missing->empty()) {
    if (!lost->empty()) {
      return reopen_candidate(failed(
          Status::failed, "diverged",
          fmt::format("mysql: cannot switch back without losing writes: the {} took {} that the "
                      "{} lacks, and the {} has {} that the {} lacks",
                      candidate.name(), missing->text, primary.name(), primary.name(), lost->text,
                      candidate.name())));
    }
    auto primary_status = primary.replica_status();
    if (!primary_status) return reopen_candidate(primary_status.error());
    if (!*primary_status || replica_source(**primary_status).server_id != candidate.server_id()) {
      ReplicationLogin login = settings.candidate_login;
      login.password = settings.replication_password;
      if (auto done =
              replicate_from(primary, login, within(ctx.deadline, settings.catchup_timeout));
          !done)
        return reopen_candidate(done.error());
    }
    auto applied = wait_applied(primary, *written, within(ctx.deadline, settings.catchup_timeout));
    if (!applied) return reopen_candidate(applied.error());
    missing = transactions_missing(candidate, primary);
    if (!missing) return reopen_candidate(missing.error());
    if (!missing->empty()) {
      return reopen_candidate(
          failed(Status::failed, "not_caught_up",
                 fmt::format("mysql: the {} did not receive the {}'s writes in time: {} at stake",
                             primary.name(), candidate.name(), missing->text)));
    }
  }
  double catchup_ms = ms_since(start);

  // The old primary writes again; the candidate replicates from it as before the switch.
  if (auto done = stop_replicating(primary); !done) return reopen_candidate(done.error());
  if (!journal.primary_was_read_only) {
    if (auto done =
            set_read_only(primary, control, false, within(ctx.deadline, settings.freeze_timeout));
        !done)
      return undo_failed(done.error(), "both servers are read-only");
  }
  double frozen_ms = ms_since(start);
  Outcome outcome;
  if (auto fenced = write_fence(primary, ctx.run_id, ctx.fencing_token,
                                candidate.endpoint().describe(), *written);
      !fenced)
    outcome.warnings.push_back("no promotion row written: " + fenced.error().message);
  // The replication account of the spec (its password is the spec's), to where the candidate
  // replicated from before.
  ReplicationLogin source{journal.source.host, journal.source.port, settings.candidate_login.user,
                          settings.replication_password};
  if (source.host.empty()) {
    source = {settings.primary.host, settings.primary.port, settings.candidate_login.user,
              settings.replication_password};
  }
  outcome.evidence["freeze_ms"] = frozen_ms;
  outcome.evidence["catchup_ms"] = catchup_ms;
  outcome.evidence["gtid"] = *written;
  if (!lost->empty()) outcome.evidence["recovered_from_old_primary"] = lost->text;
  if (auto done = replicate_from(candidate, source, within(ctx.deadline, settings.catchup_timeout));
      !done) {
    return undo_failed(done.error(), fmt::format("the {} is the primary again; the {} is "
                                                 "read-only and does not replicate",
                                                 primary.name(), candidate.name()));
  }
  outcome.status = Status::ok;
  outcome.changed = Changed::yes;
  outcome.message = fmt::format(
      "mysql: {} is the primary again with every transaction the {} took (gtid {}), writes "
      "impossible for {:.1f} ms; the {} replicates from it{}",
      primary.name(), candidate.name(), *written, frozen_ms, candidate.name(),
      lost->empty() ? "" : fmt::format(" and received {} it lacked", lost->text));
  return outcome;
}

}  // namespace drctl
