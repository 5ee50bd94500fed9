#pragma once
// Group commit for the journal's sinks (the local file, the etcd copy). A line is handed to
// every sink at once (the file has it before append() returns, so a killed process loses
// nothing); making it durable (fdatasync, an etcd commit) happens on one thread per sink, all
// sinks in parallel, and covers every line written since the last time. A caller that needs a
// line durable before it goes on (an undo state, the start of a step that may change things
// at once, the run's end) waits for it everywhere; a line that guards nothing yet but should not
// linger (the start of a step whose changes wait for its undo state) starts every sync at once;
// other lines ride along with the next sync, or are synced after a short linger.
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <tl/expected.hpp>
#include <vector>

namespace drctl {

// Where journal lines go.
class JournalSink {
 public:
  virtual ~JournalSink() = default;
  virtual tl::expected<void, std::string> open(const std::string& run_id) = 0;
  // Takes a line, in order; it need not be durable yet. Cheap: called on the run's thread.
  virtual tl::expected<void, std::string> write(const std::string& line) = 0;
  // Makes every line written so far durable. Called on the sink's own thread.
  virtual tl::expected<void, std::string> sync() = 0;
  // A copy on other machines (etcd): open() may be slow (a connection), so it runs on the
  // sink's thread and write() must accept lines before it has finished.
  virtual bool remote() const { return false; }
};

enum class Durability {
  later,       // with the next wait, or after the linger
  soon,        // every sink starts syncing at once; append() does not wait
  everywhere,  // synced by every sink before append() returns
};

class JournalWriter {
 public:
  // A line that need not be durable at once is synced at most this long after it was written.
  static constexpr std::chrono::milliseconds k_linger{10};

  explicit JournalWriter(std::vector<std::unique_ptr<JournalSink>> sinks,
                         std::chrono::milliseconds linger = k_linger);
  ~JournalWriter();  // syncs what is pending, then stops the threads
  JournalWriter(const JournalWriter&) = delete;
  JournalWriter& operator=(const JournalWriter&) = delete;

  void open(const std::string& run_id);
  // Writes `line` (ending in '\n') to every sink still working, and waits as `durability`
  // says (a sink that fails is not waited for).
  void append(const std::string& line, Durability durability);
  // The first error of any sink ("" while all is well). A failed sink gets nothing more: a
  // journal with a hole is worse than a short one.
  std::string failure() const;

 private:
  struct Lane {
    std::unique_ptr<JournalSink> sink;
    std::thread thread;
    bool opened = false;
    bool failed = false;
    std::uint64_t written = 0, synced = 0, due = 0;  // lines; `due`: to sync now
    std::chrono::steady_clock::time_point oldest_unsynced{};
  };
  void serve(Lane& lane);
  void fail(Lane& lane, const std::string& why);  // with m_mutex held

  mutable std::mutex m_mutex;
  std::condition_variable m_wake;  // lanes: work to do
  std::condition_variable m_done;  // callers: a lane synced or failed
  std::vector<std::unique_ptr<Lane>> m_lanes;
  std::chrono::milliseconds m_linger;
  std::string m_run_id;
  std::uint64_t m_lines = 0;  // written so far
  bool m_opened = false;      // the lanes' threads run
  bool m_stopping = false;
  std::string m_error;
};

}  // namespace drctl
