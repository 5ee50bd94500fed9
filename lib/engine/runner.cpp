#include "engine/runner.hpp"

#include <fmt/format.h>
#include <pwd.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <mutex>
#include <thread>

#include "clients/etcd_connection.hpp"
#include "engine/check_attempt.hpp"
#include "engine/performer.hpp"
#include "engine/run_lock.hpp"
#include "playbook/field_validator.hpp"
#include "playbook/interpolate.hpp"
#include "util/clock.hpp"
#include "util/crew.hpp"
#include "util/json_dump.hpp"
#include "util/json_fields.hpp"
#include "util/secrets.hpp"
#include "util/strings.hpp"

namespace drctl {
namespace {

using Outputs = StepOutputs;

// An undo state as it may be journaled. One that holds a secret's value is not written (the
// journal never holds secrets); its step then cannot be undone from the journal.
nlohmann::json journalable(const nlohmann::json& state) {
  if (state.is_null()) return state;
  std::string text = dump_json(state);
  if (redact(text) == text) return state;
  return {{"redacted", true}};
}

// A rollback or resume may take over the lock its own chain's dead run still holds.
std::unique_ptr<LockTakeover> recovery_takeover(const JournalState* journal) {
  if (journal == nullptr) return nullptr;
  auto takeover = std::make_unique<LockTakeover>();
  for (const auto& link : journal->chain) takeover->runs.push_back(link.run_id);
  if (journal->chain.empty()) takeover->runs = {journal->run_id, journal->head_run_id};
  if (journal->ended) takeover->ended.push_back(journal->head_run_id);
  return takeover;
}

class Run {
 public:
  Run(const Playbook& playbook, const KindRegistry& kinds, Reporter& reporter,
      const RunOptions& options, const CancelToken& cancel)
      : m_playbook(playbook),
        m_kinds(kinds),
        m_reporter(reporter),
        m_options(options),
        m_cancel(cancel) {
    m_takeover = recovery_takeover(options.resume ? options.resume : options.rollback);
    if (options.mode == Mode::dry_run) {
      m_step_performer = std::make_unique<DryRunPerformer>();
      // Every step's secrets are masked from the first preview on, whichever step reads them.
      for (const auto& step : playbook.steps) register_spec_secrets(step.action.spec.json());
    } else {
      m_step_performer = std::make_unique<LivePerformer>();
    }
  }

  RunReport execute();

 private:
  void run_check(std::size_t index);  // fills m_report.checks[index]
  void run_steps();
  bool may_start(const Entry& entry);
  EntryRecord reuse(const Entry& entry, const JournaledStep& done, const std::string& from_run);
  std::unique_ptr<Operation> adopting(const Entry& entry, const nlohmann::json& undo);
  void roll_back_journaled();
  // Rolls back the steps at these playbook indexes, in this order.
  void roll_back(const std::vector<std::size_t>& order);
  nlohmann::json undo_state_of(const std::string& step) const;
  // Puts an entry's start on record and starts its clock; false when the journal could not
  // record it (then a step or rollback must not run: a later rollback would not know it).
  bool begin(EntryRecord& record);
  // Runs one action with its timeout and retries, filling `record`; returns the last outcome.
  // No operation: it was not run, because its start is not on record.
  Outcome attempt(Operation* operation, const Timing& timing, EntryRecord& record,
                  bool use_undo = false);
  // What an approval step of `record` calls to wait for its decision until `deadline`.
  AwaitApproval approval_waiter(EntryRecord& record, Deadline deadline);
  bool confirmed();  // the operator's answer after the gate (true when nobody is asked)
  bool m_declined = false;
  EntryRecord new_record(Phase phase, const std::string& name, const Kind& kind, const Spec& spec,
                         const Timing& timing);
  void emit_started(const EntryRecord& record);
  void emit_finished(const EntryRecord& record);
  void conclude();  // the result and its one-line summary
  void measure_sla();
  void conclude_rollback_run();
  void conclude_failed_step();
  std::string sla_breach_summary() const;
  std::string writes_note() const;
  bool all_steps_done() const;  // every step of the playbook ran, and each ended ok
  std::string interrupted_rollback_summary() const;
  std::string unchanged() const;
  std::string success_summary() const;
  RunReport finish();  // concludes, reports (the journal last), releases the lock
  bool take_lock();
  void notice(const std::string& text);
  bool check_passed(std::size_t index) const;  // ok, or not re-run on resume
  bool fenced(const EntryRecord& record);
  bool skips_on_resume(const Entry& check) const;
  std::unique_ptr<LockTakeover> m_takeover;  // a recovery's: the lock its dead run holds
  LockFence m_fence;                         // valid while m_lock is held
  std::vector<char> m_not_rechecked;         // per check: skipped on resume (set by crew threads)
  bool adopt_lock(tl::expected<std::unique_ptr<RunLock>, LockRefusal> lock);  // false: refused
  nlohmann::json lock_holder() const;  // this run, as the lock's value names it
  std::unique_ptr<RunLock> m_lock;
  std::optional<std::string> m_lock_refusal;  // why the lock was not taken (held, or unreachable)
  std::string m_lock_lost;                    // why no further step started
  std::string m_journal_failure;              // the journal could not be written: why
  void emit_started_probe(const EntryRecord& record);
  std::unique_ptr<AvailabilityProbe> m_probe;
  std::unique_ptr<WriteProbe> m_write_probe;
  std::string m_probe_refusal;  // the write probe could not read back: no step was started
  void stop_probes();

  const Playbook& m_playbook;
  const KindRegistry& m_kinds;
  Reporter& m_reporter;
  RunOptions m_options;
  const CancelToken& m_cancel;
  std::unique_ptr<Performer> m_step_performer;
  LivePerformer m_check_performer;  // checks change nothing, so they run for real even in a dry run
  std::mutex m_event_mutex;
  RunReport m_report;
  Outputs m_outputs;
  std::vector<std::unique_ptr<Operation>> m_step_operations;  // kept for built-in undo
  bool m_step_failed = false;
  bool m_rollback_failed = false;  // a rollback failed: stop undoing, a human must look
  bool m_changes_remain = false;   // a step that changed things had no way back
  // A dry run: what the real run would refuse on (a step's preview, the run lock held).
  std::vector<std::string> m_would_refuse;
  void preview_lock();
};

EntryRecord Run::new_record(Phase phase, const std::string& name, const Kind& kind,
                            const Spec& spec, const Timing& timing) {
  return new_entry_record(phase, name, kind, spec, timing);
}

void Run::emit_started(const EntryRecord& record) {
  std::lock_guard lock(m_event_mutex);
  m_reporter.entry_started(record);
}

// Who runs drctl, and where: the journal, the lock's value and the report name them.
std::pair<std::string, std::string> operator_identity() {
  char host[256] = {};
  ::gethostname(host, sizeof host - 1);
  std::string user = std::getenv("USER") ? std::getenv("USER") : "";
  if (user.empty()) {
    if (const passwd* entry = ::getpwuid(::getuid()); entry != nullptr) user = entry->pw_name;
  }
  return {user.empty() ? std::to_string(::getuid()) : user, host};
}

nlohmann::json Run::lock_holder() const {
  return {{"run_id", m_report.run_id},
          {"host", m_report.operator_host},
          {"user", m_report.operator_user},
          {"pid", ::getpid()},
          {"started_at", rfc3339_utc(m_report.started.wall)},
          {"playbook", m_playbook.name}};
}

bool Run::take_lock() {
  return adopt_lock(RunLock::acquire(*m_playbook.lock, lock_holder(), m_takeover.get()));
}

bool Run::adopt_lock(tl::expected<std::unique_ptr<RunLock>, LockRefusal> lock) {
  if (!lock) {
    m_lock_refusal = redact(lock.error().message);
    return false;
  }
  m_lock = std::move(*lock);
  m_report.fencing_token = std::to_string(m_lock->fencing_token());
  m_report.lock = m_lock->to_json();
  m_fence = LockFence{m_playbook.lock->key, m_lock->fencing_token(), m_lock->cluster_id(),
                      Spec(m_playbook.lock->etcd).strings(k_etcd_endpoints)};
  if (!m_lock->takeover().empty()) notice(m_lock->takeover());
  return true;
}

void Run::notice(const std::string& text) {
  std::lock_guard lock(m_event_mutex);
  m_reporter.notice(redact(text));
}

void Run::emit_started_probe(const EntryRecord& record) {
  if (!m_probe && !m_write_probe) return;
  auto entry =
      fmt::format("{} {}", record.phase == Phase::rollback ? "rollback" : "step", record.name);
  if (m_probe) m_probe->running(entry);
  if (m_write_probe) m_write_probe->running(entry);
}

// After the last rollback: what users saw is measured, and the writes are read back (the
// reading is not the switch's time: sla.total ends with the last step).
void Run::stop_probes() {
  if (m_probe) m_report.sla.probe = m_probe->stop();
  if (m_write_probe) m_report.sla.write_probe = m_write_probe->stop(m_cancel);
}

void Run::emit_finished(const EntryRecord& record) {
  std::lock_guard lock(m_event_mutex);
  m_reporter.entry_finished(record);
}

bool Run::begin(EntryRecord& record) {
  emit_started_probe(record);
  record.started = Instant::now();
  emit_started(record);
  if (record.phase == Phase::check) return true;
  record.started = Instant::now();  // the wait for the journal is the engine's time, not the step's
  return m_reporter.failure().empty();
}

// The entry's clock started in begin(), so its duration includes preparing its client.
Outcome Run::attempt(Operation* operation_or_null, const Timing& timing, EntryRecord& record,
                     bool use_undo) {
  Outcome outcome;
  if (operation_or_null == nullptr) {
    outcome = Outcome::fail(Status::failed, "not run: the journal could not record its start",
                            Changed::no);
    outcome.evidence["error"] = "journal_failed";
  }
  if (operation_or_null != nullptr) {
    Operation& operation = *operation_or_null;
    outcome = attempt_with_retries(timing, m_cancel, [&](int number) {
      record.attempts = number;
      AttemptContext ctx{record.name, std::chrono::steady_clock::now() + timing.timeout, &m_cancel,
                         m_report.run_id, m_report.fencing_token};
      if (m_lock && record.phase != Phase::check) ctx.fence = &m_fence;
      if (record.phase != Phase::check) {
        ctx.process_started = [&](long long pgid) {
          std::lock_guard lock(m_event_mutex);
          m_reporter.entry_process(record, pgid);
        };
      }
      if (record.phase != Phase::check) ctx.await_approval = approval_waiter(record, ctx.deadline);
      if (record.phase == Phase::step) {
        ctx.checkpoint = [&] {
          record.undo_state = journalable(operation.undo_state());
          auto asked = std::chrono::steady_clock::now();
          std::lock_guard lock(m_event_mutex);
          bool recorded = m_reporter.entry_checkpoint(record);
          record.journal_wait += std::chrono::steady_clock::now() - asked;
          return recorded;
        };
      }
      return use_undo ? operation.undo(ctx) : operation.run(ctx);
    });
  }
  if (record.phase == Phase::step && operation_or_null != nullptr)
    record.undo_state = journalable(operation_or_null->undo_state());
  record_outcome(record, outcome, m_cancel);
  return outcome;
}

AwaitApproval Run::approval_waiter(EntryRecord& record, Deadline deadline) {
  return [this, &record, deadline](const std::string& message) {
    ApprovalDecision decision;
    if (m_options.approvals == nullptr) {
      decision.error = "this command cannot wait for an operator";
      return decision;
    }
    m_options.approvals->discard_typed_ahead();
    {
      std::lock_guard lock(m_event_mutex);
      m_reporter.entry_waiting(record, redact(message));
    }
    if (auto why = m_reporter.failure(); !why.empty()) {
      decision.error = "the journal could not record the wait: " + redact(why);
      return decision;
    }
    decision = m_options.approvals->wait(m_report.run_id, record.name, deadline, m_cancel);
    if (decision.via == "terminal") decision.by = m_report.operator_user;
    record.approval_wait += decision.waited;
    return decision;
  };
}

// On a terminal the operator answers after seeing the gate's verdict (terraform's order);
// the time spent looking is reported, never counted in the SLA.
bool Run::confirmed() {
  if (!m_options.confirm || m_options.mode != Mode::run) return true;
  const Instant asked = Instant::now();
  const bool yes = m_options.confirm(m_report, m_cancel) && !m_cancel.stop_requested();
  const Instant answered = Instant::now();
  m_report.confirmation = {{"asked_at", rfc3339_utc(asked.wall)},
                           {"answered_at", rfc3339_utc(answered.wall)},
                           {"waited_ms", to_ms(answered.steady - asked.steady)},
                           {"answer", yes ? "yes" : "no"}};
  if (!yes && !m_cancel.stop_requested()) m_declined = true;
  return yes;
}

void Run::run_check(std::size_t i) {
  const Entry& entry = m_playbook.checks[i];
  const Kind& kind = *m_kinds.find(entry.action.kind);
  auto late = late_spec(entry.action, kind, m_outputs, m_report);
  Spec spec = late ? *late : entry.action.spec;
  EntryRecord record = new_record(Phase::check, entry.name, kind, spec, entry.timing);
  if (m_cancel.stop_requested()) {
    record.status = Status::skipped;
    record.message = "not started: the run was interrupted";
    record.started = record.finished = Instant::now();
  } else if (skips_on_resume(entry)) {
    record.status = Status::skipped;
    record.message = fmt::format(
        "not re-run: run {} already changed the system, which may be this check's premise (the "
        "gate guarded its first change; on_resume: run or --recheck runs it)",
        m_options.resume->run_id);
    record.started = record.finished = Instant::now();
    m_not_rechecked[i] = 1;
    emit_finished(record);
  } else {
    begin(record);
    std::unique_ptr<Operation> operation =
        late ? m_check_performer.prepare(kind, spec) : failed_operation(late.error());
    attempt(operation.get(), entry.timing, record);
    // Honest roles: a check that writes (a heartbeat row, a canary key) says so, in every mode
    // (a dry run runs its checks for real).
    if (kind.writes(spec))
      record.warnings.push_back(
          fmt::format("this {} check writes to the system it checks", kind.name()));
    emit_finished(record);
  }
  m_report.checks[i] = std::move(record);
}

// True when the entry's write was refused because the run lock moved on (another run took it
// while this one was paused): by etcd, or by a database a later run promoted with a newer
// fencing token. The lock is lost, nothing further may change.
bool Run::fenced(const EntryRecord& record) {
  if (json_text(record.evidence, "error") != "fenced") return false;
  m_rollback_failed = m_rollback_failed || record.phase == Phase::rollback;
  if (m_lock_lost.empty())
    m_lock_lost = fmt::format("{} '{}' was fenced off: {}; nothing after it was started",
                              record.phase == Phase::rollback ? "rollback" : "step", record.name,
                              record.message);
  return true;
}

bool Run::skips_on_resume(const Entry& check) const {
  const JournalState* resume = m_options.resume;
  return resume != nullptr && !m_options.recheck && !check.run_on_resume &&
         (!resume->done.empty() || !resume->cut_short.empty());
}

bool Run::check_passed(std::size_t index) const {
  return m_report.checks[index].status == Status::ok || m_not_rechecked[index] != 0;
}

// Why no further step may start, or "" when one may: an interrupt, the lost lock or journal.
bool Run::may_start(const Entry& entry) {
  if (m_cancel.stop_requested()) return false;
  if (m_lock && !m_lock->confirm()) {
    m_lock_lost = fmt::format("{}; step '{}' and those after it were not started",
                              redact(m_lock->lost_reason()), entry.name);
    return false;
  }
  if (auto why = m_reporter.failure(); !why.empty()) {
    m_journal_failure = fmt::format(
        "{}; step '{}' and those after it were not started; nothing was rolled back (the steps "
        "done stay done)",
        redact(why), entry.name);
    return false;
  }
  return true;
}

// A step an earlier run completed (--resume, drctl rollback): recorded as done there, with its
// outputs for later ${steps.*} and its operation holding the journaled undo state.
EntryRecord Run::reuse(const Entry& entry, const JournaledStep& done, const std::string& from_run) {
  const Kind& kind = *m_kinds.find(entry.action.kind);
  EntryRecord record = new_record(Phase::step, entry.name, kind, entry.action.spec, entry.timing);
  record.started = record.finished = Instant::now();
  record.status = done.finished ? Status::ok : Status::failed;
  record.changed = Changed::unknown;
  record.done_in_run = done.done_in_run;
  record.message =
      done.finished ? fmt::format("done in run {}; not run again", done.done_in_run)
                    : fmt::format("cut short in run {}; its changes are unknown", done.done_in_run);
  record.evidence = {{"done_in_run", done.done_in_run}, {"journal", from_run}};
  record.outputs = done.outputs;
  record.undo_state = done.undo;
  m_outputs[entry.name] = done.outputs;
  return record;
}

std::unique_ptr<Operation> Run::adopting(const Entry& entry, const nlohmann::json& undo) {
  const Kind& kind = *m_kinds.find(entry.action.kind);
  auto late = late_spec(entry.action, kind, m_outputs, m_report);
  auto operation = late ? m_step_performer->prepare(kind, *late) : failed_operation(late.error());
  if (undo.is_object() && !json_bool(undo, "redacted")) operation->adopt_undo_state(undo);
  return operation;
}

void Run::run_steps() {
  const JournalState* resume = m_options.resume;
  if (m_options.mode == Mode::dry_run) preview_lock();
  for (std::size_t i = 0; i < m_playbook.steps.size(); ++i) {
    const Entry& entry = m_playbook.steps[i];
    if (!may_start(entry)) return;
    if (const JournaledStep* done = resume ? resume->find_done(entry.name) : nullptr) {
      EntryRecord record = reuse(entry, *done, resume->run_id);
      m_step_operations.push_back(adopting(entry, done->undo));
      m_report.steps.push_back(record);
      emit_finished(record);
      continue;
    }
    const Kind& kind = *m_kinds.find(entry.action.kind);
    auto late = late_spec(entry.action, kind, m_outputs, m_report);
    Spec spec = late ? *late : entry.action.spec;
    EntryRecord record = new_record(Phase::step, entry.name, kind, spec, entry.timing);
    record.budget = entry.budget;
    record.changes_after_undo_state = !kind.mutates(spec) || kind.undo_state_before_changes(spec);
    const bool recorded = begin(record);
    std::unique_ptr<Operation> operation =
        late ? m_step_performer->prepare(kind, spec) : failed_operation(late.error());
    if (const JournaledStep* cut = resume ? resume->find_cut_short(entry.name) : nullptr;
        cut && cut->undo.is_object() && !json_bool(cut->undo, "redacted")) {
      operation->adopt_undo_state(
          cut->undo);  // the "before" of the first attempt, not what it left
    }
    Outcome outcome = attempt(recorded ? operation.get() : nullptr, entry.timing, record);
    // With sla.exclude_approvals, a step's budget is held against its time without the wait.
    const auto counted =
        m_playbook.sla.exclude_approvals ? record.duration - record.approval_wait : record.duration;
    if (record.budget && m_step_performer->live() && counted > *record.budget) {
      record.budget_exceeded = true;
    }
    // A dry run's preview found what the real step would refuse on: said, and the steps after
    // it are previewed too (nothing was changed, so nothing is rolled back).
    const bool would_refuse =
        !m_step_performer->live() && json_text(record.evidence, "error") == "would_refuse";
    if (would_refuse) {
      record.status = Status::failed;
      m_would_refuse.push_back(fmt::format("step '{}' {}", entry.name, record.message));
    }
    m_outputs[entry.name] = record.outputs;
    m_step_operations.push_back(std::move(operation));
    m_report.steps.push_back(record);
    emit_finished(record);
    if (would_refuse) continue;
    if (record.status != Status::ok && record.status != Status::skipped) {
      m_step_failed = true;
      if (fenced(record)) return;  // another run holds the lock now: it must not be undone
      if (!m_cancel.stop_requested() && m_reporter.failure().empty()) {
        // The failed step first (if it may have changed something), then completed steps, newest
        // first.
        std::vector<std::size_t> order;
        if (outcome.changed != Changed::no) order.push_back(i);
        for (std::size_t j = i; j-- > 0;) order.push_back(j);
        roll_back(order);
      } else if (auto why = m_reporter.failure(); !why.empty()) {
        m_journal_failure = fmt::format(
            "{}; step '{}' {} and those after it were not started; nothing was rolled back",
            redact(why), entry.name,
            record.evidence.value("error", "") == "journal_failed" ? "was not run" : "failed");
      }
      return;
    }
  }
}

// A dry run reads the run lock and never takes it: held by another run, the real run would
// refuse at its start.
void Run::preview_lock() {
  if (!m_playbook.lock) return;
  auto holder = RunLock::holder_now(*m_playbook.lock);
  if (!holder) {
    notice("dry run: cannot read the run lock: " + holder.error());
  } else if (!*holder) {
    notice(
        fmt::format("dry run: run lock {} is free (the real run takes it)", m_playbook.lock->key));
  } else {
    m_would_refuse.push_back(**holder);
    notice("dry run: would refuse: " + **holder);
  }
}

// drctl rollback: the steps the journal says are done or cut short, undone newest first.
void Run::roll_back_journaled() {
  const JournalState& journal = *m_options.rollback;
  std::vector<std::size_t> order;
  m_step_operations.resize(m_playbook.steps.size());
  for (std::size_t i = 0; i < m_playbook.steps.size(); ++i) {
    const Entry& entry = m_playbook.steps[i];
    const JournaledStep* step = journal.find_done(entry.name);
    if (step == nullptr) step = journal.find_cut_short(entry.name);
    if (step == nullptr) continue;
    EntryRecord record = reuse(entry, *step, journal.run_id);
    m_step_operations[i] = adopting(entry, step->undo);
    m_report.steps.push_back(record);
    emit_finished(record);
    order.insert(order.begin(), i);
  }
  if (auto why = m_reporter.failure(); !why.empty()) {
    m_journal_failure = fmt::format("{}; nothing was rolled back", redact(why));
    return;
  }
  roll_back(order);
}

nlohmann::json Run::undo_state_of(const std::string& step) const {
  for (const auto& record : m_report.steps) {
    if (record.name == step) return record.undo_state;
  }
  return nullptr;
}

void Run::roll_back(const std::vector<std::size_t>& order) {
  for (std::size_t i : order) {
    const Entry& entry = m_playbook.steps[i];
    const Kind& step_kind = *m_kinds.find(entry.action.kind);
    if (entry.read_only || !m_step_operations[i]) continue;
    Operation& step_operation = *m_step_operations[i];
    if (m_rollback_failed || m_cancel.stop_requested()) {
      EntryRecord record =
          new_record(Phase::rollback, entry.name, step_kind, entry.action.spec, entry.timing);
      record.status = Status::skipped;
      record.message = m_cancel.stop_requested()
                           ? "not attempted: the run was interrupted"
                           : "not attempted: an earlier rollback failed, a human must look";
      record.started = record.finished = Instant::now();
      m_report.rollbacks.push_back(record);
      emit_finished(record);
      continue;
    }
    const nlohmann::json undo = undo_state_of(entry.name);
    if (entry.rollback) {
      const Kind& kind = *m_kinds.find(entry.rollback->action.kind);
      auto late = late_spec(entry.rollback->action, kind, m_outputs, m_report);
      Spec spec = late ? *late : entry.rollback->action.spec;
      EntryRecord record =
          new_record(Phase::rollback, entry.name, kind, spec, entry.rollback->timing);
      const bool recorded = begin(record);
      std::unique_ptr<Operation> operation =
          late ? m_step_performer->prepare(kind, spec) : failed_operation(late.error());
      attempt(recorded ? operation.get() : nullptr, entry.rollback->timing, record);
      if (record.status != Status::ok && record.status != Status::skipped) m_rollback_failed = true;
      fenced(record);
      m_report.rollbacks.push_back(record);
      emit_finished(record);
    } else if (step_operation.can_undo() && undo.is_object() && json_bool(undo, "redacted")) {
      EntryRecord record =
          new_record(Phase::rollback, entry.name, step_kind, entry.action.spec, entry.timing);
      record.status = Status::failed;
      record.message =
          "not undone: what its undo needs held a secret's value, so it was never journaled; "
          "restore it by hand";
      record.started = record.finished = Instant::now();
      m_rollback_failed = true;
      m_report.rollbacks.push_back(record);
      emit_finished(record);
    } else if (step_operation.can_undo()) {
      EntryRecord record =
          new_record(Phase::rollback, entry.name, step_kind, entry.action.spec, entry.timing);
      record.action = "built-in undo of " + record.action;
      attempt(begin(record) ? &step_operation : nullptr, entry.timing, record, true);
      if (record.status != Status::ok && record.status != Status::skipped) m_rollback_failed = true;
      fenced(record);
      m_report.rollbacks.push_back(record);
      emit_finished(record);
    } else if (step_kind.mutates(entry.action.spec)) {
      // Nothing can undo this step: say so, and the run cannot claim to be rolled back.
      EntryRecord record =
          new_record(Phase::rollback, entry.name, step_kind, entry.action.spec, entry.timing);
      record.status = Status::skipped;
      record.message = "no rollback declared: this step's changes stay";
      record.started = record.finished = Instant::now();
      m_changes_remain = true;  // the other rollbacks still run: undoing more is still better
      m_report.rollbacks.push_back(record);
      emit_finished(record);
    }
  }
}

void Run::conclude() {
  measure_sla();
  auto failed_check = m_report.checks.end();
  for (std::size_t i = 0; i < m_report.checks.size() && failed_check == m_report.checks.end();
       ++i) {
    if (!check_passed(i)) failed_check = m_report.checks.begin() + static_cast<std::ptrdiff_t>(i);
  }
  if (m_lock_refusal) {
    m_report.result = RunResult::lock_held;
    m_report.summary = *m_lock_refusal + ": no step was started, " + unchanged();
  } else if (!m_lock_lost.empty()) {
    m_report.result = RunResult::lock_lost;
    m_report.summary = m_lock_lost + "; nothing was rolled back (the steps done stay done)";
  } else if (!m_journal_failure.empty()) {
    m_report.result = RunResult::journal_failed;
    m_report.summary = m_journal_failure;
  } else if (m_options.mode == Mode::rollback && !m_cancel.stop_requested()) {
    conclude_rollback_run();
  } else if (m_cancel.stop_requested() && m_options.mode == Mode::dry_run) {
    // No journal to resume or roll back from, and nothing to undo.
    m_report.result = RunResult::interrupted;
    m_report.summary = "interrupted: a dry run, nothing was changed";
  } else if (m_cancel.stop_requested() && !m_report.rollbacks.empty()) {
    m_report.result = RunResult::interrupted;
    m_report.summary = interrupted_rollback_summary();
  } else if (m_cancel.stop_requested() && all_steps_done()) {
    // Every step completed (the last one let finish, or the signal came while the probes
    // finished): the switch itself is complete.
    m_report.result = RunResult::interrupted;
    m_report.summary = fmt::format(
        "interrupted, but all {} steps completed (a step running when the signal came is let "
        "finish): the switch is done, nothing was rolled back",
        m_report.steps.size());
  } else if (m_cancel.stop_requested()) {
    m_report.result = RunResult::interrupted;
    m_report.summary =
        m_report.steps.empty()
            ? "interrupted before any step started"
            : fmt::format(
                  "interrupted during or after step '{}'; nothing was rolled back (drctl rollback "
                  "{} undoes it, drctl run {} --resume {} goes on)",
                  m_report.steps.back().name, m_report.run_id,
                  m_playbook.source_path.empty() ? "PLAYBOOK" : m_playbook.source_path,
                  m_report.run_id);
  } else if (m_declined) {
    m_report.result = RunResult::declined;
    m_report.summary = fmt::format(
        "the checks passed, but the operator did not answer yes at the prompt: no step was "
        "started, {}",
        unchanged());
  } else if (!m_probe_refusal.empty()) {
    m_report.result = RunResult::checks_failed;
    m_report.summary = fmt::format("{}: no step was started, {}", m_probe_refusal, unchanged());
  } else if (failed_check != m_report.checks.end()) {
    m_report.result = RunResult::checks_failed;
    m_report.summary = fmt::format("check '{}' {}: no step was started, {}", failed_check->name,
                                   status_name(failed_check->status), unchanged());
  } else if (!m_would_refuse.empty()) {
    m_report.result = RunResult::would_refuse;
    m_report.summary = fmt::format(
        "dry run: not ready, the real run would refuse: {}; {} steps previewed, nothing was "
        "changed",
        join(m_would_refuse, "; "), m_report.steps.size());
  } else if (m_step_failed) {
    conclude_failed_step();
  } else if (m_report.sla.breached()) {
    // on_breach: warn forgives slowness, never acknowledged writes lost, and never turns
    // writes that were not read back into a success.
    const auto& writes = m_report.sla.write_probe;
    const bool lost = writes && writes->lost_exceeded;
    m_report.result = m_report.sla.on_breach == OnBreach::fail || lost ? RunResult::sla_breached
                      : !m_report.sla.writes_verified()                ? RunResult::not_verified
                                                                       : RunResult::success;
    m_report.summary = sla_breach_summary();
  } else if (!m_report.sla.writes_verified()) {
    m_report.result = RunResult::not_verified;
    m_report.summary = fmt::format(
        "all {} steps completed, but data loss is unknown: the write probe could not read its "
        "writes back ({})",
        m_report.steps.size(), m_report.sla.write_probe->not_verified_why);
  } else if (auto why = m_reporter.failure(); !why.empty() && m_options.mode == Mode::run) {
    m_report.result = RunResult::journal_failed;
    m_report.summary = fmt::format("all {} steps completed, but the journal is incomplete: {}",
                                   m_report.steps.size(), redact(why));
  } else {
    m_report.result = RunResult::success;
    m_report.summary = success_summary();
  }
  // What became of the writes, said once for every result (a breach's summary lists them).
  const auto& writes = m_report.sla.write_probe;
  const bool said = m_report.result == RunResult::not_verified ||
                    (m_report.result == RunResult::sla_breached && writes && writes->lost_exceeded);
  if (writes && !said) m_report.summary += writes_note();
}

bool Run::all_steps_done() const {
  return !m_step_failed && !m_report.steps.empty() &&
         m_report.steps.size() == m_playbook.steps.size() &&
         std::all_of(m_report.steps.begin(), m_report.steps.end(),
                     [](const EntryRecord& r) { return r.status == Status::ok; });
}

// A run that ended early still says what became of the writes it let through.
std::string Run::writes_note() const {
  const auto& probe = m_report.sla.write_probe;
  if (!probe) return "";
  if (probe->lost > 0) {
    std::vector<std::string> shown(
        probe->lost_keys.begin(),
        probe->lost_keys.begin() +
            static_cast<std::ptrdiff_t>(std::min<std::size_t>(probe->lost_keys.size(), 3)));
    return fmt::format("; {}{} acknowledged write(s) lost ({}{})",
                       probe->verified ? "" : "at least ", probe->lost, join(shown, ", "),
                       probe->lost > 3 ? ", ..." : "");
  }
  if (!probe->verified) return "; the writes could not be read back: data loss unknown";
  return fmt::format("; 0 of {} acknowledged writes lost", probe->acknowledged);
}

void Run::measure_sla() {
  auto& sla = m_report.sla;
  sla.total_budget = m_playbook.sla.total;
  sla.probe_spec = m_playbook.sla.probe;
  sla.write_probe_spec = m_playbook.sla.write_probe;
  sla.on_breach = m_playbook.sla.on_breach;
  sla.exclude_approvals = m_playbook.sla.exclude_approvals;
  bool all_steps_ran = m_report.steps.size() == m_playbook.steps.size() && !m_step_failed;
  if (m_options.mode != Mode::run || m_report.steps.empty()) return;
  sla.steps_elapsed = m_report.steps.back().finished.steady - m_report.steps.front().started.steady;
  // A resumed run's steps began in another run: the total from the command is not known.
  sla.evaluated = all_steps_ran && m_options.resume == nullptr;
  for (const auto& step : m_report.steps) sla.approval_wait += step.approval_wait;
  if (sla.total_budget && sla.counted_elapsed() > *sla.total_budget) sla.total_exceeded = true;
  for (const auto& step : m_report.steps) {
    if (step.budget_exceeded) sla.over_budget_steps.push_back(step.name);
  }
}

void Run::conclude_rollback_run() {
  bool partial = m_rollback_failed || m_changes_remain;
  m_report.result = partial ? RunResult::partial : RunResult::success;
  if (m_report.steps.empty()) {
    const auto& chain = m_options.rollback->chain;
    m_report.summary =
        chain.size() > 1
            ? fmt::format("run {} has nothing left to roll back (its chain ends with run {})",
                          m_report.rolls_back, m_options.rollback->head_run_id)
            : fmt::format("run {} has nothing left to roll back", m_report.rolls_back);
  } else if (partial) {
    m_report.summary = fmt::format(
        "rollback of run {} incomplete ({}): the state is partial, a human must look",
        m_report.rolls_back,
        m_rollback_failed ? "a rollback failed" : "a step without rollback changed things");
  } else {
    m_report.summary = fmt::format("run {} rolled back: {} rollback(s) succeeded",
                                   m_report.rolls_back, m_report.rollbacks.size());
  }
}

void Run::conclude_failed_step() {
  const auto& failed = m_report.steps.back();
  // A decision (or its absence) is the reason itself: "failed (rejected by ana (why))".
  const std::string error = json_text(failed.evidence, "error");
  const std::string how = error == "rejected" || error == "approval_timeout"
                              ? fmt::format("{} ({})", status_name(failed.status), failed.message)
                              : std::string(status_name(failed.status));
  bool partial = m_rollback_failed || m_changes_remain;
  m_report.result = partial ? RunResult::partial : RunResult::rolled_back;
  m_report.summary =
      partial
          ? fmt::format(
                "step '{}' {}; the rollback is incomplete ({}): the state is "
                "partial, a human must look",
                failed.name, how,
                m_rollback_failed ? "a rollback failed" : "a step without rollback changed things")
      : m_report.rollbacks.empty() ? fmt::format(
                                         "step '{}' {}; it changed nothing and no step before it "
                                         "did: nothing to roll back",
                                         failed.name, how)
                                   : fmt::format("step '{}' {}; {} rollback(s) succeeded",
                                                 failed.name, how, m_report.rollbacks.size());
}

// Interrupted while rolling back (after a failed step, or in drctl rollback): say what was
// undone and what was not, never "nothing was rolled back".
std::string Run::interrupted_rollback_summary() const {
  std::size_t undone = 0, not_attempted = 0;
  for (const auto& r : m_report.rollbacks) {
    if (r.status == Status::ok) ++undone;
    if (r.status == Status::skipped && r.message.rfind("not attempted", 0) == 0) ++not_attempted;
  }
  const std::string& target =
      m_options.mode == Mode::rollback ? m_report.rolls_back : m_report.run_id;
  return fmt::format(
      "interrupted while rolling back{}: {} of {} rollback(s) done, {} not attempted (drctl "
      "rollback {} undoes what is left)",
      m_step_failed ? fmt::format(" after step '{}' failed", m_report.steps.back().name) : "",
      undone, m_report.rollbacks.size(), not_attempted, target);
}

// "nothing was changed", unless this run continues one that changed things.
std::string Run::unchanged() const {
  const JournalState* resume = m_options.resume;
  if (resume == nullptr || (resume->done.empty() && resume->cut_short.empty()))
    return "nothing was changed";
  return fmt::format("nothing more was changed (what run {} did stays done)", resume->run_id);
}

std::string Run::sla_breach_summary() const {
  const auto& sla = m_report.sla;
  std::vector<std::string> why;
  if (sla.total_exceeded) {
    why.push_back(fmt::format(
        "steps took {} of a {} SLA{}",
        format_duration(std::chrono::duration_cast<Millis>(sla.counted_elapsed())),
        format_duration(*sla.total_budget),
        sla.exclude_approvals && sla.approval_wait.count() > 0 ? " (waits for approval left out)"
                                                               : ""));
  }
  for (const auto& name : sla.over_budget_steps)
    why.push_back(fmt::format("step '{}' over its budget", name));
  if (sla.probe && sla.probe->p99_exceeded) {
    why.push_back(fmt::format("availability P99 {:.1f} ms over {}", sla.probe->latency.p99,
                              format_duration(*sla.probe_spec->p99)));
  }
  if (sla.probe && sla.probe->error_rate_exceeded) {
    why.push_back(
        fmt::format("availability error rate {:.2f}% over {:.2f}% ({} of {} requests failed)",
                    100.0 * sla.probe->error_rate(), 100.0 * *sla.probe_spec->max_error_rate,
                    sla.probe->errors, sla.probe->requests));
  }
  if (const auto& w = sla.write_probe; w && w->lost_exceeded) {
    std::vector<std::string> shown(
        w->lost_keys.begin(),
        w->lost_keys.begin() +
            static_cast<std::ptrdiff_t>(std::min<std::size_t>(w->lost_keys.size(), 5)));
    why.push_back(fmt::format("{} acknowledged write(s) lost, at most {} allowed ({}{})", w->lost,
                              sla.write_probe_spec->max_lost, join(shown, ", "),
                              w->lost_keys.size() > shown.size() ? ", ..." : ""));
  }
  if (const auto& w = sla.write_probe; w && w->gap_exceeded) {
    const auto& limit = sla.write_probe_spec->max_write_gap;
    why.push_back(fmt::format("writes refused for {} (from {}){}",
                              format_duration(Millis(static_cast<long long>(w->longest_gap_ms))),
                              w->longest_gap_during,
                              !w->longest_gap_recovered ? ": they never came back"
                              : limit ? fmt::format(", over {}", format_duration(*limit))
                                      : ""));
  }
  return fmt::format("completed, SLA breached{}: {}",
                     sla.on_breach == OnBreach::warn ? " (on_breach: warn)" : "",
                     fmt::format("{}", fmt::join(why, "; ")));
}

std::string Run::success_summary() const {
  if (m_options.mode == Mode::check)
    return fmt::format("all {} checks passed", m_report.checks.size());
  if (m_options.mode == Mode::dry_run) {
    return fmt::format("dry run: checks passed, {} steps previewed, nothing changed",
                       m_report.steps.size());
  }
  std::size_t reused = 0;
  std::vector<std::string> runs;  // that did the steps not run again, in order
  for (const auto& r : m_report.steps) {
    if (r.done_in_run.empty()) continue;
    ++reused;
    if (std::find(runs.begin(), runs.end(), r.done_in_run) == runs.end())
      runs.push_back(r.done_in_run);
  }
  if (reused == 0) return fmt::format("all {} steps completed", m_report.steps.size());
  return fmt::format("all {} steps completed ({} done in run {}, not run again)",
                     m_report.steps.size(), reused, join(runs, ", "));
}

RunReport Run::execute() {
  m_report.run_id = m_options.run_id.empty() ? new_run_id() : m_options.run_id;
  m_report.playbook_name = m_playbook.name;
  m_report.playbook_path = m_playbook.source_path;
  m_report.playbook_hash = m_playbook.hash;
  m_report.mode = m_options.mode;
  m_report.planned_checks = m_options.mode == Mode::rollback ? 0 : m_playbook.checks.size();
  m_report.planned_steps = m_options.mode == Mode::check ? 0 : m_playbook.steps.size();
  m_report.started = Instant::now();
  std::tie(m_report.operator_user, m_report.operator_host) = operator_identity();
  if (m_options.resume) m_report.resumed_from = m_options.resume->run_id;
  if (m_options.rollback) m_report.rolls_back = m_options.rollback->run_id;
  if (m_options.mode == Mode::rollback) {
    m_reporter.run_started(m_report);
    for (const auto& text : m_options.notices) notice(text);
    // No checks: they gate a switch, and this undoes one. The lock still keeps others out.
    if (m_options.rollback && (!m_playbook.lock || take_lock())) roll_back_journaled();
    return finish();
  }

  // The gate: every check at once, and the run lock beside them (neither needs the other, and
  // both wait on servers). Checks see no fencing token; failed checks decide the result, and a
  // lock taken for nothing is released at once. The crew's threads exist before the journal
  // starts loading the etcd module.
  const std::size_t checks = m_playbook.checks.size();
  const std::size_t locking = m_options.mode == Mode::run && m_playbook.lock ? 1 : 0;
  const std::size_t workers =
      std::min<std::size_t>(std::max(1, m_options.parallel), checks) + locking;
  m_report.checks.resize(checks);
  m_not_rechecked.assign(checks, 0);
  std::optional<tl::expected<std::unique_ptr<RunLock>, LockRefusal>> lock;
  const nlohmann::json holder = lock_holder();
  Crew crew(workers > 0 ? workers - 1 : 0);
  m_reporter.run_started(m_report);
  for (const auto& text : m_options.notices) notice(text);
  crew.run(checks + locking, [&](std::size_t task) {
    if (task < locking) {
      lock.emplace(RunLock::acquire(*m_playbook.lock, holder, m_takeover.get()));
    } else {
      run_check(task - locking);
    }
  });
  for (const auto& record : m_report.checks) m_outputs[record.name] = record.outputs;
  bool gate_open = true;
  for (std::size_t i = 0; i < checks; ++i) gate_open = gate_open && check_passed(i);
  if (lock && gate_open && !m_cancel.stop_requested()) gate_open = adopt_lock(std::move(*lock));
  if (gate_open && m_options.mode == Mode::run) {
    if (auto why = m_reporter.failure(); !why.empty()) {
      m_journal_failure = fmt::format("{}: no step was started, nothing was changed", redact(why));
      gate_open = false;
    }
  }
  if (gate_open && !m_cancel.stop_requested()) gate_open = confirmed();
  if (gate_open && m_options.mode != Mode::check && !m_cancel.stop_requested()) {
    // The probes watch what users see from the first step to the last rollback; what the
    // write probe needs to read back is resolved first, and without it nothing starts.
    if (m_playbook.sla.write_probe && m_options.mode == Mode::run) {
      m_write_probe = std::make_unique<WriteProbe>(*m_playbook.sla.write_probe, m_report.run_id);
      m_probe_refusal = m_write_probe->prepare();
      if (!m_probe_refusal.empty()) m_write_probe.reset();
    }
    if (m_probe_refusal.empty()) {
      if (m_playbook.sla.probe && m_options.mode == Mode::run) {
        m_probe = std::make_unique<AvailabilityProbe>(*m_playbook.sla.probe);
        m_probe->start();
      }
      if (m_write_probe) m_write_probe->start();
      run_steps();
      stop_probes();
    }
  }
  return finish();
}

RunReport Run::finish() {
  if (m_lock) m_report.lock = m_lock->to_json();
  conclude();
  m_report.finished = Instant::now();
  // The end must be in the journal before anyone is told: a run whose steps ran and whose end
  // could not be journaled reads as killed to `runs` and `show`, so it does not end well either.
  // (One that started no step keeps its own result: a lock refused because etcd is down.)
  m_reporter.run_ending(m_report);
  const bool acted = !m_report.steps.empty() || !m_report.rollbacks.empty();
  if (auto why = m_reporter.failure();
      acted && !why.empty() && m_report.result != RunResult::journal_failed) {
    m_report.summary = fmt::format("{}; but the run's end could not be journaled: {}",
                                   m_report.summary, redact(why));
    m_report.result = RunResult::journal_failed;
  }
  m_reporter.run_finished(m_report);
  // Released at the end, on failure and on interrupt alike; after the journal's last line is
  // durable everywhere, so whoever takes the lock next finds this run's journal complete.
  if (m_lock) m_lock->release();
  return m_report;
}

}  // namespace

RunReport run_playbook(const Playbook& playbook, const KindRegistry& kinds, Reporter& reporter,
                       const RunOptions& options, const CancelToken& cancel) {
  Run run(playbook, kinds, reporter, options, cancel);
  return run.execute();
}

}  // namespace drctl
