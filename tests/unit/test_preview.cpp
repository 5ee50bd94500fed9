// The live diff: the unified diff (as `diff -u` prints it), the preview overlay through which a
// later step reads what an earlier one would write, and a dry run that goes on past a step that
// would refuse.
#include <doctest/doctest.h>
#include <fmt/format.h>

#include <chrono>

#include "core/preview.hpp"
#include "engine/exit_codes.hpp"
#include "engine/runner.hpp"
#include "playbook/loader.hpp"
#include "util/sha256.hpp"
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

TEST_CASE("sha256: the FIPS 180-2 vectors, whole or in pieces") {
  CHECK(sha256_hex("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  CHECK(sha256_hex("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  CHECK(sha256_hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq") ==
        "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  Sha256 pieces;
  const std::string chunk(1000, 'a');
  for (int i = 0; i < 1000; ++i) pieces.update(chunk);
  CHECK(pieces.hex_digest() == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
  auto summary = TextSummary::of("a\nb");
  CHECK(summary.bytes == 3);
  CHECK(summary.lines == 2);
  CHECK(TextSummary::of("a\nb\n").lines == 2);
  CHECK(TextSummary::of("").lines == 0);
}

TEST_CASE("unified diff: the listing stops after 400 changed lines, saying how many more") {
  std::string before, after;
  for (int i = 0; i < 1000; ++i) {
    before += fmt::format("line {}\n", i);
    after += i % 4 == 0 ? fmt::format("LINE {}\n", i) : fmt::format("line {}\n", i);
  }
  // 250 lines changed: 500 changed lines (- and +), within max_edits, listed up to 400.
  auto diff = unified_diff(before, after, "a", "b");
  std::size_t changed = 0;
  for (std::size_t at = diff.find("\n-"); at != std::string::npos; at = diff.find("\n-", at + 1))
    ++changed;
  for (std::size_t at = diff.find("\n+"); at != std::string::npos; at = diff.find("\n+", at + 1))
    ++changed;
  CHECK(changed == 400 + 1);  // and the "+++ b" header (the first line, "--- a", follows no \n)
  CHECK(diff.ends_with("\n... 100 more changed lines\n"));
  CHECK(unified_diff(before, after, "a", "b", 3, DiffLimits{1000, 1000}).find("more changed") ==
        std::string::npos);
}

TEST_CASE("unified diff: past max_edits differences it says where, lists none") {
  std::string before, after;
  for (int i = 0; i < 3000; ++i) {
    before += fmt::format("old {}\n", i);
    after += fmt::format("new {}\n", i);
  }
  before = "same\n" + before + "tail\n";
  after = "same\n" + after + "tail\n";
  CHECK(unified_diff(before, after, "a", "b") ==
        "--- a\n+++ b\nlines 2-3001 now and 2-3001 after: more than 1000 changed lines, not "
        "listed line by line\n");
}

TEST_CASE("unified diff and preview: 10 MiB inputs stay fast and bounded") {
  std::string before, after;
  for (int i = 0; before.size() < (std::size_t{10} << 20); ++i) {
    before += fmt::format("upstream server-{} 10.0.{}.{}:8080;\n", i, i / 256 % 256, i % 256);
    after += fmt::format("upstream server-{} 10.1.{}.{}:8080;\n", i, i / 256 % 256, i % 256);
  }
  const auto start = std::chrono::steady_clock::now();
  auto diff = unified_diff(before, after, "a", "b");
  CHECK(diff.size() < 300);
  CHECK(diff.find("more than 1000 changed lines, not listed") != std::string::npos);

  Preview preview;
  preview.text("file /etc/big.conf", before, after);
  auto json = preview.to_json();
  const auto& change = json["changes"][0];
  CHECK(change["hidden"] == "larger than 4 MiB: not diffed");
  CHECK(change["before"].is_null());
  CHECK(change["after"].is_null());
  CHECK(change["diff"] == "");
  CHECK(change["before_summary"]["bytes"] == before.size());
  CHECK(change["after_summary"]["sha256"] == sha256_hex(after));
  CHECK(change["unchanged"] == false);
  CHECK(json.dump().size() < 2000);
  auto lines = preview_lines(json);
  REQUIRE(lines.size() == 2);
  CHECK(lines[0] == "file /etc/big.conf: not shown: larger than 4 MiB: not diffed");
  CHECK(lines[1] == fmt::format("  {} bytes, {} lines, sha256 {} -> {} bytes, {} lines, sha256 {}",
                                before.size(), TextSummary::of(before).lines, sha256_hex(before),
                                after.size(), TextSummary::of(after).lines, sha256_hex(after)));
  // Seconds at most, even under ASan (the uncapped diff took minutes and a GB).
  CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(20));
}

TEST_CASE("preview: a hidden text shows sizes and hashes, never its content") {
  Preview preview;
  preview.hidden_text("file /etc/app.conf", TextSummary::of("password=old\n"),
                      TextSummary::of("password=new\n"),
                      "/etc/app.conf is not world-readable (mode 0600): it may hold credentials");
  preview.hidden_text("file /etc/new.conf", std::nullopt, TextSummary::of("x"), "why");
  auto json = preview.to_json();
  CHECK(json.dump().find("password") == std::string::npos);
  CHECK(json["changes"][0]["before_summary"]["sha256"] == sha256_hex("password=old\n"));
  CHECK(json["changes"][1]["before_summary"].is_null());
  auto lines = preview_lines(json);
  REQUIRE(lines.size() == 4);
  CHECK(lines[0] ==
        "file /etc/app.conf: not shown: /etc/app.conf is not world-readable (mode "
        "0600): it may hold credentials");
  CHECK(lines[1].starts_with("  13 bytes, 1 line, sha256 "));
  CHECK(lines[3].starts_with("  absent -> 1 bytes, 1 line, sha256 "));
  // A text too large for JSON keeps its diff there, not its whole before and after.
  Preview large;
  large.text("etcd /big", std::string(70'000, 'x') + "\n", "y\n");
  auto big = large.to_json()["changes"][0];
  CHECK(big["before"].is_null());
  CHECK(big["texts_left_out"] == "larger than 64 KiB");
  CHECK(big["diff"].get<std::string>().ends_with("+y\n"));
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
