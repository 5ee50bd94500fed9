#include <doctest/doctest.h>

#include "playbook/interpolate.hpp"

using namespace drctl;

TEST_CASE("references are found with their scope and names") {
  auto refs = find_references("a ${vars.x} b ${steps.cap.revision} ${env.HOME} ${run.id}");
  REQUIRE(refs.has_value());
  REQUIRE(refs->size() == 4);
  CHECK((*refs)[0].scope == "vars");
  CHECK((*refs)[1].names == std::vector<std::string>{"cap", "revision"});
  CHECK((*refs)[3].text == "${run.id}");
}

TEST_CASE("malformed references are errors") {
  CHECK_FALSE(find_references("${vars.x").has_value());
  CHECK_FALSE(find_references("${steps.only}").has_value());
  CHECK_FALSE(find_references("${nope.x}").has_value());
  CHECK_FALSE(find_references("${vars.}").has_value());
  CHECK_FALSE(find_references("${vars.a b}").has_value());
}

TEST_CASE("$${ escapes a literal ${ and is only unescaped at the end") {
  auto refs = find_references("price $${vars.x}");
  REQUIRE(refs.has_value());
  CHECK(refs->empty());
  auto none = [](const Reference&) -> std::optional<std::string> { return std::nullopt; };
  CHECK(substitute("a $${x}", none, false) == "a $${x}");
  CHECK(substitute("a $${x}", none, true) == "a ${x}");
}

TEST_CASE("substitute replaces only what the resolver knows") {
  auto resolve = [](const Reference& r) -> std::optional<std::string> {
    if (r.scope == "vars") return "V";
    return std::nullopt;
  };
  CHECK(substitute("${vars.a}-${steps.s.o}", resolve, false) == "V-${steps.s.o}");
}
