#include <doctest/doctest.h>
#include <stdlib.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "fake_kind.hpp"
#include "playbook/loader.hpp"
#include "playbook/writer.hpp"

using namespace drctl;
namespace fs = std::filesystem;

namespace {

std::string read_file(const fs::path& path) {
  std::ifstream in(path);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

// "# expect: L:C: path: message" lines of a YAML file, or the lines of FILE.expect for JSON.
std::multiset<std::string> expectations_of(const fs::path& path) {
  std::multiset<std::string> out;
  if (path.extension() == ".json") {
    std::istringstream lines(read_file(path.string() + ".expect"));
    for (std::string line; std::getline(lines, line);) {
      if (!line.empty()) out.insert(line);
    }
    return out;
  }
  std::istringstream lines(read_file(path));
  const std::string marker = "# expect: ";
  for (std::string line; std::getline(lines, line);) {
    if (line.rfind(marker, 0) == 0) out.insert(line.substr(marker.size()));
  }
  return out;
}

}  // namespace

TEST_CASE("every invalid playbook reports exactly its expected errors with line:column") {
  fs::path dir = fs::path(DRCTL_SOURCE_DIR) / "tests/data/playbooks/invalid";
  std::size_t files = 0;
  for (const auto& item : fs::directory_iterator(dir)) {
    auto ext = item.path().extension();
    if (ext != ".yaml" && ext != ".json") continue;
    ++files;
    const std::string name = item.path().filename().string();
    CAPTURE(name);
    auto expected = expectations_of(item.path());
    REQUIRE_FALSE(expected.empty());
    auto result = parse_playbook(read_file(item.path()), name, {});
    CHECK_FALSE(result.playbook.has_value());
    std::multiset<std::string> actual;
    for (const auto& d : result.diagnostics) {
      if (d.severity != Diagnostic::Severity::error) continue;
      auto text = d.to_string();
      REQUIRE(text.rfind(name + ":", 0) == 0);
      actual.insert(text.substr(name.size() + 1));
    }
    CHECK(actual == expected);
  }
  CHECK(files >= 30);
}

namespace {

void check_same_timing(const Timing& a, const Timing& b) {
  CHECK(a.timeout == b.timeout);
  CHECK(a.retries == b.retries);
  CHECK(a.retry_delay == b.retry_delay);
}

void check_same_entries(const std::vector<Entry>& a, const std::vector<Entry>& b) {
  REQUIRE(a.size() == b.size());
  for (std::size_t i = 0; i < a.size(); ++i) {
    CAPTURE(a[i].name);
    CHECK(a[i].name == b[i].name);
    CHECK(a[i].action.kind == b[i].action.kind);
    CHECK(a[i].action.spec.json() == b[i].action.spec.json());
    check_same_timing(a[i].timing, b[i].timing);
    CHECK(a[i].budget == b[i].budget);
    CHECK(a[i].read_only == b[i].read_only);
    REQUIRE(a[i].rollback.has_value() == b[i].rollback.has_value());
    if (a[i].rollback) {
      CHECK(a[i].rollback->action.kind == b[i].rollback->action.kind);
      CHECK(a[i].rollback->action.spec.json() == b[i].rollback->action.spec.json());
      check_same_timing(a[i].rollback->timing, b[i].rollback->timing);
    }
  }
}

}  // namespace

TEST_CASE("every valid playbook and example round-trips: load, write, load again, equal") {
  std::vector<fs::path> paths;
  for (const char* sub : {"tests/data/playbooks/valid", "playbooks/examples"}) {
    for (const auto& item : fs::directory_iterator(fs::path(DRCTL_SOURCE_DIR) / sub))
      paths.push_back(item.path());
  }
  REQUIRE(paths.size() >= 4);
  for (const auto& path : paths) {
    CAPTURE(path.string());
    auto first = load_playbook(path.string(), {});
    for (const auto& d : first.diagnostics) MESSAGE(d.to_string());
    REQUIRE(first.playbook.has_value());
    std::string written = playbook_to_document(*first.playbook, builtin_kinds()).dump(2);
    auto second = parse_playbook(written, "written.json", {});
    for (const auto& d : second.diagnostics) MESSAGE(d.to_string());
    REQUIRE(second.playbook.has_value());
    const Playbook& a = *first.playbook;
    const Playbook& b = *second.playbook;
    CHECK(a.name == b.name);
    CHECK(a.description == b.description);
    CHECK(a.vars == b.vars);
    check_same_timing(a.defaults, b.defaults);
    CHECK(a.sla.total == b.sla.total);
    CHECK(a.sla.on_breach == b.sla.on_breach);
    check_same_entries(a.checks, b.checks);
    check_same_entries(a.steps, b.steps);
  }
}

TEST_CASE("a JSON playbook reads the same as its YAML twin") {
  fs::path dir = fs::path(DRCTL_SOURCE_DIR) / "tests/data/playbooks/valid";
  auto yaml = load_playbook((dir / "twin.yaml").string(), {});
  auto json = load_playbook((dir / "twin.json").string(), {});
  REQUIRE(yaml.playbook.has_value());
  REQUIRE(json.playbook.has_value());
  CHECK(yaml.playbook->name == json.playbook->name);
  REQUIRE(yaml.playbook->steps.size() == json.playbook->steps.size());
  for (std::size_t i = 0; i < yaml.playbook->steps.size(); ++i) {
    CHECK(yaml.playbook->steps[i].name == json.playbook->steps[i].name);
    CHECK(yaml.playbook->steps[i].action.spec.json() == json.playbook->steps[i].action.spec.json());
    CHECK(yaml.playbook->steps[i].timing.timeout == json.playbook->steps[i].timing.timeout);
  }
}

TEST_CASE("defaults are inherited and entry values override them") {
  auto playbook = testing::parse_for_test(R"(
version: 1
name: t
defaults: {timeout: 7s, retries: 2, retry_delay: 50ms}
steps:
  - name: a
    fake: {id: a}
  - name: b
    timeout: 1s
    retries: 0
    fake: {id: b}
    rollback:
      fake: {id: rb}
)");
  CHECK(playbook.steps[0].timing.timeout == Millis(7000));
  CHECK(playbook.steps[0].timing.retries == 2);
  CHECK(playbook.steps[0].timing.retry_delay == Millis(50));
  CHECK(playbook.steps[1].timing.timeout == Millis(1000));
  CHECK(playbook.steps[1].timing.retries == 0);
  REQUIRE(playbook.steps[1].rollback.has_value());
  CHECK(playbook.steps[1].rollback->timing.timeout == Millis(7000));
}

TEST_CASE("vars, --var overrides and env are resolved at load; step outputs are kept for later") {
  ::setenv("DRCTL_UNIT_SITE", "bantian", 1);
  LoadOptions options;
  options.kinds = &testing::test_kinds();
  options.var_overrides = {{"target", "override"}};
  auto result = parse_playbook(R"(
version: 1
name: t
vars: {target: original, site: "${env.DRCTL_UNIT_SITE}"}
steps:
  - name: a
    fake: {id: "${vars.target}-${vars.site}"}
  - name: b
    fake: {id: "${steps.a.id} $${literal}"}
)",
                               "t.yaml", options);
  REQUIRE(result.playbook.has_value());
  CHECK(result.playbook->steps[0].action.spec.str("id") == "override-bantian");
  CHECK(result.playbook->steps[1].action.spec.str("id") == "${steps.a.id} $${literal}");
}

TEST_CASE("a rollback may use the outputs of its own step") {
  auto playbook = testing::parse_for_test(R"(
version: 1
name: t
steps:
  - name: a
    fake: {id: a}
    rollback:
      fake: {id: "undo-${steps.a.id}"}
)");
  CHECK(playbook.steps[0].rollback->action.spec.str("id") == "undo-${steps.a.id}");
}
