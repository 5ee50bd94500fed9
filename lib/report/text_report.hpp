#pragma once
// The terminal reporter. On a TTY a live line shows what is running and for how long;
// otherwise (CI logs) one plain line per event. At the end a table of every entry with its
// duration against its budget, like Ansible's profile_tasks, and the SLA verdict.
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <map>
#include <mutex>
#include <thread>

#include "engine/reporter.hpp"

namespace drctl {

struct TextStyle {
  bool live = false;     // a TTY: redraw a status line
  bool color = false;    // ANSI colours (off under NO_COLOR or a non-TTY)
  bool verbose = false;  // evidence under each entry
  bool quiet = false;    // only the final verdict (and failures)
  bool table = true;     // the summary table at the end
  bool banner = true;    // the run's framing: the opening line, "started" lines, the result line
  bool terminal_input = false;  // stdin is a terminal: an approval can be typed there
  std::string approve_flags;    // what `drctl approve` needs besides the run and step (--state-dir)
};

class TextReporter : public Reporter {
 public:
  TextReporter(std::FILE* out, TextStyle style);
  ~TextReporter() override;

  void run_started(const RunReport& header) override;
  void entry_started(const EntryRecord& record) override;
  void entry_finished(const EntryRecord& record) override;
  void run_finished(const RunReport& report) override;
  void notice(const std::string& text) override;  // "note: ..." (a lock taken over, a --var)
  // What the step waits for and how to decide; shown even with --quiet (the run needs it).
  void entry_waiting(const EntryRecord& record, const std::string& message) override;

 private:
  void ticker();
  void print_writes(const WriteProbeReport& writes, const WriteProbeSpec& spec);
  void clear_live_line();
  void draw_live_line();
  std::string paint(std::string_view text, const char* code) const;
  std::string status_text(Status status, bool budget_exceeded) const;

  std::FILE* m_out;
  TextStyle m_style;
  std::mutex m_mutex;
  std::condition_variable m_wake;
  std::map<std::string, std::chrono::steady_clock::time_point> m_running;  // "phase:name" -> start
  bool m_stopping = false;
  bool m_live_line_shown = false;
  std::string m_run_id;
  std::thread m_ticker;
};

}  // namespace drctl
