#pragma once
// A human decision a run waits for in the middle of its steps (the `approval` kind). The
// engine provides the waiting (the terminal, `drctl approve` through the journal's copies);
// the kind only asks and turns the answer into an outcome.
#include <chrono>
#include <functional>
#include <string>

namespace drctl {

struct ApprovalDecision {
  enum class Verdict { approved, rejected, timed_out, cancelled, unavailable };
  Verdict verdict = Verdict::unavailable;
  std::string by;       // who decided (drctl approve --by, or the user at the terminal)
  std::string comment;  // --comment, or ""
  std::string at;       // when, RFC 3339 UTC
  std::string via;      // "terminal", "state dir", "etcd"
  std::string host;     // where it was posted from ("" on the terminal: the run's own host)
  std::string login;    // the account that posted it
  std::string error;    // for unavailable: why no decision can arrive
  std::chrono::milliseconds waited{0};
};

// Waits for the decision on the current step; `message` says what it waits for. Returns by
// the attempt's deadline (timed_out) or when the run is interrupted (cancelled).
using AwaitApproval = std::function<ApprovalDecision(const std::string& message)>;

}  // namespace drctl
