#include "engine/readiness_monitor.hpp"

#include <fmt/format.h>

#include <algorithm>

#include "engine/check_attempt.hpp"

namespace drctl {

// One check's place in the schedule. Shared with the worker evaluating it, so a reload can
// drop it from the table while its evaluation ends.
struct ReadinessMonitor::Slot {
  Entry entry;
  const Kind* kind = nullptr;
  bool writes = false;
  CheckSchedule schedule;
  SteadyTime due{};
  std::optional<SteadyTime> last_started;  // a check that writes: carried over a reload
  bool running = false;
  bool stale_logged = false;  // its latest result's ageing past max_age was logged
  // After a reload that changed this check: its previous slot, whose evaluation may still be
  // in flight (the two never run at once).
  std::shared_ptr<const Slot> previous;
  std::optional<EntryRecord> last;
  std::optional<WallTime> last_success;
  std::optional<WallTime> last_transition;
  long long evaluations = 0;
};

namespace {

bool same_timing(const Entry& a, const Entry& b) {
  return a.timing.timeout == b.timing.timeout && a.timing.retries == b.timing.retries &&
         a.timing.retry_delay == b.timing.retry_delay && a.interval == b.interval &&
         a.min_interval == b.min_interval;
}

std::string state_of(const std::optional<EntryRecord>& last) {
  return last ? std::string(status_name(last->status)) : std::string("pending");
}

}  // namespace

Millis longest_evaluation(const Timing& timing) {
  return timing.timeout * (timing.retries + 1) + timing.retry_delay * timing.retries;
}

Millis latest_next_result(Millis interval, const Timing& timing) {
  return interval + interval / 10 + longest_evaluation(timing);
}

CheckSchedule check_schedule(const Entry& check, bool writes, const MonitorOptions& options) {
  CheckSchedule schedule;
  schedule.interval = check.interval.value_or(options.interval);
  if (writes) {
    schedule.min_interval = check.min_interval.value_or(options.min_write_interval);
    schedule.interval = std::max(schedule.interval, schedule.min_interval);
  }
  // The next result can come as late as the interval's jitter plus a whole evaluation with
  // every retry after the latest ended: a default below that would flap on a slow pass.
  schedule.max_age = options.max_age.value_or(
      std::max(schedule.interval * 3, latest_next_result(schedule.interval, check.timing)));
  return schedule;
}

ReadinessMonitor::ReadinessMonitor(const KindRegistry& kinds, MonitorOptions options,
                                   std::function<void(const Transition&)> on_transition)
    : m_kinds(kinds), m_options(std::move(options)), m_on_transition(std::move(on_transition)) {}

ReadinessMonitor::~ReadinessMonitor() {
  stop(Millis(0));
  std::unique_lock lock(m_mutex);
  m_idle.wait(lock, [&] { return m_in_flight == 0; });
  lock.unlock();
  if (m_scheduler.joinable()) m_scheduler.join();
  for (auto& worker : m_workers)
    if (worker.joinable()) worker.join();
}

Millis ReadinessMonitor::jittered(Millis interval) {
  std::uniform_real_distribution<double> factor(0.9, 1.1);
  return Millis(static_cast<long long>(static_cast<double>(interval.count()) * factor(m_random)));
}

std::shared_ptr<ReadinessMonitor::Slot> ReadinessMonitor::make_slot(const Entry& entry,
                                                                    SteadyTime now) {
  auto slot = std::make_shared<Slot>();
  slot->entry = entry;
  slot->kind = m_kinds.find(entry.action.kind);
  slot->writes = slot->kind != nullptr && slot->kind->writes(entry.action.spec);
  slot->schedule = check_schedule(entry, slot->writes, m_options);
  // The first evaluations spread over a tenth of the interval (at most a second), not at once.
  std::uniform_int_distribution<long long> spread(
      0, std::min<long long>(slot->schedule.interval.count() / 10, 1'000));
  slot->due = now + Millis(spread(m_random));
  return slot;
}

void ReadinessMonitor::start(const Playbook& playbook) {
  {
    std::lock_guard lock(m_mutex);
    const auto now = std::chrono::steady_clock::now();
    for (const auto& check : playbook.checks) m_slots.push_back(make_slot(check, now));
    m_playbook_name = playbook.name;
    m_loaded_at = std::chrono::system_clock::now();
  }
  m_scheduler = std::thread([this] { schedule_loop(); });
  for (int i = 0; i < std::max(1, m_options.concurrency); ++i)
    m_workers.emplace_back([this] { work_loop(); });
}

void ReadinessMonitor::replace(const Playbook& playbook) {
  std::lock_guard lock(m_mutex);
  const auto now = std::chrono::steady_clock::now();
  std::vector<std::shared_ptr<Slot>> slots;
  for (const auto& check : playbook.checks) {
    auto kept = std::find_if(m_slots.begin(), m_slots.end(), [&](const auto& slot) {
      return slot->entry.name == check.name && slot->entry.action.kind == check.action.kind &&
             slot->entry.action.spec.json() == check.action.spec.json() &&
             same_timing(slot->entry, check);
    });
    if (kept != m_slots.end()) {
      slots.push_back(*kept);
      continue;
    }
    auto slot = make_slot(check, now);
    auto same_name = std::find_if(m_slots.begin(), m_slots.end(),
                                  [&](const auto& old) { return old->entry.name == check.name; });
    if (same_name != m_slots.end()) {
      // A changed check starts afresh, but a write stays rate-limited across the reload, and
      // never runs beside its previous slot's evaluation.
      slot->previous = (*same_name)->running ? *same_name : nullptr;
      if (slot->writes && (*same_name)->last_started) {
        slot->last_started = (*same_name)->last_started;
        slot->due = std::max(slot->due, *slot->last_started + slot->schedule.min_interval);
      }
    }
    slots.push_back(std::move(slot));
  }
  m_slots = std::move(slots);
  m_playbook_name = playbook.name;
  m_loaded_at = std::chrono::system_clock::now();
  m_last_reload_ok = true;
  m_last_reload_error.clear();
  m_last_reload_success = m_loaded_at;
  m_schedule_wake.notify_all();
}

void ReadinessMonitor::reload_failed(const std::string& why) {
  std::lock_guard lock(m_mutex);
  ++m_reload_failures;
  m_last_reload_ok = false;
  m_last_reload_error = why;
}

TriggerResult ReadinessMonitor::trigger(const std::string& name) {
  std::lock_guard lock(m_mutex);
  auto found = std::find_if(m_slots.begin(), m_slots.end(),
                            [&](const auto& slot) { return slot->entry.name == name; });
  if (found == m_slots.end()) return TriggerResult::unknown;
  Slot& slot = **found;
  const auto now = std::chrono::steady_clock::now();
  if (slot.running || (slot.previous && slot.previous->running)) return TriggerResult::running;
  if (slot.writes && slot.last_started && now < *slot.last_started + slot.schedule.min_interval)
    return TriggerResult::too_soon;
  slot.due = now;
  m_schedule_wake.notify_all();
  return TriggerResult::queued;
}

void ReadinessMonitor::schedule_loop() {
  std::unique_lock lock(m_mutex);
  while (!m_stopping) {
    const auto now = std::chrono::steady_clock::now();
    auto next = now + std::chrono::hours(1);
    std::vector<std::shared_ptr<Slot>> due;
    for (const auto& slot : m_slots) {
      if (slot->running || slot->kind == nullptr) continue;
      if (slot->previous && slot->previous->running) continue;  // its end wakes this loop
      if (slot->due > now)
        next = std::min(next, slot->due);
      else
        due.push_back(slot);
    }
    // The most overdue first: a check slower than its interval is due again as soon as it
    // ends, and taken in playbook order it would keep a worker from the checks after it.
    std::stable_sort(due.begin(), due.end(),
                     [](const auto& a, const auto& b) { return a->due < b->due; });
    for (const auto& slot : due) {
      if (m_in_flight >= std::max(1, m_options.concurrency)) break;  // an end wakes this loop
      slot->running = true;  // never overlaps its own previous evaluation
      slot->last_started = now;
      slot->previous.reset();
      ++m_in_flight;
      m_queue.push_back(slot);
      m_work_ready.notify_one();
    }
    // A result ageing past its max age is a transition too (a hung server shows no other).
    std::vector<Transition> went_stale;
    const WallTime wall_now = std::chrono::system_clock::now();
    for (const auto& slot : m_slots) {
      if (!slot->last || slot->stale_logged) continue;
      const auto stale_at = slot->last->finished.steady + slot->schedule.max_age;
      if (now < stale_at) {
        next = std::min(next, stale_at);
        continue;
      }
      slot->stale_logged = true;
      went_stale.push_back(Transition{
          slot->entry.name, slot->entry.action.kind, state_of(slot->last), "stale",
          fmt::format("its latest result ({}) is older than its max age {}{}", state_of(slot->last),
                      format_duration(slot->schedule.max_age),
                      slot->running ? "; an evaluation is still running" : "; none is running"),
          wall_now});
    }
    if (!went_stale.empty()) {
      lock.unlock();
      if (m_on_transition) {
        std::lock_guard log(m_log_mutex);
        for (const auto& transition : went_stale) m_on_transition(transition);
      }
      lock.lock();
      continue;
    }
    m_schedule_wake.wait_until(lock, next);
  }
}

void ReadinessMonitor::work_loop() {
  RunReport run;
  run.run_id = m_options.run_id;
  for (;;) {
    std::shared_ptr<Slot> slot;
    {
      std::unique_lock lock(m_mutex);
      m_work_ready.wait(lock, [&] { return m_stopping || !m_queue.empty(); });
      if (m_stopping) return;
      slot = m_queue.front();
      m_queue.erase(m_queue.begin());
      run.playbook_name = m_playbook_name;
    }
    finished(slot, evaluate_check(slot->entry, *slot->kind, run, m_cancel));
  }
}

void ReadinessMonitor::finished(const std::shared_ptr<Slot>& slot, EntryRecord record) {
  std::optional<Transition> transition;
  {
    std::lock_guard lock(m_mutex);
    --m_in_flight;
    slot->running = false;
    m_idle.notify_all();
    m_schedule_wake.notify_all();
    if (m_stopping) return;  // a cancelled evaluation says nothing about the check
    const SteadyTime started = slot->last_started.value_or(std::chrono::steady_clock::now());
    slot->due = started + jittered(slot->schedule.interval);
    if (slot->writes) slot->due = std::max(slot->due, started + slot->schedule.min_interval);
    ++slot->evaluations;
    const std::string from = slot->stale_logged ? "stale" : state_of(slot->last);
    slot->stale_logged = false;
    const std::string to = std::string(status_name(record.status));
    if (record.status == Status::ok) slot->last_success = record.finished.wall;
    if (from != to) {
      slot->last_transition = record.finished.wall;
      transition =
          Transition{slot->entry.name, record.kind, from, to, record.message, record.finished.wall};
    }
    slot->last = std::move(record);
  }
  if (transition && m_on_transition) {
    std::lock_guard log(m_log_mutex);
    m_on_transition(*transition);
  }
}

ReadinessView ReadinessMonitor::view() const {
  ReadinessView view;
  std::lock_guard lock(m_mutex);
  const Instant now = Instant::now();
  view.now = now.wall;
  view.playbook_name = m_playbook_name;
  view.loaded_at = m_loaded_at;
  view.reload_failures = m_reload_failures;
  view.last_reload_ok = m_last_reload_ok;
  view.last_reload_error = m_last_reload_error;
  view.last_reload_success = m_last_reload_success;
  view.ready = !m_slots.empty();
  for (const auto& slot : m_slots) {
    CheckView check;
    check.name = slot->entry.name;
    check.kind = slot->entry.action.kind;
    check.writes = slot->writes;
    check.interval = slot->schedule.interval;
    check.max_age = slot->schedule.max_age;
    check.last = slot->last;
    check.last_success = slot->last_success;
    check.last_transition = slot->last_transition;
    check.running = slot->running;
    check.evaluations = slot->evaluations;
    if (slot->last) {
      check.age = now.steady - slot->last->finished.steady;
      check.fresh = check.age <= slot->schedule.max_age;
      check.ready = check.fresh && slot->last->status == Status::ok;
      check.state = check.fresh ? std::string(status_name(slot->last->status)) : "stale";
    } else {
      check.state = "pending";
    }
    view.ready = view.ready && check.ready;
    view.checks.push_back(std::move(check));
  }
  return view;
}

bool ReadinessMonitor::stop(Millis grace) {
  std::unique_lock lock(m_mutex);
  if (!m_stopping) {
    m_stopping = true;
    m_cancel.cancel();
    for (const auto& queued : m_queue) queued->running = false;  // queued, never started
    m_in_flight -= static_cast<int>(m_queue.size());
    m_queue.clear();
    m_schedule_wake.notify_all();
    m_work_ready.notify_all();
  }
  return m_idle.wait_for(lock, grace, [&] { return m_in_flight == 0; });
}

}  // namespace drctl
