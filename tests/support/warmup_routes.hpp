#pragma once
// POST /warmup?ms=N and GET /ready, as a service that needs warming behaves: /ready answers
// 503 "cold" before any warmup, 503 "warming" for N ms after one (default `default_ms`), then
// 200 "ready". Shared by the test fixture and the lab's order service.
#include <httplib.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <memory>

inline void add_warmup_routes(httplib::Server& server, long long default_ms) {
  auto ready_at =
      std::make_shared<std::atomic<long long>>(-1);  // steady-clock ms; -1: never warmed
  auto now_ms = [] {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::steady_clock::now().time_since_epoch())
        .count();
  };
  server.Post("/warmup", [ready_at, now_ms, default_ms](const httplib::Request& req,
                                                        httplib::Response& res) {
    long long ms = req.has_param("ms") ? std::atoll(req.get_param_value("ms").c_str()) : default_ms;
    *ready_at = now_ms() + ms;
    res.status = 202;
    res.set_content("warming\n", "text/plain");
  });
  server.Get("/ready", [ready_at, now_ms](const httplib::Request&, httplib::Response& res) {
    long long at = *ready_at;
    bool ready = at >= 0 && now_ms() >= at;
    res.status = ready ? 200 : 503;
    res.set_content(ready ? "ready\n" : at < 0 ? "cold\n" : "warming\n", "text/plain");
  });
}
