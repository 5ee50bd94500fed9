#include <doctest/doctest.h>

#include <algorithm>

#include "engine/journal_retention.hpp"
#include "playbook/loader.hpp"
#include "util/clock.hpp"

using namespace drctl;

namespace {

const auto k_now = parse_rfc3339_utc("2026-12-01T12:00:00.000Z");

// A run of playbook `playbook` started `minutes` before k_now; result "" = no end (killed).
RetentionRun run(const std::string& id, int minutes, const std::string& result = "success",
                 const std::string& parent = "", const std::string& playbook = "p") {
  RetentionRun r;
  r.entry.run_id = id;
  r.entry.playbook = playbook;
  r.entry.started_at = rfc3339_utc(k_now - std::chrono::minutes(minutes));
  r.entry.result = result;
  r.entry.exit_code = result.empty() ? -1 : 0;
  r.entry.link = ChainLink{id, parent, parent.empty() ? "run" : "run", r.entry.started_at, "h", 1};
  return r;
}

// The pruned chains as "id id|id" (chains apart by '|'), oldest chain first.
std::string pruned(const std::vector<RetentionRun>& runs, JournalRetention policy,
                   const std::string& keep = "") {
  std::string out;
  for (const auto& chain : runs_to_prune(runs, "p", policy, k_now, keep)) {
    if (!out.empty()) out += "|";
    for (std::size_t i = 0; i < chain.size(); ++i) out += (i ? " " : "") + chain[i].run_id;
  }
  return out;
}

JournalRetention keep(long long n) {
  return {n, std::nullopt};
}
JournalRetention younger_than(Millis age) {
  return {std::nullopt, age};
}

}  // namespace

TEST_CASE("retention keeps the newest N finished runs and prunes the rest, oldest first") {
  std::vector<RetentionRun> runs;
  for (int i = 1; i <= 30; ++i) runs.push_back(run("R" + std::to_string(i), 100 - i));
  auto chains = runs_to_prune(runs, "p", keep(5), k_now);
  REQUIRE(chains.size() == 25);
  CHECK(chains.front().front().run_id == "R1");
  CHECK(chains.back().front().run_id == "R25");
  CHECK(pruned(runs, keep(30)).empty());
  CHECK(pruned(runs, keep(100)).empty());
  CHECK(pruned(runs, JournalRetention{}).empty());  // no policy: nothing goes
}

TEST_CASE("a run without an end, or one still held by its process, is never pruned nor counted") {
  std::vector<RetentionRun> runs = {run("old-killed", 50, ""), run("A", 40), run("B", 30),
                                    run("C", 20)};
  CHECK(pruned(runs, keep(1)) == "A|B");
  runs[1].in_use = true;  // finished, but its process still holds the journal
  CHECK(pruned(runs, keep(1)) == "B");
  CHECK(pruned(runs, keep(0)) == "B|C");
}

TEST_CASE("results that leave steps done for a human are never pruned, with their chain") {
  for (const char* result : {"partial", "interrupted", "lock_lost", "journal_failed"}) {
    CAPTURE(result);
    std::vector<RetentionRun> runs = {run("A", 40, result), run("B", 30), run("C", 20)};
    CHECK(pruned(runs, keep(1)) == "B");
    // A rollback of A that succeeded does not make A's partial journal go: the chain stays.
    runs.push_back(run("A-rb", 35, "success", "A"));
    CHECK(pruned(runs, keep(1)) == "B");
  }
  for (const char* result :
       {"success", "rolled_back", "checks_failed", "sla_breached", "lock_held", "not_verified"}) {
    CAPTURE(result);
    CHECK(pruned({run("A", 40, result), run("B", 30)}, keep(1)) == "A");
  }
}

TEST_CASE("a chain goes whole, only once its newest run ended well, and counts by its runs") {
  // K killed, resumed by K2 which succeeded: settled, the two go together.
  std::vector<RetentionRun> runs = {run("K", 50, ""), run("K2", 45, "success", "K"), run("B", 30),
                                    run("C", 20)};
  CHECK(pruned(runs, keep(2)) == "K K2");
  CHECK(pruned(runs, keep(3)) == "");  // C, B and the chain's two runs: it straddles, kept
  // The resume killed too: the chain's newest has no end, recovery needs all of it.
  runs[1] = run("K2", 45, "", "K");
  CHECK(pruned(runs, keep(0)) == "B|C");
  // Rolled back (a rollback's link names the run it rolls back) and the rollback ended well.
  runs[1] = run("K2", 45, "success", "K");
  runs[1].entry.link.mode = "rollback";
  runs.push_back(run("K3", 44, "", "K2"));  // ... then a later resume of the chain, killed
  CHECK(pruned(runs, keep(0)) == "B|C");
  // The chain's order is by start, whatever the listing's order.
  std::vector<RetentionRun> shuffled = {run("X2", 10, "success", "X"), run("X", 12, "failed")};
  CHECK(pruned(shuffled, keep(0)) == "X X2");
}

TEST_CASE("the run that just ended is counted, never pruned, even while it holds its journal") {
  std::vector<RetentionRun> runs = {run("A", 40), run("B", 30), run("NOW", 0)};
  runs[2].in_use = true;
  CHECK(pruned(runs, keep(1), "NOW") == "A|B");
  CHECK(pruned(runs, keep(1)) == "A");  // someone else's run in progress is not counted
  CHECK(pruned(runs, younger_than(Millis(1)), "NOW") == "A|B");
}

TEST_CASE("an age prunes runs older than it; with a count, only what both would prune") {
  std::vector<RetentionRun> runs;
  for (int day = 1; day <= 10; ++day)
    runs.push_back(run("D" + std::to_string(day), day * 24 * 60 - 1));
  auto days = [](int n) { return Millis(std::chrono::hours(24 * n)); };
  CHECK(pruned(runs, younger_than(days(8))) == "D10|D9");  // D8 is 8 days less a minute old
  CHECK(pruned(runs, younger_than(days(3))) == "D10|D9|D8|D7|D6|D5|D4");
  CHECK(pruned(runs, younger_than(days(11))).empty());
  CHECK(pruned(runs, JournalRetention{2, days(8)}) == "D10|D9");
  CHECK(pruned(runs, JournalRetention{5, days(3)}) == "D10|D9|D8|D7|D6");
  CHECK(pruned(runs, JournalRetention{9, days(1)}) == "D10");
}

TEST_CASE("other playbooks' runs are neither counted nor pruned") {
  std::vector<RetentionRun> runs = {run("A", 40), run("Q1", 35, "success", "", "q"), run("B", 30),
                                    run("Q2", 25, "success", "", "q"), run("C", 20)};
  CHECK(pruned(runs, keep(1)) == "A|B");
  // A chain mixing playbooks (a hand-edited journal) is left alone.
  runs.push_back(run("Q3", 45, "success", "A", "q"));
  CHECK(pruned(runs, keep(1)) == "B");
}

TEST_CASE("lock.journal_retention: a count or an age; bad values at their line and column") {
  auto load = [](const std::string& retention) {
    std::string text =
        "version: 1\nname: p\nlock:\n  etcd: {endpoints: [127.0.0.1:2379]}\n  key: /l\n" +
        (retention.empty() ? std::string() : "  journal_retention: " + retention + "\n") +
        "steps:\n  - name: s\n    exec: {argv: [\"true\"]}\n";
    return parse_playbook(text, "p.yaml", {});
  };
  auto absent = load("");
  REQUIRE(absent.playbook);
  CHECK(absent.playbook->lock->journal_retention.runs == k_default_journal_retention);
  CHECK_FALSE(absent.playbook->lock->journal_retention.age);
  auto five = load("5");
  REQUIRE(five.playbook);
  CHECK(five.playbook->lock->journal_retention.runs == 5);
  CHECK_FALSE(five.playbook->lock->journal_retention.age);
  auto month = load("30d");
  REQUIRE(month.playbook);
  CHECK_FALSE(month.playbook->lock->journal_retention.runs);
  CHECK(month.playbook->lock->journal_retention.age == Millis(30LL * 24 * 3600 * 1000));
  auto hours = load("\"12h\"");
  REQUIRE(hours.playbook);
  CHECK(hours.playbook->lock->journal_retention.age == Millis(12LL * 3600 * 1000));
  for (const char* bad : {"0", "-3", "5x", "abc", "1.5d", "true", "99999999"}) {
    CAPTURE(bad);
    auto result = load(bad);
    CHECK_FALSE(result.playbook);
    std::vector<std::string> errors;
    for (const auto& d : result.diagnostics) {
      if (d.severity == Diagnostic::Severity::error) errors.push_back(d.to_string());
    }
    REQUIRE(errors.size() == 1);
    CHECK(errors.front().rfind("p.yaml:6:22: lock.journal_retention: expected ", 0) == 0);
  }
}

TEST_CASE("an age is whole days or a duration") {
  CHECK(parse_age("30d") == Millis(30LL * 24 * 3600 * 1000));
  CHECK(parse_age("0d") == Millis(0));
  CHECK(parse_age("12h") == Millis(12LL * 3600 * 1000));
  CHECK(parse_age("1h30m") == Millis(90LL * 60 * 1000));
  CHECK_FALSE(parse_age("d"));
  CHECK_FALSE(parse_age("1.5d"));
  CHECK_FALSE(parse_age("100001d"));
  CHECK_FALSE(parse_age("1000000d"));
  CHECK_FALSE(parse_age("7"));
  CHECK_FALSE(parse_age("-1d"));
}

TEST_CASE("a resume still running elsewhere keeps its chain, whatever its clock says") {
  // R1 ended rolled back; R2 resumes it on another machine whose clock is 4 minutes behind:
  // its start reads older than R1's, and its journal has no end yet (the etcd copy shows no
  // process holding it). The chain is not settled.
  std::vector<RetentionRun> runs{run("R1", 10, "rolled_back"), run("R2", 14, "", "R1"),
                                 run("R3", 5), run("R4", 4)};
  CHECK(pruned(runs, keep(0)) == "R3|R4");
  // Once R2 ended, the chain goes with the others.
  runs[1].entry.result = "success";
  runs[1].entry.exit_code = 0;
  CHECK(pruned(runs, keep(0)) == "R2 R1|R3|R4");  // a chain in its start order
}
