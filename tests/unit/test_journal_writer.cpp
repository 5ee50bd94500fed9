// The journal's group commit: what each durability waits for, what a failed sink does, and
// that a step's start waits for the remote copy only when the step may change things first.
#include <doctest/doctest.h>

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "engine/journal.hpp"
#include "engine/journal_writer.hpp"

using namespace drctl;
using namespace std::chrono_literals;

namespace {

// What a sink saw, shared with the test (the writer owns the sink). sync() can be held back
// until released, to prove who waits for it.
struct SinkLog {
  std::mutex mutex;
  std::condition_variable changed;
  std::vector<std::string> written;
  std::size_t synced = 0;  // lines covered by the last sync
  bool hold_sync = false;
  bool fail_writes = false;

  std::size_t synced_now() {
    std::lock_guard lock(mutex);
    return synced;
  }
  void hold() {
    std::lock_guard lock(mutex);
    hold_sync = true;
  }
  void release() {
    std::lock_guard lock(mutex);
    hold_sync = false;
    changed.notify_all();
  }
  bool wait_synced(std::size_t lines) {
    std::unique_lock lock(mutex);
    return changed.wait_for(lock, 5s, [&] { return synced >= lines; });
  }
};

class FakeSink : public JournalSink {
 public:
  FakeSink(SinkLog& log, bool remote) : m_log(log), m_remote(remote) {}
  bool remote() const override { return m_remote; }
  tl::expected<void, std::string> open(const std::string&) override { return {}; }
  tl::expected<void, std::string> write(const std::string& line) override {
    std::lock_guard lock(m_log.mutex);
    if (m_log.fail_writes) return tl::unexpected(std::string("disk full"));
    m_log.written.push_back(line);
    return {};
  }
  tl::expected<void, std::string> sync() override {
    std::unique_lock lock(m_log.mutex);
    m_log.changed.wait(lock, [&] { return !m_log.hold_sync; });
    m_log.synced = m_log.written.size();
    m_log.changed.notify_all();
    return {};
  }

 private:
  SinkLog& m_log;
  bool m_remote;
};

std::vector<std::unique_ptr<JournalSink>> sinks(SinkLog& local, SinkLog& remote) {
  std::vector<std::unique_ptr<JournalSink>> out;
  out.push_back(std::make_unique<FakeSink>(local, false));
  out.push_back(std::make_unique<FakeSink>(remote, true));
  return out;
}

}  // namespace

TEST_CASE("every line reaches every sink before append returns; waits are as the durability says") {
  SinkLog local, remote;
  JournalWriter writer(sinks(local, remote));
  writer.open("R1");

  remote.hold();
  writer.append("a\n", Durability::later);
  CHECK(local.written.size() == 1);
  CHECK(remote.written.size() == 1);

  writer.append("b\n", Durability::soon);  // starts every sync, waits for none
  CHECK(local.wait_synced(2));
  CHECK(remote.synced_now() == 0);

  std::thread releaser([&] {
    std::this_thread::sleep_for(50ms);
    remote.release();
  });
  writer.append("c\n", Durability::everywhere);  // cannot return before the remote sync
  CHECK(remote.synced_now() == 3);
  CHECK(local.synced_now() == 3);
  releaser.join();
  CHECK(writer.failure().empty());
}

TEST_CASE("a line to sync soon is synced at once, not after the linger; a later one waits for it") {
  SinkLog local, remote;
  JournalWriter writer(sinks(local, remote), std::chrono::hours(1));
  writer.open("R1");
  writer.append("a\n", Durability::later);
  std::this_thread::sleep_for(50ms);
  CHECK(local.synced_now() == 0);  // lingers: nothing asked for it yet
  CHECK(remote.synced_now() == 0);
  local.hold();
  remote.hold();
  writer.append("b\n", Durability::soon);  // returns while both syncs are held back
  CHECK(local.synced_now() == 0);
  local.release();
  remote.release();
  CHECK(local.wait_synced(2));  // both lines, without waiting out the linger
  CHECK(remote.wait_synced(2));
}

TEST_CASE("a line that need not wait is synced after the linger, and at the end") {
  SinkLog local, remote;
  {
    JournalWriter writer(sinks(local, remote));
    writer.open("R1");
    writer.append("a\n", Durability::later);
    CHECK(local.wait_synced(1));
    CHECK(remote.wait_synced(1));
    remote.hold();
    writer.append("b\n", Durability::later);
    remote.release();
  }  // the destructor syncs what is pending
  CHECK(local.synced_now() == 2);
  CHECK(remote.synced_now() == 2);
}

TEST_CASE("a sink that fails gets nothing more, names the error, and is not waited for") {
  SinkLog local, remote;
  JournalWriter writer(sinks(local, remote));
  writer.open("R1");
  writer.append("a\n", Durability::everywhere);
  {
    std::lock_guard lock(local.mutex);
    local.fail_writes = true;
  }
  writer.append("b\n", Durability::everywhere);
  CHECK(writer.failure() == "disk full");
  {
    std::lock_guard lock(local.mutex);
    local.fail_writes = false;
  }
  writer.append("c\n", Durability::everywhere);
  CHECK(local.written == std::vector<std::string>{"a\n"});
  CHECK(remote.written == std::vector<std::string>{"a\n", "b\n", "c\n"});
  CHECK(remote.synced_now() == 3);
}

TEST_CASE(
    "a step's start waits for every copy unless the step changes nothing before its undo state") {
  SinkLog local, remote;
  Playbook playbook;
  JournalReporter journal(sinks(local, remote), playbook);
  RunReport header;
  header.run_id = "R1";
  journal.run_started(header);

  EntryRecord step;
  step.phase = Phase::step;
  step.name = "flip";
  step.changes_after_undo_state = true;
  local.hold();
  remote.hold();
  journal.entry_started(step);  // returns while both copies are held back: nothing changes yet
  CHECK(local.synced_now() == 0);
  CHECK(remote.synced_now() == 0);

  std::thread releaser([&] {
    std::this_thread::sleep_for(50ms);
    local.release();
    remote.release();
  });
  CHECK(journal.entry_checkpoint(step));  // the undo state, before any change: everywhere
  CHECK(local.synced_now() == 3);
  CHECK(remote.synced_now() == 3);
  releaser.join();

  EntryRecord exec = step;
  exec.name = "script";
  exec.changes_after_undo_state = false;
  remote.hold();
  std::thread releaser2([&] {
    std::this_thread::sleep_for(50ms);
    remote.release();
  });
  journal.entry_started(exec);  // may change things at once: everywhere
  CHECK(remote.synced_now() == 4);
  releaser2.join();

  EntryRecord check;
  check.phase = Phase::check;
  check.name = "gate";
  remote.hold();
  journal.entry_started(check);  // a check changes nothing: no wait at all
  CHECK(local.written.size() == 5);
  CHECK(remote.synced_now() == 4);
  remote.release();
}
