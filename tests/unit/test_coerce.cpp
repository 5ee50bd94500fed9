// One coercion rule for a scalar's text (field_validator.hpp): a literal in the playbook and a
// ${steps.*} value filled in just before its entry runs get the same verdict.
#include <doctest/doctest.h>

#include "playbook/field_validator.hpp"

using namespace drctl;
using nlohmann::json;

namespace {

const Field k_port = Field::integer("port", "A port.").range(1, 65535);
const Field k_flag = Field::boolean("flag", "A switch.");
const Field k_wait = Field::duration("wait", "A duration.");
const Field k_mode = Field::string("mode", "One of a few words.").one_of({"fast", "safe"});
const Field k_name = Field::string("name", "Any text.");
const Field k_codes = Field::integer_list("codes", "Integers.");

}  // namespace

TEST_CASE("an integer within the field's range") {
  auto c = coerce_scalar(k_port, "80");
  CHECK(c.problem == "");
  CHECK_FALSE(c.wrong_type);
  CHECK(c.value.is_number_integer());
  CHECK(c.value == 80);
  CHECK(coerce_scalar(k_port, "+443").value == 443);
  CHECK(coerce_scalar(k_port, "1").value == 1);
  CHECK(coerce_scalar(k_port, "65535").value == 65535);
}

TEST_CASE("an integer outside the range is a problem of value, not of type") {
  auto c = coerce_scalar(k_port, "70000");
  CHECK(c.problem == "expected an integer from 1 to 65535, got 70000");
  CHECK_FALSE(c.wrong_type);
  CHECK(c.value.is_null());
  CHECK(coerce_scalar(k_port, "0").problem == "expected an integer from 1 to 65535, got 0");
  CHECK(coerce_scalar(k_port, "-1").problem == "expected an integer from 1 to 65535, got -1");
  const Field at_least = Field::integer("n", "").range(2, std::nullopt);
  CHECK(coerce_scalar(at_least, "1").problem == "expected an integer of at least 2, got 1");
  const Field exactly = Field::integer("n", "").range(3, 3);
  CHECK(coerce_scalar(exactly, "4").problem == "expected 3, got 4");
}

TEST_CASE("text that is not an integer is the wrong type") {
  for (const char* text : {"abc", "", "8o", " 80", "80\n", "1.5", "0x50"}) {
    CAPTURE(text);
    auto c = coerce_scalar(k_port, text);
    CHECK(c.wrong_type);
    CHECK(c.problem == "expected an integer");
    CHECK(c.value.is_null());
  }
}

TEST_CASE("an integer beyond 64 bits is out of range") {
  auto c = coerce_scalar(k_port, "99999999999999999999");
  CHECK(c.problem == "integer out of range: 99999999999999999999");
  CHECK_FALSE(c.wrong_type);
  CHECK(coerce_scalar(Field::integer("n", ""), "9223372036854775807").value ==
        9223372036854775807LL);
  CHECK(coerce_scalar(Field::integer("n", ""), "9223372036854775808").problem ==
        "integer out of range: 9223372036854775808");
}

TEST_CASE("an integer list takes one integer as a list of one") {
  auto c = coerce_scalar(k_codes, "204");
  CHECK(c.problem == "");
  CHECK(c.value == json::array({204}));
  CHECK(coerce_scalar(k_codes, "ok").wrong_type);
}

TEST_CASE("booleans: true/false in three spellings, nothing else") {
  for (const char* text : {"true", "True", "TRUE"}) {
    CAPTURE(text);
    CHECK(coerce_scalar(k_flag, text).value == true);
  }
  for (const char* text : {"false", "False", "FALSE"}) {
    CAPTURE(text);
    CHECK(coerce_scalar(k_flag, text).value == false);
  }
  for (const char* text : {"yes", "no", "1", "0", "tRUE", "on", ""}) {
    CAPTURE(text);
    auto c = coerce_scalar(k_flag, text);
    CHECK(c.wrong_type);
    CHECK(c.problem == "expected true or false");
  }
}

TEST_CASE("durations need a unit and are kept in milliseconds") {
  CHECK(coerce_scalar(k_wait, "250ms").value == 250);
  CHECK(coerce_scalar(k_wait, "1m30s").value == 90000);
  CHECK(coerce_scalar(k_wait, "1.5s").value == 1500);
  auto bare = coerce_scalar(k_wait, "5");
  CHECK(bare.problem == "invalid duration '5': a unit is required (e.g. 5s or 5ms)");
  CHECK_FALSE(bare.wrong_type);
  CHECK(coerce_scalar(k_wait, "soon").problem ==
        "invalid duration 'soon' (use e.g. 250ms, 5s, 1m30s)");
}

TEST_CASE("a string with choices takes only those; one without takes anything") {
  CHECK(coerce_scalar(k_mode, "safe").value == "safe");
  auto c = coerce_scalar(k_mode, "Safe");
  CHECK(c.problem == "expected one of fast, safe, got 'Safe'");
  CHECK_FALSE(c.wrong_type);
  CHECK(coerce_scalar(k_name, "anything at all").value == "anything at all");
  CHECK(coerce_scalar(k_name, "").problem == "");
}

TEST_CASE("late values get the same verdict as literals") {
  // Every late value is text; coerce_late_values must decide as coerce_scalar does.
  const Fields fields = {k_port, k_flag, k_wait, k_mode, k_codes};
  const std::vector<std::pair<const Field*, std::vector<std::string>>> cases = {
      {&k_port, {"80", "70000", "abc", "99999999999999999999", "0", "+8080"}},
      {&k_flag, {"True", "true", "FALSE", "yes", "1"}},
      {&k_wait, {"250ms", "5", "2s", "later"}},
      {&k_mode, {"fast", "slow"}},
      {&k_codes, {"200", "x"}},
  };
  for (const auto& [field, texts] : cases) {
    for (const auto& text : texts) {
      CAPTURE(field->name);
      CAPTURE(text);
      json values = {{field->name, text}};
      auto problems = coerce_late_values(values, fields);
      auto literal = coerce_scalar(*field, text);
      if (literal.problem.empty()) {
        CHECK(problems.empty());
        CHECK(values[field->name] == literal.value);
      } else {
        REQUIRE(problems.size() == 1);
        CHECK(problems[0] == field->name + ": resolved to '" + text + "': " + literal.problem);
        CHECK(values[field->name] == text);  // left as it was: the entry fails instead
      }
    }
  }
}

TEST_CASE("a late port and a late True, spelled out") {
  json port = {{"port", "70000"}};
  CHECK(coerce_late_values(port, {k_port}) ==
        std::vector<std::string>{
            "port: resolved to '70000': expected an integer from 1 to 65535, got 70000"});
  json flag = {{"flag", "True"}};
  CHECK(coerce_late_values(flag, {k_flag}).empty());
  CHECK(flag == json{{"flag", true}});
  json wait = {{"wait", "5"}};
  CHECK(coerce_late_values(wait, {k_wait}) ==
        std::vector<std::string>{
            "wait: resolved to '5': invalid duration '5': a unit is required (e.g. 5s or 5ms)"});
}

TEST_CASE("late values leave values that are already typed, and unknown keys, alone") {
  json values = {{"port", 8080}, {"flag", false}, {"other", "70000"}};
  CHECK(coerce_late_values(values, {k_port, k_flag}).empty());
  CHECK(values == json{{"port", 8080}, {"flag", false}, {"other", "70000"}});
  json not_an_object = "70000";
  CHECK(coerce_late_values(not_an_object, {k_port}).empty());
}

TEST_CASE("nested objects and object lists are coerced, with their paths in the messages") {
  const Field outer = Field::object("outer", "", {k_port, k_flag});
  const Field items = Field::object_list("items", "", {k_port, k_wait});
  json values = {
      {"outer", {{"port", "70000"}, {"flag", "True"}}},
      {"items", json::array({json{{"port", "80"}, {"wait", "2s"}}, json{{"port", "x"}}})}};
  auto problems = coerce_late_values(values, {outer, items});
  CHECK(problems ==
        std::vector<std::string>{
            "outer.port: resolved to '70000': expected an integer from 1 to 65535, got 70000",
            "items[1].port: resolved to 'x': expected an integer"});
  CHECK(values["outer"]["flag"] == true);
  CHECK(values["outer"]["port"] == "70000");
  CHECK(values["items"][0] == json{{"port", 80}, {"wait", 2000}});
  CHECK(values["items"][1]["port"] == "x");
}

TEST_CASE("a path prefix is put before every message") {
  json values = {{"port", "0"}};
  CHECK(coerce_late_values(values, {k_port}, "steps[2].spec") ==
        std::vector<std::string>{
            "steps[2].spec.port: resolved to '0': expected an integer from 1 to 65535, got 0"});
}
