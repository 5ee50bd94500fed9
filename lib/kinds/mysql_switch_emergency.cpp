#include <fmt/format.h>

#include "kinds/failure.hpp"
#include "kinds/mysql_switch_plan.hpp"

namespace drctl {

Outcome promote_in_emergency(const SwitchSettings& settings, SwitchJournal& journal, bool adopted,
                             const AttemptContext& ctx,
                             const std::function<bool(const char*)>& enter) {
  auto start = SteadyClock::now();
  // The primary must be gone: one that answers gets a planned switch, never an emergency one.
  auto client = sql_client();
  if (!client) return failed(Status::failed, "module", "mysql: " + client.error());
  if (journal.phase.empty() || journal.phase == "draining") {
    // Gone means: nothing listens (refused) or nothing answers (timeout). Any other answer,
    // an unknown host or a TLS error included, proves nothing: refuse.
    auto probe = MysqlServer::open(**client, settings.primary, "primary");
    std::string why = probe ? "answers" : probe.error().evidence.value("error", "");
    bool gone =
        !probe && (why == "timeout" ||
                   (why == "refused" && probe.error().message.find("(2005)") == std::string::npos));
    if (!gone) {
      return failed(Status::failed, "primary_reachable",
                    fmt::format("mysql primary {}: {}: not proof that it is gone, and an "
                                "emergency promotion beside a live primary makes two; use "
                                "mode: planned, or fix the address",
                                settings.primary.describe(),
                                probe ? std::string("answers") : probe.error().message));
    }
  }
  auto sessions = open_switch_sessions(settings, false);
  if (!sessions) return sessions.error();
  MysqlServer& candidate = *sessions->candidate;
  Outcome outcome;
  outcome.evidence["mode"] = "emergency";
  auto status = candidate.replica_status();
  if (!status) return status.error();
  if (*status) {
    journal.mode = "emergency";
    journal.source = replica_source(**status);
    // The candidate's own view: receiving from its source means that source is alive (the
    // address in the playbook may be wrong).
    if (journal.phase.empty() && journal.source.io_running) {
      return failed(Status::failed, "primary_reachable",
                    fmt::format("mysql {}: still receives from its source {}:{} (IO thread "
                                "running): the primary is not gone; use mode: planned, or "
                                "check that primary: names that server",
                                candidate.name(), journal.source.host, journal.source.port));
    }
    if (!enter("draining")) return Outcome::journal_refused();
    // Stop receiving, then apply everything received: the relay log drained.
    if (auto done =
            candidate.exec(candidate.mariadb() ? "STOP SLAVE IO_THREAD" : "STOP REPLICA IO_THREAD");
        !done)
      return with_evidence(done.error(), outcome, Changed::unknown);
    auto stopped = candidate.replica_status();
    if (!stopped) return with_evidence(stopped.error(), outcome, Changed::yes);
    std::string received = *stopped ? replica_source(**stopped).io_position : "";
    outcome.evidence["received_gtid"] = received;
    if (!received.empty()) {
      auto applied =
          wait_applied(candidate, received, within(ctx.deadline, settings.catchup_timeout));
      if (!applied) return with_evidence(applied.error(), outcome, Changed::yes);
      if (!*applied) {
        candidate.exec(candidate.mariadb() ? "START SLAVE IO_THREAD" : "START REPLICA IO_THREAD");
        journal.phase.clear();
        return failed(outcome, Status::timeout, "catchup_timeout",
                      fmt::format("mysql {}: did not apply its relay log ({}) within "
                                  "catchup_timeout; replication restarted, nothing promoted",
                                  candidate.name(), received));
      }
    }
  } else if (!adopted) {
    return failed(
        Status::failed, "not_a_replica",
        fmt::format("mysql {}: not a replica (replica status is empty)", candidate.name()));
  }
  auto last = candidate.applied_position();
  if (!last) return last.error();
  journal.final_position = *last;
  if (!enter("promoting")) return Outcome::journal_refused();
  if (auto done = promote(candidate); !done) return done.error();
  if (auto fenced = write_fence(candidate, ctx.run_id, ctx.fencing_token,
                                settings.primary.describe() + " (unreachable)", *last);
      !fenced)
    outcome.warnings.push_back("no promotion row written: " + fenced.error().message);
  journal.phase = "done";
  outcome.status = Status::ok;
  outcome.changed = Changed::yes;
  outcome.evidence["last_gtid"] = *last;
  outcome.evidence["total_ms"] = ms_since(start);
  outcome.evidence["lost"] = "unknown until the old primary answers";
  outcome.outputs["new_primary"] = candidate.endpoint().describe();
  outcome.warnings.push_back(fmt::format(
      "what the old primary {} had and did not send is lost: once it answers, `drctl probe "
      "mysql-lost` names it (and keeps it read-only)",
      settings.primary.describe()));
  outcome.message = fmt::format(
      "mysql: {} promoted in an emergency with its last transaction {} (the primary {} is "
      "unreachable)",
      candidate.endpoint().describe(), *last, settings.primary.describe());
  return outcome;
}

}  // namespace drctl
