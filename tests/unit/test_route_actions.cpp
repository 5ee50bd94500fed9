// routing_reload's actions (route_actions.cpp): exactly one, each checked by its own kind with
// its problems keyed under the action's name.
#include <doctest/doctest.h>

#include <algorithm>

#include "kinds/route_actions.hpp"

using namespace drctl;
using nlohmann::json;

namespace {

// Spec's constructor is explicit and takes json: this spells a braced literal as one.
Spec spec_of(json values) {
  return Spec(std::move(values));
}

const std::string k_one_action = "give exactly one action: etcd_put, http, file_and_exec, exec";

json file_and_exec(const std::string& mode) {
  return {{"path", "/etc/nginx/conf.d/route.conf"},
          {"content", "upstream app { server 10.0.2.10:8080; }"},
          {"mode", mode},
          {"precheck", {"nginx", "-t", "-c", "{candidate}"}},
          {"reload", {"nginx", "-s", "reload"}}};
}

const Field* member(const Field& field, const std::string& name) {
  auto it = std::find_if(field.fields.begin(), field.fields.end(),
                         [&](const Field& f) { return f.name == name; });
  return it == field.fields.end() ? nullptr : &*it;
}

}  // namespace

TEST_CASE("a spec without an action gets one problem naming every action") {
  auto problems = check_route_action(Spec(json::object()));
  REQUIRE(problems.size() == 1);
  CHECK(problems[0].key == "");
  CHECK(problems[0].message == k_one_action);
  // A key that is not an action does not count as one.
  CHECK(check_route_action(spec_of({{"verify", {{"url", "http://x"}}}})).size() == 1);
}

TEST_CASE("two actions are one problem, keyed at the second in table order") {
  auto problems = check_route_action(spec_of(
      {{"http", {{"url", "http://admin/route"}}}, {"exec", {{"argv", json::array({"true"})}}}}));
  REQUIRE(problems.size() == 1);
  CHECK(problems[0].key == "exec");
  CHECK(problems[0].message == k_one_action);

  problems = check_route_action(spec_of({{"exec", {{"argv", json::array({"true"})}}},
                                         {"file_and_exec", file_and_exec("0644")},
                                         {"etcd_put", {{"key", "/route"}, {"value", "b"}}}}));
  REQUIRE(problems.size() == 1);
  CHECK(problems[0].key == "file_and_exec");  // etcd_put, file_and_exec, exec: the second
}

TEST_CASE("file_and_exec refuses a mode that is not octal, keyed at file_and_exec.mode") {
  for (const char* mode : {"0999", "rw", "", "0o644"}) {
    CAPTURE(mode);
    auto problems = check_route_action(spec_of({{"file_and_exec", file_and_exec(mode)}}));
    REQUIRE(problems.size() == 1);
    CHECK(problems[0].key == "file_and_exec.mode");
    CHECK(problems[0].message == "expected an octal mode such as 0644");
  }
}

TEST_CASE("a valid file_and_exec has no problem and is described with its commands") {
  Spec spec = spec_of({{"file_and_exec", file_and_exec("0640")}});
  CHECK(check_route_action(spec).empty());
  json no_mode = file_and_exec("0640");
  no_mode.erase("mode");  // the default, 0644
  CHECK(check_route_action(spec_of({{"file_and_exec", no_mode}})).empty());

  auto text = describe_route_action(spec);
  CHECK(text.find("/etc/nginx/conf.d/route.conf") != std::string::npos);
  CHECK(text.find("nginx -t -c {candidate}") != std::string::npos);
  CHECK(text.find("nginx -s reload") != std::string::npos);
  CHECK(text ==
        "write /etc/nginx/conf.d/route.conf after `nginx -t -c {candidate}` accepts it, run "
        "`nginx -s reload`");
}

TEST_CASE("describe_route_action without an action is empty") {
  CHECK(describe_route_action(Spec(json::object())) == "");
}

TEST_CASE("http's own problems are keyed under http.") {
  auto problems = check_route_action(spec_of({{"http", {{"url", "ftp://x"}}}}));
  REQUIRE(problems.size() == 1);
  CHECK(problems[0].key == "http.url");
  CHECK(problems[0].message == "expected an http:// or https:// URL, got 'ftp://x'");

  problems = check_route_action(spec_of({{"http", {{"method", "POST"}}}}));  // no url at all
  REQUIRE(problems.size() == 1);
  CHECK(problems[0].key == "http.url");
  CHECK(problems[0].message == "expected an http:// or https:// URL, got ''");

  // A problem with the whole http spec (key "") is keyed at "http" itself.
  problems =
      check_route_action(spec_of({{"http", {{"url", "https://admin/route"}, {"cert", "c.pem"}}}}));
  REQUIRE(problems.size() == 1);
  CHECK(problems[0].key == "http");
  CHECK(problems[0].message == "cert and key go together");
}

TEST_CASE("a valid http action has no problem and is described as the call") {
  Spec spec = spec_of({{"http", {{"url", "https://admin/route"}, {"method", "PUT"}}}});
  CHECK(check_route_action(spec).empty());
  CHECK(describe_route_action(spec) == "send PUT https://admin/route");
}

TEST_CASE("the action names and the field table agree") {
  const auto& names = route_action_names();
  CHECK(names == std::vector<std::string>{"etcd_put", "http", "file_and_exec", "exec"});
  auto fields = route_action_fields();
  REQUIRE(fields.size() == names.size());
  for (std::size_t i = 0; i < names.size(); ++i) {
    CAPTURE(names[i]);
    CHECK(fields[i].name == names[i]);
    CHECK(fields[i].type == FieldType::object);
    CHECK_FALSE(fields[i].required);  // exactly one is given: check_route_action says which
  }
}

TEST_CASE(
    "http and exec take an undo spec of their own kind; etcd_put and file_and_exec undo "
    "themselves") {
  auto fields = route_action_fields();
  REQUIRE(fields.size() == 4);
  const Field& etcd_put = fields[0];
  const Field& http = fields[1];
  const Field& file_and_exec = fields[2];
  const Field& exec = fields[3];
  CHECK(member(etcd_put, "undo") == nullptr);
  CHECK(member(file_and_exec, "undo") == nullptr);

  const Field* http_undo = member(http, "undo");
  REQUIRE(http_undo != nullptr);
  CHECK(http_undo->type == FieldType::object);
  CHECK(member(*http_undo, "url") != nullptr);   // the http kind's own keys
  CHECK(member(*http_undo, "undo") == nullptr);  // no undo of an undo
  CHECK(http_undo->fields.size() + 1 == http.fields.size());

  const Field* exec_undo = member(exec, "undo");
  REQUIRE(exec_undo != nullptr);
  CHECK(exec_undo->type == FieldType::object);
  CHECK(member(*exec_undo, "argv") != nullptr);
  CHECK(exec_undo->fields.size() + 1 == exec.fields.size());

  // The action's members are its kind's keys: the path and reload of file_and_exec.
  CHECK(member(file_and_exec, "path") != nullptr);
  CHECK(member(file_and_exec, "reload") != nullptr);
  CHECK(member(etcd_put, "key") != nullptr);
}

TEST_CASE("an action's undo: spec is checked by its kind, keyed under undo") {
  auto problems = check_route_action(
      spec_of({{"http", {{"url", "http://admin/route"}, {"undo", {{"url", "ftp://x"}}}}}}));
  REQUIRE(problems.size() == 1);
  CHECK(problems[0].key == "http.undo.url");
  CHECK(problems[0].message.find("expected an http:// or https:// URL") != std::string::npos);
  CHECK(check_route_action(
            spec_of({{"http",
                      {{"url", "http://admin/route"}, {"undo", {{"url", "http://admin/back"}}}}}}))
            .empty());
}
