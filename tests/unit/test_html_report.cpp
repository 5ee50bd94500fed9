#include <doctest/doctest.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <limits>
#include <regex>
#include <sstream>

#include "engine/record_json.hpp"
#include "engine/runner.hpp"
#include "fake_kind.hpp"
#include "report/html_report.hpp"

using namespace drctl;
using nlohmann::json;

namespace {

// "2026-11-23T22:15:00.000Z" plus `ms`.
std::string at(long long ms) {
  const long long total = 15 * 60 * 1000 + ms;  // from 22:00:00.000
  return fmt::format("2026-11-23T22:{:02}:{:02}.{:03}Z", total / 60000, (total / 1000) % 60,
                     total % 1000);
}

json entry(const std::string& phase, const std::string& name, long long start_ms,
           double duration_ms, const std::string& status = "ok") {
  json e = {{"name", name},
            {"phase", phase},
            {"kind", "exec"},
            {"target", "sh"},
            {"action", ""},
            {"status", status},
            {"message", "'sh' exited with 0"},
            {"started_at", at(start_ms)},
            {"finished_at", at(start_ms + static_cast<long long>(duration_ms))},
            {"duration_ms", duration_ms},
            {"attempts", 1},
            {"timeout_ms", 5000},
            {"evidence", {{"exit_code", 0}, {"argv0", "sh"}}},
            {"outputs", json::object()},
            {"warnings", json::array()},
            {"changed", "yes"}};
  if (phase == "step") {
    e["budget_ms"] = nullptr;
    e["budget_pct"] = nullptr;
    e["budget_exceeded"] = false;
    e["journal_wait_ms"] = 0.1;
  }
  return e;
}

// A run of `steps` steps of growing length after two checks, one rollback; no probes, no
// operator (an old report).
json sample(int steps = 4) {
  json report = {{"schema", "drctl.report/v1"},
                 {"run_id", "20261123T221500Z-3f9a1c"},
                 {"mode", "run"},
                 {"playbook", {{"name", "demo"}, {"path", "p.yaml"}, {"hash", "xxh3-128:00"}}},
                 {"started_at", at(0)},
                 {"result", "rolled_back"},
                 {"exit_code", 2},
                 {"summary", "step failed; rolled back"},
                 {"lock", nullptr},
                 {"resumed_from", nullptr},
                 {"rolls_back", nullptr},
                 {"checks", json::array()},
                 {"steps", json::array()},
                 {"rollbacks", json::array()}};
  report["checks"].push_back(entry("check", "c-fast", 0, 5));
  report["checks"].push_back(entry("check", "c-slow", 0, 120));
  long long t = 130;
  for (int i = 0; i < steps; ++i) {
    const double length = 10.0 * (i + 1);
    report["steps"].push_back(entry("step", fmt::format("s{}", i), t, length));
    t += static_cast<long long>(length) + 1;
  }
  report["rollbacks"].push_back(entry("rollback", "s0", t, 50));
  t += 50;
  report["finished_at"] = at(t);
  report["duration_ms"] = static_cast<double>(t);
  report["sla"] = {{"total_budget_ms", 2000},
                   {"steps_elapsed_ms", static_cast<double>(t - 180)},
                   {"total_pct", 10.0},
                   {"total_exceeded", false},
                   {"over_budget_steps", json::array()},
                   {"on_breach", "fail"},
                   {"probe", nullptr},
                   {"verdict", "not_evaluated"}};
  return report;
}

struct Svg {
  double ms_per_px = 0, left = 0, plot_width = 0, min_width = 0;
};

Svg gantt_geometry(const std::string& html) {
  static const std::regex k_svg(
      R"re(<svg class="gantt"[^>]*data-ms-per-px="([^"]+)" data-left="([^"]+)" data-plot-width="([^"]+)" data-min-width="([^"]+)")re");
  std::smatch m;
  REQUIRE(std::regex_search(html, m, k_svg));
  return {std::stod(m[1]), std::stod(m[2]), std::stod(m[3]), std::stod(m[4])};
}

struct BarSeen {
  std::string phase, name;
  int index = 0;
  double start_ms = 0, duration_ms = 0, x = 0, width = 0;
};

std::vector<BarSeen> bars(const std::string& html) {
  static const std::regex k_bar(
      R"re(<rect class="bar [^"]*" data-phase="([^"]*)" data-name="([^"]*)" data-index="(\d+)"[^>]*data-start-ms="([^"]+)" data-duration-ms="([^"]+)" x="([^"]+)" y="[^"]+" width="([^"]+)")re");
  std::vector<BarSeen> out;
  for (auto it = std::sregex_iterator(html.begin(), html.end(), k_bar);
       it != std::sregex_iterator(); ++it) {
    const auto& m = *it;
    out.push_back({m[1], m[2], std::stoi(m[3]), std::stod(m[4]), std::stod(m[5]), std::stod(m[6]),
                   std::stod(m[7])});
  }
  return out;
}

std::size_t count(const std::string& text, const std::string& what) {
  std::size_t n = 0;
  for (auto at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

}  // namespace

TEST_CASE("html report: every text is escaped; control characters are dropped") {
  json report = sample();
  report["playbook"]["name"] = "demo \"quoted\" & 'single'";
  report["steps"][1]["message"] = "<script>alert(\"x\")</script> it's\x01 done\x7f";
  report["steps"][1]["warnings"] = {"<img src=x onerror=alert(1)>"};
  report["steps"][1]["evidence"]["stderr_tail"] = "</td><script>bad()</script>";
  report["summary"] = "<b>bold</b>";
  const std::string html = report_to_html(report);
  CHECK(html.find("<script") == std::string::npos);
  CHECK(html.find("<SCRIPT") == std::string::npos);
  CHECK(html.find("<img") == std::string::npos);
  CHECK(html.find("<b>bold") == std::string::npos);
  CHECK(html.find("&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; it&#39;s done") !=
        std::string::npos);
  CHECK(html.find("demo &quot;quoted&quot; &amp; &#39;single&#39;") != std::string::npos);
  CHECK(html.find('\x01') == std::string::npos);
  CHECK(html.find('\x7f') == std::string::npos);
  // Bytes that are not UTF-8 do not reach the page as they are.
  report["summary"] = std::string("bad \xff\xfe byte");
  CHECK(report_to_html(report).find("\xff") == std::string::npos);
}

TEST_CASE("html report: self-contained (no script, no external resource, URLs only as text)") {
  json report = sample();
  report["steps"][0]["message"] = "served by https://backup.example/x and http://a.example";
  const std::string html = report_to_html(report);
  CHECK(html.rfind("<!DOCTYPE html>", 0) == 0);
  CHECK(html.find("<style>") != std::string::npos);
  for (const char* banned : {"<script", "<link", "<img", "<iframe", "<object", "<embed",
                             "src=", "href=", "@import", "url(http", "@font-face", "xmlns"})
    CHECK_MESSAGE(html.find(banned) == std::string::npos, banned);
  // The URLs are the message's, nothing else.
  CHECK(count(html, "https://") == 1);
  CHECK(count(html, "http://") == 1);
  CHECK(html.find("@media print") != std::string::npos);
  CHECK(html.find("viewBox=\"0 0 ") != std::string::npos);
}

TEST_CASE("html report: one bar per entry in journal order, x and width linear in ms") {
  const json report = sample(6);
  const std::string html = report_to_html(report);
  const Svg svg = gantt_geometry(html);
  CHECK(svg.ms_per_px > 0);
  const auto seen = bars(html);
  std::vector<std::pair<std::string, std::string>> expected;
  for (const char* section : {"checks", "steps", "rollbacks"}) {
    for (const auto& e : report[section]) expected.emplace_back(e["phase"], e["name"]);
  }
  REQUIRE(seen.size() == expected.size());
  for (std::size_t i = 0; i < seen.size(); ++i) {
    CHECK(seen[i].index == static_cast<int>(i));
    CHECK(std::pair{seen[i].phase, seen[i].name} == expected[i]);
    CHECK(seen[i].x == doctest::Approx(svg.left + seen[i].start_ms / svg.ms_per_px).epsilon(1e-4));
    CHECK(seen[i].width ==
          doctest::Approx(std::max(seen[i].duration_ms / svg.ms_per_px, svg.min_width))
              .epsilon(1e-4));
  }
  // Steps 10, 20, ... 60 ms long: widths in the same ratios; starts in order.
  const auto& s0 = seen[2];
  const auto& s5 = seen[7];
  CHECK(s0.name == "s0");
  CHECK(s5.name == "s5");
  CHECK(s5.width / s0.width == doctest::Approx(6.0).epsilon(0.01));
  for (std::size_t i = 3; i < 8; ++i) CHECK(seen[i].x > seen[i - 1].x);
  // The axis spans the run: the rollback, last, ends at the right edge.
  const auto& last = seen.back();
  CHECK(last.x + last.width == doctest::Approx(svg.left + svg.plot_width).epsilon(1e-3));
}

TEST_CASE("html report: a 500-step report is small and quick") {
  const json report = sample(500);
  const auto started = std::chrono::steady_clock::now();
  const std::string html = report_to_html(report);
  const double ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started).count();
  MESSAGE(fmt::format("500 steps: {} bytes in {:.1f} ms", html.size(), ms));
  CHECK(html.size() < 2'000'000);
  CHECK(bars(html).size() == 503);
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
  CHECK(ms < 2000);
#else
  CHECK(ms < 200);
#endif
}

TEST_CASE("html report: absent probes, operator and steps read as absent") {
  json report = sample();
  std::string html = report_to_html(report);
  CHECK(html.find("no read probe") != std::string::npos);
  CHECK(html.find("no write probe") != std::string::npos);
  CHECK(count(html, ">no probe<") == 2);
  CHECK(html.find("<dt>operator</dt><dd>unknown</dd>") != std::string::npos);
  report["operator"] = {{"user", "?"}, {"host", "bastion-1"}};  // a journal that could not tell
  CHECK(report_to_html(report).find("<dd>unknown @ bastion-1</dd>") != std::string::npos);

  // A check run: no steps, so no SLA window and no takeover time.
  report["steps"] = json::array();
  report["rollbacks"] = json::array();
  report["mode"] = "check";
  report["sla"].erase("total_budget_ms");
  html = report_to_html(report);
  CHECK(html.find("no steps") != std::string::npos);
  CHECK(html.find("a check run: only the checks ran") != std::string::npos);
  CHECK(html.find("class=\"sla-window\"") == std::string::npos);
  CHECK(bars(html).size() == 2);

  // An unfinished run: no exit code, an entry without an end.
  report = sample();
  report["result"] = "unfinished";
  report["exit_code"] = nullptr;
  report["steps"][1]["status"] = "unknown";
  report["steps"][1]["duration_ms"] = 0;
  html = report_to_html(report);
  CHECK(html.find("none (the run has no end)") != std::string::npos);
  CHECK(html.find("class=\"bar unknown unknown\"") != std::string::npos);
  CHECK(html.find("class=\"open\"") != std::string::npos);

  // Nothing usable at all still makes a page.
  CHECK(report_to_html(json::object()).find("no entries") != std::string::npos);
  CHECK(report_to_html(json("not a report")).find("</html>") != std::string::npos);
}

TEST_CASE("html report: the verdict, the probes' series and the lost writes") {
  json report = sample(3);
  report["operator"] = {{"user", "alice"}, {"host", "bastion-1"}};
  report["sla"]["verdict"] = "met";
  report["sla"]["steps_elapsed_ms"] = 2900;
  report["sla"]["total_budget_ms"] = 23000;
  report["sla"]["probe"] = {{"url", "http://svc/ready"},
                            {"requests", 40},
                            {"errors", 2},
                            {"error_rate", 0.05},
                            {"latency", {{"p99_ms", 12.34}}},
                            {"errors_by_entry", {{"step s1", 2}}},
                            {"verdict", "breached"},
                            {"series",
                             {{"origin", at(130)},
                              {"bucket_ms", 10},
                              {"points", {{0, 10, 0, 3.5}, {10, 10, 2, 40.0}, {20, 10, 0, 4.0}}}}}};
  report["sla"]["write_probe"] = {
      {"lost", 1},
      {"verification", {{"verified", true}}},
      {"lost_keys", {"order/<17>"}},
      {"failures_by_entry", {{"step s1", 3}}},
      {"longest_write_gap_ms", 25.0},
      {"longest_write_gap_started_at", at(141)},
      {"verdict", "breached"},
      {"series",
       {{"origin", at(130)},
        {"bucket_ms", 10},
        {"columns", {"acknowledged", "failed", "unknown"}},
        {"points", {{0, 5, 0, 0, 2.0}, {10, 1, 3, 1, 9.0}, {30, 5, 0, 0, 2.0}}}}}};
  const std::string html = report_to_html(report);
  CHECK(html.find("2.9 s <small>of 23 s</small>") != std::string::npos);
  CHECK(html.find("P99 12.3 ms <small>errors 5.00%</small>") != std::string::npos);
  CHECK(html.find("1 lost <small>longest gap 25.0 ms</small>") != std::string::npos);
  CHECK(html.find("<dd>alice @ bastion-1</dd>") != std::string::npos);
  CHECK(html.find("class=\"err\"") != std::string::npos);
  CHECK(html.find("class=\"latency\"") != std::string::npos);
  CHECK(html.find("class=\"wfail\"") != std::string::npos);
  CHECK(html.find("class=\"wunknown\"") != std::string::npos);
  CHECK(html.find("order/&lt;17&gt;") != std::string::npos);
  CHECK(html.find("Write probe failures by entry") != std::string::npos);
  CHECK(html.find("no read probe") == std::string::npos);
  CHECK(html.find("no write probe") == std::string::npos);
  // The gap is shaded on the Gantt and on the write chart, at the same x.
  static const std::regex k_gap(R"re(<rect class="gap" x="([^"]+)")re");
  std::vector<std::string> xs;
  for (auto it = std::sregex_iterator(html.begin(), html.end(), k_gap);
       it != std::sregex_iterator(); ++it)
    xs.push_back((*it)[1]);
  REQUIRE(xs.size() == 3);  // the Gantt, the read chart, the write chart
  CHECK(xs[0] == xs[1]);
  CHECK(xs[1] == xs[2]);
  const Svg svg = gantt_geometry(html);
  CHECK(std::stod(xs[0]) == doctest::Approx(svg.left + 141 / svg.ms_per_px).epsilon(1e-4));
}

TEST_CASE("html report: the write probe's losses as proven, the takeover's own verdict") {
  json report = sample(3);
  report["sla"]["verdict"] = "breached";  // by the write probe, not by the steps
  report["sla"]["write_probe"] = {{"acknowledged", 2000},
                                  {"lost", 1500},
                                  {"verification", {{"verified", true}}},
                                  {"lost_keys", json::array()},
                                  {"failures_by_entry", {{"step s1", 3}}},
                                  {"verdict", "breached"}};
  // drctl lists the first 1,000 lost keys in the report: the count is `lost`, not the list's.
  for (int i = 0; i < 1000; ++i)
    report["sla"]["write_probe"]["lost_keys"].push_back(fmt::format("k{}", i));
  std::string html = report_to_html(report);
  CHECK(html.find("<h3>1,500 lost keys</h3>") != std::string::npos);
  CHECK(html.find("<p class=\"more\">the first 1,000 are listed</p>") != std::string::npos);
  CHECK(html.find("the JSON report lists them all") == std::string::npos);
  CHECK(count(html, "<li>k") == 1000);
  CHECK(html.find("1500 lost <small>") != std::string::npos);
  CHECK(html.find("<th>not acknowledged (failed or unknown)</th>") != std::string::npos);
  // A write breach is not a slow takeover: the steps met sla.total and their budgets.
  CHECK(html.find("<div class=\"tile met\"><h2>Takeover") != std::string::npos);
  report["sla"]["total_exceeded"] = true;
  CHECK(report_to_html(report).find("<div class=\"tile breached\"><h2>Takeover") !=
        std::string::npos);
  report["sla"]["total_exceeded"] = false;
  report["sla"]["over_budget_steps"] = {"s1"};
  CHECK(report_to_html(report).find("<div class=\"tile breached\"><h2>Takeover") !=
        std::string::npos);
  report["sla"]["verdict"] = "not_evaluated";
  CHECK(report_to_html(report).find("<div class=\"tile not_evaluated\"><h2>Takeover") !=
        std::string::npos);

  // Not every write read back: the losses proven so far are a floor, never the count.
  report["sla"]["write_probe"]["verification"]["verified"] = false;
  report["sla"]["write_probe"]["lost"] = 2;
  report["sla"]["write_probe"]["lost_keys"] = {"k1", "k2"};
  html = report_to_html(report);
  CHECK(html.find("at least 2 lost <small>") != std::string::npos);
  CHECK(html.find("<h3>at least 2 lost keys</h3>") != std::string::npos);
  CHECK(html.find("are listed") == std::string::npos);
  report["sla"]["write_probe"]["lost"] = nullptr;
  report["sla"]["write_probe"]["lost_keys"] = json::array();
  CHECK(report_to_html(report).find("lost: unknown <small>") != std::string::npos);
}

TEST_CASE("html report: series points from a tampered journal (1e300, NaN, far away) are skipped") {
  json report = sample(3);
  const double nan = std::numeric_limits<double>::quiet_NaN();
  // Columns 10 ms wide: the points at 0 and 5 ms are one column, whatever lies between them in
  // the list (a point whose column key overflowed split it, and was UB).
  report["sla"]["write_probe"] = {{"lost", 0},
                                  {"verification", {{"verified", true}}},
                                  {"verdict", "met"},
                                  {"series",
                                   {{"origin", at(130)},
                                    {"bucket_ms", 10},
                                    {"columns", {"acknowledged", "failed", "unknown"}},
                                    {"points",
                                     {{0, 1, 0, 0, 2.0},
                                      {1e300, 1, 0, 0, 2.0},
                                      {-1e300, 1, 0, 0, 2.0},
                                      {nan, 1, 0, 0, 2.0},
                                      {1e12, 1, 0, 0, 2.0},
                                      {-1e12, 1, 0, 0, 2.0},
                                      {5, 1, 0, 0, 2.0}}}}}};
  std::string html = report_to_html(report);
  CHECK(count(html, "<rect class=\"ack\"") == 1);
  // An entry's length and budget of 1e300, in a journal: a page, however useless its axis.
  report["steps"][1]["duration_ms"] = 1e300;
  report["steps"][1]["budget_ms"] = 1e300;
  report["sla"]["write_probe"]["series"]["bucket_ms"] = 1e300;
  html = report_to_html(report);
  CHECK(html.find("</html>") != std::string::npos);
  CHECK(bars(html).size() == 6);
  // An infinite length (none from a journal's text, which refuses 1e999) reads as 0: the axis
  // stays finite (its ticks were an endless loop).
  report["steps"][1]["duration_ms"] = std::numeric_limits<double>::infinity();
  report["steps"][1]["budget_ms"] = std::numeric_limits<double>::infinity();
  html = report_to_html(report);
  CHECK(gantt_geometry(html).ms_per_px < 1);
  CHECK(html.find("=\"inf\"") == std::string::npos);
  CHECK(html.find("nan") == std::string::npos);
}

TEST_CASE("html report: the evidence that matters, by kind") {
  json report = sample(2);
  auto& step = report["steps"][0];
  step["kind"] = "mysql_switchover";
  step["evidence"] = {{"freeze_ms", 2.19},
                      {"final_gtid", "0-1-42"},
                      {"catchup_ms", 0.5},
                      {"open_at_freeze", json::array()},
                      {"unrelated", "x"}};
  step["attempts"] = 3;
  step["budget_ms"] = 100;
  step["budget_exceeded"] = true;
  auto& other = report["steps"][1];
  other["kind"] = "routing_reload";
  other["evidence"] = {{"takeover_ms", 812.5}, {"requests", 9}};
  const std::string html = report_to_html(report);
  CHECK(html.find("<dt>freeze_ms</dt><dd>2.19</dd>") != std::string::npos);
  CHECK(html.find("<dt>final_gtid</dt><dd>0-1-42</dd>") != std::string::npos);
  CHECK(html.find("<dt>unrelated</dt>") == std::string::npos);
  CHECK(html.find("<dt>takeover_ms</dt><dd>812.50</dd>") != std::string::npos);
  CHECK(html.find("\u00d73</text>") != std::string::npos);  // retried: ×3 beside the bar
  CHECK(html.find("url(#retry-stripes)") != std::string::npos);
  CHECK(html.find("class=\"budget over\"") != std::string::npos);
}

TEST_CASE("html report: a dotted evidence key whose parent is absent is skipped") {
  // The lab's switchover crashed here: etcd_watch_handoff's table names propagation.p99_ms,
  // and a handoff's evidence has no `propagation`.
  json report = sample(1);
  report["steps"][0]["kind"] = "etcd_watch_handoff";
  report["steps"][0]["evidence"] = {{"canary_ms", 3.0}, {"events", 1}};
  const std::string html = report_to_html(report);
  CHECK(html.find("<dt>canary_ms</dt>") != std::string::npos);
  CHECK(html.find("propagation") == std::string::npos);
}

TEST_CASE("html report: a real run's report, written by HtmlReporter") {
  auto playbook = testing::parse_for_test(R"(
version: 1
name: "<demo & co>"
sla: {total: 10s}
checks:
  - {name: c, fake: {id: c}}
steps:
  - {name: a, budget: 1s, fake: {id: a}, rollback: {fake: {id: undo-a}}}
  - {name: b, fake: {id: b, result: failed, changed: "no"}}
)");
  Reporter quiet;
  CancelToken cancel;
  const RunReport run = run_playbook(playbook, testing::test_kinds(), quiet, {}, cancel);
  const std::string path = fmt::format("/tmp/drctl-html-test-{}.html", ::getpid());
  HtmlReporter reporter(path);
  reporter.run_finished(run);
  CHECK(reporter.error().empty());
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  const std::string html = text.str();
  CHECK(html == report_to_html(report_to_json(run)));
  CHECK(bars(html).size() == 4);  // c, a, b, the rollback of a
  CHECK(html.find("&lt;demo &amp; co&gt;") != std::string::npos);
  struct stat st {};
  REQUIRE(::stat(path.c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0644);
  std::remove(path.c_str());

  HtmlReporter nowhere("/nonexistent-dir/r.html");
  nowhere.run_finished(run);
  CHECK(nowhere.error().find("cannot write HTML report /nonexistent-dir/r.html") == 0);
}
