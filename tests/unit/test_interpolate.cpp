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

namespace {

std::string error_of(std::string_view text) {
  auto refs = find_references(text);
  REQUIRE_FALSE(refs.has_value());
  return refs.error();
}

// Resolves vars.* from a fixed table; anything else stays as written.
std::optional<std::string> vars(const Reference& r) {
  if (r.scope != "vars") return std::nullopt;
  if (r.names[0] == "site") return "b";
  if (r.names[0] == "port") return "8080";
  if (r.names[0] == "empty") return "";
  if (r.names[0] == "tricky") return "${vars.site}";
  return std::nullopt;
}

}  // namespace

TEST_CASE("syntax errors say what is wrong") {
  CHECK(error_of("a ${vars.x") == "unterminated '${' (write $${ for a literal ${)");
  CHECK(error_of("${nope.x}") ==
        "unknown reference scope 'nope' in ${nope.x}: use vars, env, steps or run");
  CHECK(error_of("${}") == "unknown reference scope '' in ${}: use vars, env, steps or run");
  CHECK(error_of("${vars}") == "malformed reference ${vars}: expected ${vars.NAME}");
  CHECK(error_of("${vars.a.b}") == "malformed reference ${vars.a.b}: expected ${vars.NAME}");
  CHECK(error_of("${steps.x}") == "malformed reference ${steps.x}: expected ${steps.NAME.OUTPUT}");
  CHECK(error_of("${steps.x.y.z}") ==
        "malformed reference ${steps.x.y.z}: expected ${steps.NAME.OUTPUT}");
  CHECK(error_of("${env.A B}") == "malformed reference ${env.A B}");
  // The first error wins: a valid reference before it does not hide it.
  CHECK(error_of("${vars.ok} then ${bad.x} and ${vars.y") ==
        "unknown reference scope 'bad' in ${bad.x}: use vars, env, steps or run");
}

TEST_CASE("a nested ${ ends at the first } and is malformed") {
  // "${vars.${vars.x}}": the reference's body is "vars.${vars.x".
  CHECK(error_of("${vars.${vars.x}}") ==
        "malformed reference ${vars.${vars.x}: expected ${vars.NAME}");
  CHECK(error_of("${env.${x}}") == "malformed reference ${env.${x}");
  CHECK(error_of("${vars.${x") == "unterminated '${' (write $${ for a literal ${)");
}

TEST_CASE("references in the middle of text, several in one string, in order") {
  auto refs = find_references("https://${vars.site}.example:${vars.port}/route?v=${vars.site}x");
  REQUIRE(refs.has_value());
  REQUIRE(refs->size() == 3);
  CHECK((*refs)[0].text == "${vars.site}");
  CHECK((*refs)[1].names == std::vector<std::string>{"port"});
  CHECK((*refs)[2].text == "${vars.site}");  // a repeat is found again
  CHECK(substitute("https://${vars.site}.example:${vars.port}/route?v=${vars.site}x", vars,
                   false) == "https://b.example:8080/route?v=bx");
  CHECK(substitute("${vars.site}${vars.port}", vars, false) == "b8080");  // back to back
  CHECK(substitute("[${vars.empty}]", vars, false) == "[]");
}

TEST_CASE("${steps.NAME.OUTPUT} is a late reference with both names") {
  auto refs = find_references("revision ${steps.x.y} of ${steps.capture-old.previous_value}");
  REQUIRE(refs.has_value());
  REQUIRE(refs->size() == 2);
  CHECK((*refs)[0].scope == "steps");
  CHECK((*refs)[0].names == std::vector<std::string>{"x", "y"});
  CHECK((*refs)[0].text == "${steps.x.y}");
  CHECK((*refs)[1].names == std::vector<std::string>{"capture-old", "previous_value"});
  // Load-time substitution (vars only) leaves it for later, as written.
  CHECK(substitute("${vars.site}/${steps.x.y}", vars, false) == "b/${steps.x.y}");
}

TEST_CASE("$${ next to real references") {
  const std::string text = "$${vars.site} is ${vars.site}, $${ alone, $${}";
  auto refs = find_references(text);
  REQUIRE(refs.has_value());
  REQUIRE(refs->size() == 1);
  CHECK((*refs)[0].text == "${vars.site}");
  CHECK(substitute(text, vars, false) == "$${vars.site} is b, $${ alone, $${}");
  CHECK(substitute(text, vars, true) == "${vars.site} is b, ${ alone, ${}");
  // An escaped, unterminated `$${` is no error.
  CHECK(find_references("cost: $${").has_value());
}

TEST_CASE("substitute leaves malformed and unterminated references as written") {
  CHECK(substitute("${nope.x} ${vars.site}", vars, false) == "${nope.x} b");
  CHECK(substitute("${vars.site} ${vars.site", vars, false) == "b ${vars.site");
  CHECK(substitute("${vars.unknown}", vars, true) == "${vars.unknown}");
}

TEST_CASE("a substituted value is not interpolated again") {
  CHECK(substitute("${vars.tricky}", vars, false) == "${vars.site}");
  CHECK(substitute("${vars.tricky}", vars, true) == "${vars.site}");
}
