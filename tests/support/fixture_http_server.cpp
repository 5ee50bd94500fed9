// A real HTTP server on 127.0.0.1 for tests and the demo. Binds a free port and writes it to
// --port-file; exits by itself after --lifetime seconds so a failed test cannot leak it.
//   /status/<code>       answers that status
//   /delay/<ms>          answers 200 after a delay
//   /site                answers 200 with X-Site: <--site> and body "site=<--site>"
//   /echo-header/<name>  answers the request header's value (secret-leak tests)
//   /counter             answers 503 for the first --fail-first requests, then 200
//   /health              answers 200 "ok"
//   POST /warmup?ms=N    starts a warmup that takes N ms (default 300); GET /ready answers
//                        503 "warming" (or "cold" before any warmup) until it is done, then 200
//                        "ready"
#include <httplib.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <string>
#include <thread>

#include "warmup_routes.hpp"

int main(int argc, char** argv) {
  std::string port_file;
  std::string site = "a";
  int lifetime_s = 600;
  int fail_first = 0;
  for (int i = 1; i < argc; i += 2) {
    std::string flag = argv[i];
    if (i + 1 >= argc) flag = "?";  // a flag without its value
    if (flag == "--port-file")
      port_file = argv[i + 1];
    else if (flag == "--site")
      site = argv[i + 1];
    else if (flag == "--lifetime")
      lifetime_s = std::atoi(argv[i + 1]);
    else if (flag == "--fail-first")
      fail_first = std::atoi(argv[i + 1]);
    else {
      std::cerr << "usage: drctl-fixture-http --port-file F [--site NAME] [--lifetime S] "
                   "[--fail-first N]\n";
      return 64;
    }
  }
  httplib::Server server;
  // As Go's net/http does: without it a response written in two parts waits for a delayed ACK.
  server.set_tcp_nodelay(true);
  // nginx's keepalive_requests default (cpp-httplib closes after 5): probes reuse connections.
  server.set_keep_alive_max_count(1000);
  std::atomic<int> counter{0};
  server.Get(R"(/status/(\d+))", [](const httplib::Request& req, httplib::Response& res) {
    res.status = std::stoi(req.matches[1]);
    res.set_content("status " + std::string(req.matches[1]) + "\n", "text/plain");
  });
  server.Get(R"(/delay/(\d+))", [](const httplib::Request& req, httplib::Response& res) {
    std::this_thread::sleep_for(std::chrono::milliseconds(std::stoi(req.matches[1])));
    res.set_content("slept\n", "text/plain");
  });
  server.Get("/site", [&](const httplib::Request&, httplib::Response& res) {
    res.set_header("X-Site", site);
    res.set_content("site=" + site + "\n", "text/plain");
  });
  server.Get(
      R"(/echo-header/([A-Za-z0-9-]+))", [](const httplib::Request& req, httplib::Response& res) {
        res.set_content("header=" + req.get_header_value(req.matches[1]) + "\n", "text/plain");
      });
  server.Get("/counter", [&](const httplib::Request&, httplib::Response& res) {
    int n = ++counter;
    res.status = n <= fail_first ? 503 : 200;
    res.set_content("request " + std::to_string(n) + "\n", "text/plain");
  });
  server.Get("/health", [](const httplib::Request&, httplib::Response& res) {
    res.set_content("ok\n", "text/plain");
  });
  add_warmup_routes(server, 300);
  server.Post("/echo", [](const httplib::Request& req, httplib::Response& res) {
    res.set_content(req.body, "text/plain");
  });
  // What a write probe's verify_url reads back: every key is present once.
  server.Get(R"(/found/([A-Za-z0-9._:-]+))",
             [](const httplib::Request& req, httplib::Response& res) {
               res.set_content(R"({"key": ")" + std::string(req.matches[1]) + R"(", "count": 1})",
                               "application/json");
             });

  int port = server.bind_to_any_port("127.0.0.1");
  if (port <= 0) {
    std::cerr << "drctl-fixture-http: cannot bind\n";
    return 1;
  }
  if (!port_file.empty()) {
    std::ofstream(port_file + ".tmp") << port << "\n";
    std::rename((port_file + ".tmp").c_str(), port_file.c_str());
  }
  std::thread stopper([&] {
    std::this_thread::sleep_for(std::chrono::seconds(lifetime_s));
    server.stop();
  });
  stopper.detach();
  server.listen_after_bind();
  return 0;
}
