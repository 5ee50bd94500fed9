#pragma once
// `drctl serve`'s engine: a playbook's checks (never its steps) evaluated continuously, each on
// its own schedule, and their latest results kept for readers (the HTTP endpoints). Reading
// never causes an evaluation; only the schedule and an explicit trigger do.
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "core/cancel.hpp"
#include "core/model.hpp"
#include "engine/record.hpp"
#include "kinds/registry.hpp"
#include "util/clock.hpp"
#include "util/duration.hpp"

namespace drctl {

// The defaults; a check's own `interval` and `min_interval` override the first two.
struct MonitorOptions {
  Millis interval{30'000};            // from one evaluation's start to the next, ±10 % jitter
  Millis min_write_interval{60'000};  // a check that writes (Kind::writes): at least this apart
  std::optional<Millis> max_age;      // an older result is stale; default 3 × a check's interval
  int concurrency = 4;                // evaluations in flight at once
  std::string run_id = "serve";       // what ${run.id} reads in a check's spec
};

// One check as the monitor last saw it.
struct CheckView {
  std::string name;
  std::string kind;
  bool writes = false;
  Millis interval{0};                       // its own (see check_schedule)
  Millis max_age{0};                        // an older result is stale
  std::optional<EntryRecord> last;          // the latest finished evaluation (redacted)
  std::optional<WallTime> last_success;     // when the latest ok result ended
  std::optional<WallTime> last_transition;  // when its state last changed
  bool running = false;                     // an evaluation is in flight
  long long evaluations = 0;                // evaluations finished since it was loaded
  // As of the view:
  std::chrono::nanoseconds age{0};  // since the latest result ended
  bool fresh = false;               // a result younger than max_age
  bool ready = false;               // that result passed and is fresh
  std::string state;                // "pending" (no result yet), "stale", or the status name
};

struct ReadinessView {
  std::string playbook_name;
  bool ready = false;  // every check ready (and there is at least one)
  std::vector<CheckView> checks;
  WallTime now;
  WallTime loaded_at;             // when the playbook served was loaded
  long long reload_failures = 0;  // SIGHUP reloads refused since start
  bool last_reload_ok = true;     // the latest reload was taken (or none was asked)
  std::string last_reload_error;  // why the latest one was refused
  std::optional<WallTime> last_reload_success;
};

// A check's state changed (its first result included), for the log.
struct Transition {
  std::string check;
  std::string kind;
  std::string from;  // "pending" or a status name
  std::string to;
  std::string message;
  WallTime at;
};

enum class TriggerResult { queued, running, too_soon, unknown };

// When a check is evaluated under serve: every `interval` (its own, else the default); one
// that writes no more often than `min_interval` (its own, else --min-write-interval), which
// also limits triggers; its result stale after `max_age` (--max-age, else 3 × interval).
struct CheckSchedule {
  Millis interval{0};
  Millis min_interval{0};  // 0 for a check that does not write
  Millis max_age{0};
};
CheckSchedule check_schedule(const Entry& check, bool writes, const MonitorOptions& options);

class ReadinessMonitor {
 public:
  // `on_transition` is called from the workers, one call at a time, outside the lock.
  ReadinessMonitor(const KindRegistry& kinds, MonitorOptions options,
                   std::function<void(const Transition&)> on_transition);
  ~ReadinessMonitor();  // stops, waiting for the evaluations in flight
  ReadinessMonitor(const ReadinessMonitor&) = delete;
  ReadinessMonitor& operator=(const ReadinessMonitor&) = delete;

  // Starts the scheduler and `concurrency` workers on the playbook's checks.
  void start(const Playbook& playbook);
  // A reload: serves this playbook's checks from now on. A check with the same name, kind,
  // spec and timing keeps its results and schedule; the others start afresh; an evaluation in
  // flight of a check no longer there ends unseen.
  void replace(const Playbook& playbook);
  // A reload refused (the playbook no longer validates): counted, its reason kept.
  void reload_failed(const std::string& why);
  // Evaluates the check as soon as a worker is free, unless one is in flight or (a check that
  // writes) its last started less than min_write_interval ago.
  TriggerResult trigger(const std::string& name);
  ReadinessView view() const;
  // No evaluation starts any more; those in flight are cancelled. Waits up to `grace` for them
  // to end; false when one had not (a kind that ignores its cancel): then the caller should
  // exit without destroying the monitor.
  bool stop(Millis grace);

 private:
  struct Slot;
  void schedule_loop();
  void work_loop();
  void finished(const std::shared_ptr<Slot>& slot, EntryRecord record);
  std::shared_ptr<Slot> make_slot(const Entry& entry, SteadyTime now);
  Millis jittered(Millis interval);

  const KindRegistry& m_kinds;
  MonitorOptions m_options;
  std::function<void(const Transition&)> m_on_transition;
  mutable std::mutex m_mutex;
  std::condition_variable m_schedule_wake;  // a slot finished, was triggered, or a reload
  std::condition_variable m_work_ready;     // m_queue has work, or stopping
  std::condition_variable m_idle;           // m_in_flight dropped
  std::vector<std::shared_ptr<Slot>> m_slots;
  std::vector<std::shared_ptr<Slot>> m_queue;
  int m_in_flight = 0;
  bool m_stopping = false;
  CancelToken m_cancel;
  std::string m_playbook_name;
  WallTime m_loaded_at;
  long long m_reload_failures = 0;
  bool m_last_reload_ok = true;
  std::string m_last_reload_error;
  std::optional<WallTime> m_last_reload_success;
  std::mt19937 m_random{std::random_device{}()};
  std::mutex m_log_mutex;  // one transition logged at a time
  std::thread m_scheduler;
  std::vector<std::thread> m_workers;
  bool m_joined = false;
};

}  // namespace drctl
