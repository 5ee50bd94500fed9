#include "kinds/mysql_switchover.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <future>
#include <thread>

#include "kinds/failure.hpp"
#include "kinds/mysql_freeze.hpp"
#include "kinds/mysql_promotion.hpp"
#include "kinds/mysql_switch_plan.hpp"
#include "util/strings.hpp"

namespace drctl {
namespace {

const Field k_primary =
    Field::object("primary", "The primary to move away from.", mysql_connection_fields())
        .mandatory();
const Field k_candidate =
    Field::object("candidate", "The replica to promote in its place.", mysql_connection_fields())
        .mandatory();
const Field k_repl_user =
    Field::string("user", "The replication account (it exists on both servers).").mandatory();
const Field k_repl_host = Field::string(
    "host", "Where the old primary reaches the candidate (default: the candidate's host).");
const Field k_repl_port =
    Field::integer("port", "The candidate's port as the old primary sees it.").range(1, 65535);
const Field k_replication =
    Field::object(
        "replication", "The account a re-pointed server replicates with, in either direction.",
        {k_repl_user, k_repl_host, k_repl_port, k_mysql_password_env, k_mysql_password_file})
        .mandatory();
const Field k_mode = Field::string("mode",
                                   "planned: the primary answers, nothing is lost (proven); "
                                   "emergency: the primary is gone, the candidate's relay log "
                                   "is applied and it is promoted.")
                         .one_of({"planned", "emergency"})
                         .defaults_to("planned");
const Field k_allow_data_loss =
    Field::boolean("allow_data_loss",
                   "emergency must say true: it loses what the lost primary had not sent.")
        .defaults_to(false);
const Field k_max_lag =
    Field::duration("max_lag", "Precondition: the candidate's Seconds_Behind_Master at most this.");
const Field k_max_long_transaction = Field::duration(
    "max_long_transaction", "Precondition: no write transaction on the primary older than this.");
const Field k_freeze_timeout =
    Field::duration("freeze_timeout", "How long setting read_only on the primary may take.")
        .defaults_to(2000);
const Field k_kill_after = Field::duration(
    "kill_after",
    "After the freeze, kill write transactions still open this long later; sessions that can "
    "write through read_only are killed at once (unset: such sessions refuse the switch).");
const Field k_catchup_timeout =
    Field::duration("catchup_timeout", "How long the candidate may take to apply the last write.")
        .defaults_to(5000);
const Field k_repoint =
    Field::boolean("repoint_old_primary",
                   "Make the old primary replicate from the new one (read-only).")
        .defaults_to(true);
const Field k_connect_timeout =
    Field::duration("connect_timeout", "Connection limit (whole seconds in the connector).")
        .defaults_to(5000);
const Field k_read_timeout =
    Field::duration("read_timeout", "Limit for one answer.").defaults_to(5000);

class MysqlSwitchoverOperation : public Operation {
 public:
  explicit MysqlSwitchoverOperation(Spec spec) : m_spec(std::move(spec)) { sql_client(); }

  Outcome run(const AttemptContext& ctx) override {
    auto settings = read_settings();
    if (!settings) return failed(Status::failed, "config", settings.error());
    m_settings = *settings;
    if (m_spec.str(k_mode) != "emergency") return run_planned(ctx);
    return promote_in_emergency(m_settings, m_journal, m_adopted, ctx,
                                [&](const char* phase) { return enter(ctx, phase); });
  }

  bool can_undo() const override { return true; }
  nlohmann::json undo_state() const override {
    return m_journal.phase.empty() ? nlohmann::json(nullptr) : m_journal.to_json();
  }

  // Both servers' roles now (or as an earlier step's preview leaves them) and after the switch;
  // the planned switch's preconditions evaluated now, on sessions that only read.
  Preview preview(const AttemptContext& /*ctx*/, PreviewOverlay& overlay) {
    Preview preview;
    auto settings = read_settings();
    if (!settings) {
      preview.unreadable.push_back("mysql: " + settings.error());
      return preview;
    }
    m_settings = *settings;
    const bool emergency = m_spec.str(k_mode) == "emergency";
    const std::string primary_at = m_settings.primary.describe();
    const std::string candidate_at = m_settings.candidate.describe();
    const std::string primary_after =
        m_spec.boolean(k_repoint) && !emergency
            ? fmt::format("read-only, replica of {}:{}", m_settings.candidate_login.host,
                          m_settings.candidate_login.port)
            : std::string("read-only, not a replica");
    const std::string candidate_after = "writable, not a replica (the primary)";
    const auto* primary_earlier = overlay.find("mysql:" + primary_at);
    const auto* candidate_earlier = overlay.find("mysql:" + candidate_at);
    auto sessions = open_switch_sessions(m_settings, !emergency);
    if (!sessions) {
      preview.unreadable.push_back(sessions.error().message);
      return preview;
    }
    auto role = [](MysqlServer& server) -> std::string {
      auto read_only = server.read_only();
      auto status = server.replica_status();
      auto position = server.written_position();
      if (!read_only) return "unreadable: " + read_only.error().message;
      if (!status) return "unreadable: " + status.error().message;
      std::string text = *read_only ? "read-only" : "writable";
      if (*status) {
        auto source = replica_source(**status);
        text += fmt::format(", replica of {}:{} (IO {}, SQL {})", source.host, source.port,
                            source.io_running ? "running" : "stopped",
                            source.sql_running ? "running" : "stopped");
      } else {
        text += ", not a replica";
      }
      if (position && !position->empty()) text += fmt::format(", gtid {}", *position);
      return text;
    };
    if (emergency) {
      preview.state("mysql " + candidate_at + " (candidate)",
                    candidate_earlier ? *candidate_earlier->value : role(*sessions->candidate),
                    candidate_after, candidate_earlier ? candidate_earlier->step : "");
      preview.notes.push_back(
          "emergency: whether the primary is gone is evaluated when it runs, not now");
      overlay.set("mysql:" + candidate_at, candidate_after);
      return preview;
    }
    preview.state("mysql " + primary_at + " (primary)",
                  primary_earlier ? *primary_earlier->value : role(*sessions->primary),
                  primary_after, primary_earlier ? primary_earlier->step : "");
    preview.state("mysql " + candidate_at + " (candidate)",
                  candidate_earlier ? *candidate_earlier->value : role(*sessions->candidate),
                  candidate_after, candidate_earlier ? candidate_earlier->step : "");
    if (primary_earlier || candidate_earlier) {
      preview.notes.push_back(
          fmt::format("preconditions not evaluated: step '{}' changes these servers' roles first",
                      (primary_earlier ? primary_earlier : candidate_earlier)->step));
    } else {
      Outcome outcome;
      PromotionLimits limits{m_spec.duration(k_max_lag), m_spec.duration(k_max_long_transaction),
                             m_spec.has(k_kill_after)};
      PromotionFacts facts;
      std::vector<long long> own = {sessions->primary->connection_id(),
                                    sessions->control->connection_id()};
      if (auto refused = check_promotable(*sessions->primary, *sessions->candidate, limits, own,
                                          facts, outcome)) {
        preview.refusals.push_back(refused->message);
      } else if (auto login = check_replication_login(*sessions->primary, *sessions->candidate);
                 !login) {
        preview.refusals.push_back(login.error().message);
      }
      for (const auto& warning : outcome.warnings) preview.notes.push_back(warning);
    }
    if (preview.refusals.empty()) {
      overlay.set("mysql:" + primary_at, primary_after);
      overlay.set("mysql:" + candidate_at, candidate_after);
    }
    return preview;
  }
  void adopt_undo_state(const nlohmann::json& state) override {
    if (auto journal = SwitchJournal::from_json(state)) {
      m_journal = *journal;
      m_adopted = true;
    }
  }

  // Always from the servers, even with no journaled state (one redacted because a secret
  // appeared in it, say): switch_back says "nothing to undo" when that is what it finds.
  Outcome undo(const AttemptContext& ctx) override {
    auto settings = read_settings();
    if (!settings) return failed(Status::failed, "config", settings.error());
    return switch_back(*settings, m_journal, ctx);
  }

 private:
  tl::expected<SwitchSettings, std::string> read_settings() const {
    SwitchSettings s;
    Millis connect = m_spec.duration(k_connect_timeout).value();
    Millis read = m_spec.duration(k_read_timeout).value();
    auto primary = mysql_endpoint(m_spec.object(k_primary), connect, read);
    if (!primary) return tl::unexpected("primary: " + primary.error());
    auto candidate = mysql_endpoint(m_spec.object(k_candidate), connect, read);
    if (!candidate) return tl::unexpected("candidate: " + candidate.error());
    s.primary = *primary;
    s.candidate = *candidate;
    // MASTER_GTID_WAIT holds a session up to catchup_timeout (on either server, in an undo),
    // a blocked SET read_only up to freeze_timeout: the client must not give up first.
    Millis waits = std::max(m_spec.duration(k_catchup_timeout).value(),
                            m_spec.duration(k_freeze_timeout).value()) +
                   Millis(1000);
    s.primary.read_timeout = std::max(read, waits);
    s.candidate.read_timeout = std::max(read, waits);
    Spec repl = m_spec.object(k_replication);
    auto password = repl.secret("password");
    if (!password) return tl::unexpected("mysql replication: password: " + password.error());
    s.replication_password = *password;
    s.candidate_login = {
        repl.has(k_repl_host) ? repl.str(k_repl_host) : s.candidate.host,
        repl.has(k_repl_port) ? static_cast<int>(repl.integer(k_repl_port)) : s.candidate.port,
        repl.str(k_repl_user), ""};
    s.freeze_timeout = m_spec.duration(k_freeze_timeout).value();
    s.catchup_timeout = m_spec.duration(k_catchup_timeout).value();
    s.kill_after = m_spec.duration(k_kill_after);
    return s;
  }

  // Journals the phase about to start; false when the journal refused it (change nothing).
  bool enter(const AttemptContext& ctx, const char* phase) {
    std::string previous = m_journal.phase;
    m_journal.phase = phase;
    if (ctx.save_undo_state()) return true;
    m_journal.phase = previous;
    return false;
  }

  Outcome run_planned(const AttemptContext& ctx) {
    auto start = SteadyClock::now();
    auto sessions = open_switch_sessions(m_settings, true);
    if (!sessions) return sessions.error();
    MysqlServer& primary = *sessions->primary;
    MysqlServer& control = *sessions->control;
    MysqlServer& candidate = *sessions->candidate;
    // An earlier attempt (a retry, or a killed run being resumed) changed things: decide from
    // the servers, and keep the state before that attempt.
    const bool again = m_adopted || !m_journal.phase.empty();
    if (again) {
      if (auto resumed = resume_promoted(ctx, primary, candidate)) return *resumed;
    }

    Outcome outcome;
    PromotionLimits limits{m_spec.duration(k_max_lag), m_spec.duration(k_max_long_transaction),
                           m_spec.has(k_kill_after)};
    PromotionFacts facts;
    std::vector<long long> own = {primary.connection_id(), control.connection_id()};
    if (auto refused = check_promotable(primary, candidate, limits, own, facts, outcome)) {
      if (again) refused->changed = Changed::unknown;  // the earlier attempt's changes remain
      return *refused;
    }
    if (auto fenced = check_fence(candidate, ctx.fencing_token); !fenced) return fenced.error();
    if (auto login = check_replication_login(primary, candidate); !login) return login.error();
    auto primary_ro = primary.read_only();
    if (!primary_ro) return primary_ro.error();
    outcome.evidence["preconditions_ms"] = ms_since(start);

    // Freeze.
    m_journal.mode = "planned";
    m_journal.source = facts.source;
    if (!again) m_journal.primary_was_read_only = *primary_ro;
    if (!enter(ctx, "freezing")) return Outcome::journal_refused();
    auto frozen_at = SteadyClock::now();
    if (auto done =
            set_read_only(primary, control, true, within(ctx.deadline, m_settings.freeze_timeout));
        !done) {
      // Killed in time the SET changed nothing; any other failure may have set it after all.
      return unfreeze(primary, control, with_evidence(done.error(), outcome, Changed::no), ctx);
    }
    outcome.evidence["read_only_set_ms"] = ms_since(frozen_at);
    // Without kill_after the open write transactions are only reported (their COMMIT fails
    // now): they are read on the control session while the candidate catches up, outside the
    // window (INNODB_TRX is rebuilt on a read: ~2 ms). Settled before the control session is
    // used again or goes.
    std::future<tl::expected<std::vector<MysqlSession>, Outcome>> open_at_freeze;
    auto fail_frozen = [&](Outcome failure) {
      if (open_at_freeze.valid()) open_at_freeze.wait();
      return unfreeze(primary, control, std::move(failure), ctx);
    };
    if (m_settings.kill_after) {
      if (auto killed =
              stop_writers(primary, control, own, *m_settings.kill_after, ctx.deadline, outcome);
          !killed)
        return fail_frozen(killed.error());
    } else {
      auto bypassers = read_only_bypassers(primary, own);
      if (!bypassers) return fail_frozen(bypassers.error());
      if (!bypassers->empty()) {
        return fail_frozen(failed(
            outcome, Status::failed, "read_only_bypass",
            fmt::format("mysql {}: sessions connected at the freeze can write through read_only: "
                        "{} (set kill_after to kill them)",
                        primary.name(), describe(*bypassers))));
      }
      outcome.evidence["killed"] = nlohmann::json::array();
      open_at_freeze = std::async(std::launch::async, [&control] { return open_writers(control); });
    }

    // Catch up, and prove it.
    auto caught_at = SteadyClock::now();
    auto final_position = primary.written_position();
    if (!final_position) return fail_frozen(final_position.error());
    outcome.evidence["final_gtid"] = *final_position;
    auto applied =
        wait_applied(candidate, *final_position, within(ctx.deadline, m_settings.catchup_timeout));
    if (!applied) return fail_frozen(applied.error());
    if (!*applied) {
      return fail_frozen(
          failed(outcome, Status::timeout, "catchup_timeout",
                 fmt::format("mysql {}: did not apply the {}'s last transaction ({}) "
                             "within catchup_timeout {} ms",
                             candidate.name(), primary.name(), *final_position,
                             m_settings.catchup_timeout.count())));
    }
    if (auto unproven = prove_caught_up(primary, candidate, *final_position, outcome))
      return fail_frozen(*unproven);
    outcome.evidence["catchup_ms"] = ms_since(caught_at);

    // Promote. Not journaled first: the undo needs nothing learnt since the freeze's record
    // (it reads the roles from the servers), and a journal write here would lengthen the
    // window in which nobody can write. The final position goes to the journal next.
    m_journal.final_position = *final_position;
    m_journal.phase = "promoting";
    double freeze_ms = 0;
    auto promoted = promote(candidate, [&] { freeze_ms = ms_since(frozen_at); });
    if (freeze_ms > 0) {
      outcome.evidence["freeze_ms"] = freeze_ms;
      outcome.outputs["freeze_ms"] = fmt::format("{:.1f}", freeze_ms);
    }
    if (open_at_freeze.valid()) {
      auto open = open_at_freeze.get();
      outcome.evidence["open_at_freeze"] = nlohmann::json::array();
      if (open) {
        for (const auto& w : *open) outcome.evidence["open_at_freeze"].push_back(to_json(w));
      }
    }
    if (!promoted) {
      // The undo looks at what happened (the candidate may be writable and still replicating).
      return with_evidence(promoted.error(), outcome, Changed::unknown);
    }
    fence(ctx, candidate, primary, *final_position, outcome);
    return finish(ctx, primary, candidate, std::move(outcome), start);
  }

  // After a crash past the promotion (adopted state): the candidate no longer replicates from
  // the primary. Finish only what is provably safe: the primary is frozen and the candidate
  // has all it wrote. nullopt: the candidate still replicates, so switch from the start.
  std::optional<Outcome> resume_promoted(const AttemptContext& ctx, MysqlServer& primary,
                                         MysqlServer& candidate) {
    auto status = candidate.replica_status();
    if (!status) return status.error();
    if (*status && replica_source(**status).server_id == primary.server_id()) return std::nullopt;
    if (auto fenced = check_fence(candidate, ctx.fencing_token); !fenced) return fenced.error();
    auto start = SteadyClock::now();
    Outcome outcome;
    auto primary_ro = primary.read_only();
    if (!primary_ro) return primary_ro.error();
    auto lost = transactions_missing(primary, candidate);
    if (!lost) return lost.error();
    if (!*primary_ro || !lost->empty()) {
      return failed(Status::failed, "unsafe_resume",
                    fmt::format("mysql: cannot finish the interrupted switch: the {} is {} and "
                                "has {} the {} lacks; roll it back instead",
                                primary.name(), *primary_ro ? "read-only" : "writable",
                                lost->empty() ? "nothing" : lost->text, candidate.name()),
                    Changed::unknown);
    }
    auto written = primary.written_position();
    if (!written) return written.error();
    m_journal.final_position = *written;
    if (auto done = promote(candidate); !done) return done.error();
    outcome.evidence["resumed"] = true;
    fence(ctx, candidate, primary, *written, outcome);
    return finish(ctx, primary, candidate, std::move(outcome), start);
  }

  // Re-points the old primary (unless asked not to) and says what the switch did.
  Outcome finish(const AttemptContext& ctx, MysqlServer& primary, MysqlServer& candidate,
                 Outcome outcome, SteadyClock::time_point start) {
    outcome.changed = Changed::yes;
    outcome.outputs["new_primary"] = candidate.endpoint().describe();
    auto position = candidate.written_position();
    if (position) outcome.evidence["new_primary_gtid"] = *position;
    // A session that connected after the kills with READ_ONLY ADMIN could still have written
    // on the old primary after the proof: those writes are not on the new one. Fail, so that
    // the rollback (which carries them over) or a human deals with them; never report RPO 0.
    // Positions, not histories: an old entry in a binlog state is not a write.
    auto now = primary.written_position();
    if (!now) return with_evidence(now.error(), outcome, Changed::yes);
    if (*now != m_journal.final_position) {
      outcome.evidence["written_through_freeze"] = *now;
      return failed(outcome, Status::failed, "written_through_freeze",
                    fmt::format("mysql {}: wrote after the freeze ({} -> {}), which the new "
                                "primary {} lacks (a session writes through read_only)",
                                primary.name(), m_journal.final_position, *now,
                                candidate.endpoint().describe()));
    }
    if (m_spec.boolean(k_repoint)) {
      if (!enter(ctx, "repointing")) return Outcome::journal_refused();
      auto repoint_at = SteadyClock::now();
      ReplicationLogin login = m_settings.candidate_login;
      login.password = m_settings.replication_password;
      if (auto done =
              replicate_from(primary, login, within(ctx.deadline, m_settings.catchup_timeout));
          !done) {
        Outcome failure = with_evidence(done.error(), outcome, Changed::yes);
        failure.message += fmt::format(" (the {} is the primary; the {} is read-only)",
                                       candidate.name(), primary.name());
        return failure;
      }
      outcome.evidence["repoint_ms"] = ms_since(repoint_at);
    }
    m_journal.phase = "done";
    outcome.evidence["total_ms"] = ms_since(start);
    outcome.status = Status::ok;
    outcome.message = fmt::format(
        "mysql: {} promoted with every transaction of the {} (gtid {}){}{}",
        candidate.endpoint().describe(), primary.name(), m_journal.final_position,
        outcome.evidence.contains("freeze_ms")
            ? fmt::format(", writes impossible for {:.1f} ms",
                          outcome.evidence["freeze_ms"].get<double>())
            : std::string(" (finished after an interruption)"),
        m_spec.boolean(k_repoint) ? fmt::format("; the {} replicates from it", primary.name())
                                  : std::string());
    return outcome;
  }

  // The replication account logs in to both servers (each may replicate from the other: the
  // old primary after the switch, the candidate after an undo): a wrong password found after
  // the promotion would leave the old primary without replication and the undo without a way
  // back. From drctl's host: the servers' own network path is proven by the re-point.
  tl::expected<void, Outcome> check_replication_login(MysqlServer& primary,
                                                      MysqlServer& candidate) {
    for (MysqlServer* server : {&candidate, &primary}) {
      SqlEndpoint login = server->endpoint();
      login.user = m_settings.candidate_login.user;
      login.password = m_settings.replication_password;
      login.ca = login.cert = login.key = "";
      auto session =
          MysqlServer::open(**sql_client(), login, server->name() + " as replication user");
      if (!session && session.error().evidence.value("error", "") == "auth") {
        return tl::unexpected(
            failed(Status::failed, "replication_login",
                   fmt::format("mysql {}: the replication account {} cannot log "
                               "in from here (a wrong password, or an account "
                               "that does not accept this host): {}; nothing "
                               "changed",
                               server->name(), login.user, session.error().message)));
      }
    }
    return {};
  }

  // A failure after the freeze and before the promotion: the primary takes writes again.
  Outcome unfreeze(MysqlServer& primary, MysqlServer& control, Outcome failure,
                   const AttemptContext& ctx) {
    if (m_journal.primary_was_read_only) {
      failure.changed = Changed::no;
      return failure;
    }
    auto done =
        set_read_only(primary, control, false, within(ctx.deadline, m_settings.freeze_timeout));
    if (done) {
      m_journal.phase.clear();
      failure.message += "; the primary was made writable again";
      failure.changed = Changed::no;
    } else {
      failure.message += "; the primary is still read-only: " + done.error().message;
      failure.changed = Changed::yes;
    }
    return failure;
  }

  void fence(const AttemptContext& ctx, MysqlServer& candidate, MysqlServer& primary,
             const std::string& position, Outcome& outcome) {
    if (auto fenced = write_fence(candidate, ctx.run_id, ctx.fencing_token,
                                  primary.endpoint().describe(), position);
        !fenced)
      outcome.warnings.push_back("no promotion row written: " + fenced.error().message);
  }

  Spec m_spec;
  SwitchSettings m_settings;
  SwitchJournal m_journal;
  bool m_adopted = false;
};

class MysqlSwitchoverKind : public Kind {
 public:
  std::string_view name() const override { return "mysql_switchover"; }
  std::string_view summary() const override {
    return "Move the MySQL/MariaDB primary role to a replica: preconditions, freeze, catch up "
           "(RPO 0 proven by GTID), promote, re-point; undo switches back the same way.";
  }
  bool allowed_as(Role role) const override { return role == Role::step; }
  const Fields& fields() const override {
    static const Fields fields = {k_primary,
                                  k_candidate,
                                  k_replication,
                                  k_mode,
                                  k_allow_data_loss,
                                  k_max_lag,
                                  k_max_long_transaction,
                                  k_freeze_timeout,
                                  k_kill_after,
                                  k_catchup_timeout,
                                  k_repoint,
                                  k_connect_timeout,
                                  k_read_timeout};
    return fields;
  }
  std::vector<std::string> outputs() const override { return {"freeze_ms", "new_primary"}; }
  std::string_view notes() const override {
    return R"(Planned, in this order (each phase timed in the evidence):
  1. preconditions, changing nothing: privileges on both servers; the candidate replicates from
     this primary (Master_Server_Id) with both threads running; no errant transaction (all it
     executed, the primary has); max_lag; max_long_transaction; sessions whose account holds
     READ_ONLY ADMIN (refused unless kill_after is set); the replication account logs in to
     both; semi-sync state reported.
  2. journal the undo state; freeze: SET GLOBAL read_only=1 (super_read_only on MySQL), killed
     at freeze_timeout (the primary is then left as it was); READ_ONLY ADMIN sessions killed;
     open write transactions given kill_after, then killed.
  3. catch up: the primary's final GTID position, MASTER_GTID_WAIT on the candidate within
     catchup_timeout, then proof: the candidate holds exactly that position in every domain and
     the primary wrote nothing since (RPO 0, proven).
  4. promote: read_only=0 (writes impossible until here: freeze_ms), then STOP SLAVE;
     RESET SLAVE ALL; a row in drctl.promotions (run id, fencing token), outside the binlog.
  5. the old primary's position must still be the frozen one (else written_through_freeze);
     re-point (repoint_old_primary): it replicates from the new one by GTID, read-only, both
     threads seen running.
A failure before the promotion makes the primary writable again and changes nothing else.
Undo (rollback, drctl rollback, a killed run): not promoted: the candidate replicates again and
the primary writes again; promoted: the candidate is frozen, the old primary brought to all it
wrote (by replication), proven, made writable, and the candidate re-pointed; when that cannot
be proven, the rollback fails naming the GTIDs at stake and the candidate stays the primary.
Emergency (allow_data_loss: true): refused unless the primary's address is refused or silent
and the candidate no longer receives from it; stops the IO thread, applies the relay log,
promotes; `drctl probe mysql-lost` later names what was lost.
Details: docs/playbook.md.)";
  }
  std::vector<SpecProblem> check_spec(const Spec& spec) const override {
    std::vector<SpecProblem> problems;
    for (const Field* side : {&k_primary, &k_candidate, &k_replication}) {
      Spec object = spec.object(*side);
      if (object.has(k_mysql_password_env) && object.has(k_mysql_password_file))
        problems.push_back({side->name + "." + k_mysql_password_file.name,
                            "give password_env or password_file, not both"});
    }
    Spec repl = spec.object(k_replication);
    if (!repl.has(k_mysql_password_env) && !repl.has(k_mysql_password_file)) {
      problems.push_back(
          {k_replication.name, "give the replication account's password_env or password_file"});
    }
    bool emergency = spec.str(k_mode) == "emergency";
    if (emergency && !spec.boolean(k_allow_data_loss)) {
      problems.push_back({k_mode.name,
                          "mode: emergency loses what the primary had not sent: it needs "
                          "allow_data_loss: true"});
    }
    if (!emergency && spec.boolean(k_allow_data_loss))
      problems.push_back({k_allow_data_loss.name, "allow_data_loss goes with mode: emergency"});
    if (spec.boolean(k_repoint) && spec.object(k_candidate).has(k_mysql_socket) &&
        !spec.object(k_replication).has(k_repl_host)) {
      problems.push_back({k_replication.name,
                          "the candidate is given by socket: replication.host and port say "
                          "where the old primary reaches it"});
    }
    return problems;
  }
  std::string target(const Spec& spec) const override {
    return fmt::format("{} -> {}", mysql_target(spec.object(k_primary)),
                       mysql_target(spec.object(k_candidate)));
  }
  std::string describe(const Spec& spec) const override {
    if (spec.str(k_mode) == "emergency") {
      return fmt::format("promote {} in an emergency (primary {} gone; data loss accepted)",
                         mysql_target(spec.object(k_candidate)),
                         mysql_target(spec.object(k_primary)));
    }
    return fmt::format(
        "move the primary role {} -> {}: check preconditions, freeze (read_only within {}), "
        "catch up (within {}), promote{}",
        mysql_target(spec.object(k_primary)), mysql_target(spec.object(k_candidate)),
        format_duration(*spec.duration(k_freeze_timeout)),
        format_duration(*spec.duration(k_catchup_timeout)),
        spec.boolean(k_repoint) ? ", re-point the old primary" : "");
  }
  bool undo_state_before_changes(const Spec&) const override { return true; }
  std::string undo_description(const Spec&) const override {
    return "switch back: unpromoted, the primary writes again; promoted, the same planned switch "
           "in the other direction (never losing the writes the new primary took)";
  }
  std::unique_ptr<Operation> prepare(const Spec& spec) const override {
    return std::make_unique<MysqlSwitchoverOperation>(spec);
  }
  Preview preview(const Spec& spec, const AttemptContext& ctx,
                  PreviewOverlay& overlay) const override {
    return MysqlSwitchoverOperation(spec).preview(ctx, overlay);
  }
};

}  // namespace

std::unique_ptr<Kind> make_mysql_switchover_kind() {
  return std::make_unique<MysqlSwitchoverKind>();
}

}  // namespace drctl
