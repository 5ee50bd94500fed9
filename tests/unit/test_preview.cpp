// The live diff: the unified diff (as `diff -u` prints it), the preview overlay through which a
// later step reads what an earlier one would write, and a dry run that goes on past a step that
// would refuse.
#include <doctest/doctest.h>

#include "core/preview.hpp"
#include "engine/exit_codes.hpp"
#include "engine/runner.hpp"
#include "playbook/loader.hpp"
#include "util/unified_diff.hpp"

using namespace drctl;

TEST_CASE("unified diff: equal texts give nothing") {
  CHECK(unified_diff("a\nb\n", "a\nb\n", "x", "y").empty());
  CHECK(unified_diff("", "", "x", "y").empty());
}

TEST_CASE("unified diff: one changed line with three lines of context each side") {
  const std::string before = "1\n2\n3\n4\n5\n6\n7\n8\n9\n";
  const std::string after = "1\n2\n3\n4\nFIVE\n6\n7\n8\n9\n";
  CHECK(unified_diff(before, after, "a", "b") ==
        "--- a\n+++ b\n@@ -2,7 +2,7 @@\n 2\n 3\n 4\n-5\n+FIVE\n 6\n 7\n 8\n");
}

TEST_CASE("unified diff: changes far apart make two hunks, near ones one") {
  std::string before, far, near;
  for (int i = 1; i <= 20; ++i) before += std::to_string(i) + "\n";
  far = before;
  far.replace(far.find("2\n"), 2, "two\n");
  far.replace(far.find("19\n"), 3, "nineteen\n");
  CHECK(unified_diff(before, far, "a", "b") ==
        "--- a\n+++ b\n@@ -1,5 +1,5 @@\n 1\n-2\n+two\n 3\n 4\n 5\n"
        "@@ -16,5 +16,5 @@\n 16\n 17\n 18\n-19\n+nineteen\n 20\n");
  near = before;
  near.replace(near.find("5\n"), 2, "five\n");
  near.replace(near.find("11\n"), 3, "eleven\n");
  CHECK(unified_diff(before, near, "a", "b") ==
        "--- a\n+++ b\n@@ -2,13 +2,13 @@\n 2\n 3\n 4\n-5\n+five\n 6\n 7\n 8\n 9\n 10\n-11\n"
        "+eleven\n 12\n 13\n 14\n");
}

TEST_CASE("unified diff: insertions, deletions, empty sides and a missing final newline") {
  CHECK(unified_diff("", "new\n", "a", "b") == "--- a\n+++ b\n@@ -0,0 +1 @@\n+new\n");
  CHECK(unified_diff("old\n", "", "a", "b") == "--- a\n+++ b\n@@ -1 +0,0 @@\n-old\n");
  CHECK(unified_diff("blue", "green", "k", "k") ==
        "--- k\n+++ k\n@@ -1 +1 @@\n-blue\n\\ No newline at end of file\n+green\n"
        "\\ No newline at end of file\n");
  CHECK(unified_diff("a\n", "a", "x", "y") ==
        "--- x\n+++ y\n@@ -1 +1 @@\n-a\n+a\n\\ No newline at end of file\n");
  CHECK(unified_diff("a\nb\nc\n", "a\nx\nb\nc\n", "x", "y") ==
        "--- x\n+++ y\n@@ -1,3 +1,4 @@\n a\n+x\n b\n c\n");
}

TEST_CASE("diff_lines is a shortest edit script, and turns before into after") {
  const std::string before = "a\nb\nc\na\nb\nb\na\n", after = "c\nb\na\nb\na\nc\n";
  auto script = diff_lines(before, after);
  std::string rebuilt_before, rebuilt_after;
  int edits = 0;
  for (const auto& line : script) {
    if (line.op != '+') rebuilt_before += line.text + "\n";
    if (line.op != '-') rebuilt_after += line.text + "\n";
    if (line.op != ' ') ++edits;
  }
  CHECK(rebuilt_before == before);
  CHECK(rebuilt_after == after);
  CHECK(edits == 5);  // Myers' paper: D = 5 for ABCABBA -> CBABAC
  // Past max_edits the rest is replaced wholesale: still correct, no longer shortest.
  auto capped = diff_lines(before, after, 1);
  std::string capped_after;
  for (const auto& line : capped)
    if (line.op != '-') capped_after += line.text + "\n";
  CHECK(capped_after == after);
}

TEST_CASE("preview: a text change carries its diff; JSON and lines say the same") {
  Preview preview;
  preview.text("etcd /route", "a", "b");
  preview.state("mysql 127.0.0.1:3306 (primary)", "writable", "read-only", "db-step");
  preview.refusals.push_back("expect_value does not hold: now 'b'");
  auto json = preview.to_json();
  CHECK(json["changes"][0]["form"] == "text");
  CHECK(json["changes"][0]["diff"] ==
        "--- etcd /route (now)\n+++ etcd /route (after this step)\n@@ -1 +1 @@\n-a\n"
        "\\ No newline at end of file\n+b\n\\ No newline at end of file\n");
  CHECK(json["changes"][1]["as_after"] == "db-step");
  auto lines = preview_lines(json);
  REQUIRE(lines.size() == 10);
  CHECK(lines[0] == "etcd /route:");
  CHECK(lines[1] == "  --- etcd /route (now)");
  CHECK(lines[4] == "  -a");
  CHECK(lines[8] ==
        "mysql 127.0.0.1:3306 (primary): writable -> read-only (as after step 'db-step')");
  CHECK(lines[9] == "would refuse: expect_value does not hold: now 'b'");
}

TEST_CASE("preview overlay: a later step reads what an earlier one would write") {
  PreviewOverlay overlay;
  CHECK(overlay.find("etcd:1:/k") == nullptr);
  overlay.set_step("first");
  overlay.set("etcd:1:/k", "v1");
  overlay.set_step("second");
  overlay.set("file:/etc/x", std::nullopt);
  REQUIRE(overlay.find("etcd:1:/k") != nullptr);
  CHECK(*overlay.find("etcd:1:/k")->value == "v1");
  CHECK(overlay.find("etcd:1:/k")->step == "first");
  CHECK_FALSE(overlay.find("file:/etc/x")->value.has_value());
  overlay.set("etcd:1:/k", "v2");
  CHECK(*overlay.find("etcd:1:/k")->value == "v2");
  CHECK(overlay.find("etcd:1:/k")->step == "second");
}

namespace {

// A step kind over an in-memory key store: its preview reads the store through the overlay
// and refuses when the key does not hold `expect`.
std::map<std::string, std::string>& store() {
  static std::map<std::string, std::string> values;
  return values;
}

const Field k_key = Field::string("key", "").mandatory();
const Field k_value = Field::string("value", "").mandatory();
const Field k_expect = Field::string("expect", "");

class MemoKind : public Kind {
 public:
  std::string_view name() const override { return "memo"; }
  std::string_view summary() const override { return "a key in memory"; }
  bool allowed_as(Role role) const override { return role == Role::step; }
  const Fields& fields() const override {
    static const Fields fields = {k_key, k_value, k_expect};
    return fields;
  }
  std::string target(const Spec& spec) const override { return spec.str(k_key); }
  std::string describe(const Spec& spec) const override {
    return "set " + spec.str(k_key) + " = " + spec.str(k_value);
  }
  std::unique_ptr<Operation> prepare(const Spec&) const override { return nullptr; }
  Preview preview(const Spec& spec, const AttemptContext&, PreviewOverlay& overlay) const override {
    Preview preview;
    const std::string key = spec.str(k_key);
    std::string now = store().count(key) ? store()[key] : "";
    std::string as_after;
    if (const auto* earlier = overlay.find("memo:" + key)) {
      now = earlier->value.value_or("");
      as_after = earlier->step;
    }
    if (spec.has(k_expect) && now != spec.str(k_expect))
      preview.refusals.push_back("expect does not hold: now '" + now + "'");
    preview.text("memo " + key, now, spec.str(k_value), as_after);
    if (preview.refusals.empty()) overlay.set("memo:" + key, spec.str(k_value));
    return preview;
  }
};

const KindRegistry& memo_kinds() {
  static const KindRegistry registry = [] {
    KindRegistry r;
    r.add(std::make_unique<MemoKind>());
    return r;
  }();
  return registry;
}

class Silent : public Reporter {};

RunReport dry_run(const std::string& yaml) {
  LoadOptions options;
  options.kinds = &memo_kinds();
  auto loaded = parse_playbook(yaml, "test.yaml", options);
  for (const auto& d : loaded.diagnostics) MESSAGE(d.to_string());
  REQUIRE(loaded.playbook.has_value());
  Silent reporter;
  CancelToken cancel;
  RunOptions run;
  run.mode = Mode::dry_run;
  return run_playbook(*loaded.playbook, memo_kinds(), reporter, run, cancel);
}

}  // namespace

TEST_CASE("dry run: a step reads what the one before it would write, and says so") {
  store() = {{"route", "a"}};
  auto report = dry_run(R"(
version: 1
name: t
steps:
  - {name: one, memo: {key: route, value: b, expect: a}}
  - {name: two, memo: {key: route, value: c, expect: b}}
)");
  CHECK(report.result == RunResult::success);
  REQUIRE(report.steps.size() == 2);
  const auto& second = report.steps[1].evidence["preview"]["changes"][0];
  CHECK(second["before"] == "b");
  CHECK(second["as_after"] == "one");
  CHECK(report.steps[1].status == Status::skipped);
  CHECK(store()["route"] == "a");
}

TEST_CASE("dry run: a step that would refuse fails the dry run, the rest is still previewed") {
  store() = {{"route", "z"}};
  auto report = dry_run(R"(
version: 1
name: t
steps:
  - {name: one, memo: {key: route, value: b, expect: a}}
  - {name: two, memo: {key: other, value: c}}
)");
  CHECK(report.result == RunResult::would_refuse);
  CHECK(exit_code_for(report.result) == k_exit_checks_failed);
  REQUIRE(report.steps.size() == 2);
  CHECK(report.steps[0].status == Status::failed);
  CHECK(report.steps[0].message == "would refuse: expect does not hold: now 'z'");
  CHECK(report.steps[0].evidence["error"] == "would_refuse");
  CHECK(report.steps[1].status == Status::skipped);
  CHECK(report.rollbacks.empty());
  CHECK(report.summary.find("step 'one' would refuse: expect does not hold: now 'z'") !=
        std::string::npos);
  CHECK(report.summary.find("nothing was changed") != std::string::npos);
}
