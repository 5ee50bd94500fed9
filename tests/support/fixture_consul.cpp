// A Consul HTTP API stand-in for tests (Consul itself is not installable here). It serves
// GET /v1/health/service/<name> in Consul's documented shape (Node, Service, Checks with
// Status, X-Consul-Index, X-Consul-KnownLeader, ...), honours ?passing, ?dc, ?filter (one
// form: Service.Tags contains "T") and X-Consul-Token, and can misbehave on demand.
//
// Its state is a JSON file re-read on every request, so a test changes it by rewriting it:
//   {"datacenter": "bantian", "token": "...", "index": 42, "mode": "normal", "delay_ms": 0,
//    "services": {"order-svc": [{"node": "bak-node-1", "id": "order-svc-1", "tags": ["v2"],
//                                "address": "127.0.0.1", "port": 9090,
//                                "checks": {"serfHealth": "passing", "service:order-svc-1":
//                                "passing"}}]}}
// mode: normal | error500 | notjson | truncated | bad_shape | ignore_passing (answers critical
// instances despite ?passing) | acl_filtered (adds X-Consul-Results-Filtered-By-ACLs: true)
#include <httplib.h>

#include <chrono>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <regex>
#include <thread>

using nlohmann::json;

namespace {

json instance_json(const json& instance, const std::string& service, const std::string& dc) {
  const std::string node = instance.value("node", "node");
  const std::string id = instance.value("id", service);
  const std::string address = instance.value("address", "10.2.0.11");
  json checks = json::array();
  int index = 12;
  const json instance_checks =
      instance.value("checks", json::object());  // a named copy: items() must not outlive it
  for (const auto& [check_id, status] : instance_checks.items()) {
    bool node_check = check_id == "serfHealth" || check_id.rfind("_node_", 0) == 0;
    checks.push_back(
        {{"Node", node},
         {"CheckID", check_id},
         {"Name", check_id == "serfHealth" ? "Serf Health Status" : "check " + check_id},
         {"Status", status},
         {"Notes", ""},
         {"Output", status == "passing" ? "ok" : "failing"},
         {"ServiceID", node_check ? "" : id},
         {"ServiceName", node_check ? "" : service},
         {"ServiceTags", json::array()},
         {"Type", node_check ? "" : "grpc"},
         {"Interval", "10s"},
         {"Timeout", "5s"},
         {"ExposedPort", 0},
         {"Definition", json::object()},
         {"CreateIndex", index},
         {"ModifyIndex", index + 20}});
    ++index;
  }
  return {
      {"Node",
       {{"ID", "6f8c6f8e-0b3a-4c7e-9a5b-" +
                   std::string(12 - std::min<std::size_t>(12, node.size()), '0') +
                   node.substr(0, 12)},
        {"Node", node},
        {"Address", address},
        {"Datacenter", dc},
        {"TaggedAddresses", {{"lan", address}, {"wan", address}}},
        {"Meta", {{"consul-network-segment", ""}}},
        {"CreateIndex", 12},
        {"ModifyIndex", 40}}},
      {"Service",
       {{"ID", id},
        {"Service", service},
        {"Tags", instance.value("tags", json::array())},
        {"Address", address},
        {"Port", instance.value("port", 9090)},
        {"Meta", {{"site", dc}}},
        {"Weights", {{"Passing", 1}, {"Warning", 1}}},
        {"EnableTagOverride", false},
        {"Proxy", {{"Mode", ""}, {"MeshGateway", json::object()}, {"Expose", json::object()}}},
        {"Connect", json::object()},
        {"PeerName", ""},
        {"CreateIndex", 30},
        {"ModifyIndex", 30}}},
      {"Checks", checks},
  };
}

bool all_passing(const json& instance) {
  const json checks = instance.value("checks", json::object());
  for (const auto& [id, status] : checks.items()) {
    if (status != "passing") return false;
  }
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 4) {
    std::cerr << "usage: drctl-fixture-consul STATE.json PORT_FILE LIFETIME_S\n";
    return 64;
  }
  const std::string state_path = argv[1];
  const std::string port_file = argv[2];
  const int lifetime_s = std::atoi(argv[3]);
  httplib::Server server;
  server.Get(R"(/v1/health/service/([^/?]+))", [&](const httplib::Request& req,
                                                   httplib::Response& res) {
    json state;
    try {
      std::ifstream in(state_path);
      state = json::parse(in);
    } catch (const std::exception& e) {
      res.status = 500;
      res.set_content(std::string("fixture state unreadable: ") + e.what(), "text/plain");
      return;
    }
    if (int delay = state.value("delay_ms", 0); delay > 0)
      std::this_thread::sleep_for(std::chrono::milliseconds(delay));
    const std::string dc = state.value("datacenter", "dc1");
    res.set_header("X-Consul-Index", std::to_string(state.value("index", 1)));
    res.set_header("X-Consul-KnownLeader", "true");
    res.set_header("X-Consul-LastContact", "0");
    res.set_header("X-Consul-Effective-Consistency", "leader");
    const std::string token = state.value("token", "");
    std::string sent = req.get_header_value("X-Consul-Token");
    if (sent.empty() && req.has_param("token")) sent = req.get_param_value("token");
    if (!token.empty() && sent != token) {
      res.status = 403;
      res.set_content(
          sent.empty()
              ? "Permission denied: anonymous token lacks permission 'service:read' on \"" +
                    std::string(req.matches[1]) + "\""
              : "ACL not found",
          "text/plain");
      return;
    }
    if (req.has_param("dc") && req.get_param_value("dc") != dc) {
      res.status = 500;
      res.set_content("No path to datacenter", "text/plain");
      return;
    }
    const std::string mode = state.value("mode", "normal");
    if (mode == "error500") {
      res.status = 500;
      res.set_content("No cluster leader", "text/plain");
      return;
    }
    if (mode == "bad_shape") {  // valid JSON, wrong shape: an element without Checks
      res.set_content(
          R"([{"Node": {"Node": "bak-node-1"}, "Service": {"ID": "order-svc-1", "Service": "order-svc"}}])",
          "application/json");
      return;
    }
    if (mode == "notjson") {
      res.set_content("<html><body>502 Bad Gateway</body></html>", "text/html");
      return;
    }
    std::string tag_filter;
    if (req.has_param("filter")) {
      std::smatch m;
      std::string filter = req.get_param_value("filter");
      if (!std::regex_match(filter, m, std::regex(R"re(Service\.Tags contains "([^"]*)")re"))) {
        res.status = 400;
        res.set_content("Failed to create boolexpr evaluator for expression: " + filter,
                        "text/plain");
        return;
      }
      tag_filter = m[1];
    }
    const std::string service = req.matches[1];
    json out = json::array();
    const json instances = state["services"].value(service, json::array());
    for (const auto& instance : instances) {
      if (req.has_param("passing") && mode != "ignore_passing" && !all_passing(instance)) continue;
      if (!tag_filter.empty()) {
        auto tags = instance.value("tags", json::array());
        if (std::find(tags.begin(), tags.end(), tag_filter) == tags.end()) continue;
      }
      out.push_back(instance_json(instance, service, dc));
    }
    if (mode == "acl_filtered") res.set_header("X-Consul-Results-Filtered-By-ACLs", "true");
    std::string body = out.dump();
    if (mode == "truncated") body = body.substr(0, body.size() / 2);
    res.set_content(body, "application/json");
  });
  int port = server.bind_to_any_port("127.0.0.1");
  if (port <= 0) return 1;
  std::ofstream(port_file + ".tmp") << port << "\n";
  std::rename((port_file + ".tmp").c_str(), port_file.c_str());
  std::thread([&] {
    std::this_thread::sleep_for(std::chrono::seconds(lifetime_s));
    server.stop();
  }).detach();
  server.listen_after_bind();
  return 0;
}
