#pragma once
// Reporters observe one run through the same four events (terminal, JSON and JUnit are all
// reporters). Calls are serialised by the engine: a reporter needs no locking of its own.
#include <memory>
#include <vector>

#include "engine/record.hpp"

namespace drctl {

class Reporter {
 public:
  virtual ~Reporter() = default;
  virtual void run_started(const RunReport& /*header*/) {}
  virtual void entry_started(const EntryRecord& /*record*/) {}
  virtual void entry_finished(const EntryRecord& /*record*/) {}
  // A step is about to change something; `record.undo_state` says how to undo it. False when
  // it could not be recorded: the step must then change nothing.
  virtual bool entry_checkpoint(const EntryRecord& /*record*/) { return true; }
  // The step waits for an operator's decision (an approval step): journaled durably, so that
  // `drctl approve` (here or elsewhere) finds the run waiting; the terminal says how to decide.
  virtual void entry_waiting(const EntryRecord& /*record*/, const std::string& /*message*/) {}
  // The entry started a process group that may outlive drctl (journaled for recovery).
  virtual void entry_process(const EntryRecord& /*record*/, long long /*pgid*/) {}
  // The run's end, first to the records that must hold it durably (the journal) before anyone
  // is told: failure() says afterwards whether it held. Then run_finished, to every reporter.
  virtual void run_ending(const RunReport& /*report*/) {}
  virtual void run_finished(const RunReport& /*report*/) {}
  // Something the operator must know that is no entry's outcome: a lock taken over from a dead
  // run, a --var overriding a journaled value. Journaled.
  virtual void notice(const std::string& /*text*/) {}
  // Why this reporter can no longer record the run, when the run must not go on without it
  // (the journal): no further step starts. "" while all is well.
  virtual std::string failure() const { return ""; }
};

// Sends every event to each of several reporters, in order.
class ReporterList : public Reporter {
 public:
  void add(std::unique_ptr<Reporter> reporter) { m_reporters.push_back(std::move(reporter)); }
  void run_started(const RunReport& header) override;
  void entry_started(const EntryRecord& record) override;
  void entry_finished(const EntryRecord& record) override;
  bool entry_checkpoint(const EntryRecord& record) override;
  void entry_process(const EntryRecord& record, long long pgid) override;
  void entry_waiting(const EntryRecord& record, const std::string& message) override;
  void run_ending(const RunReport& report) override;
  void run_finished(const RunReport& report) override;
  void notice(const std::string& text) override;
  std::string failure() const override;

 private:
  std::vector<std::unique_ptr<Reporter>> m_reporters;
};

}  // namespace drctl
