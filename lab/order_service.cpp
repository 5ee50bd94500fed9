// The lab's order service: one instance of a site's "order-svc", as the playbooks see it.
//   HTTP: GET /, /site  -> 200, X-Site: <site>, X-Instance: <id>, body "order-svc <site>/<id>"
//         POST /warmup?ms=N -> 202; starts a warmup of N ms (default 200)
//         GET /ready  -> 503 "cold"/"warming" until warmed, then 200 "ready"
//         GET /health -> 200 "ok"
//         POST /orders {"key": K, "seq": N} (or the key in an Idempotency-Key header): writes a
//           row to lab.orders in its own site's MariaDB, so a drill can count lost writes.
//           201 {"key","seq","site","id"} once the INSERT committed; 200, same shape, the first
//           row's values, when K is there already (a replay); 503 {"error": "read_only"} when the
//           database is a read-only replica, {"error": "database_unreachable"} when it does not
//           answer (within ~2 s), {"error": "no_database"} without --db-port; 504
//           {"error": "outcome_unknown"} when the INSERT was sent and its answer lost (it may have
//           committed: a write probe counts it as unknown, never failed); 400 for a bad body
//           (K: 1-100 of A-Z a-z 0-9 . _ : -; N an integer).
//         GET /orders/K -> 200 {"key","count","site","seqs"} (count > 1: a failover duplicated
//           it), 404 {"key","count": 0}, 503 as above.
//   gRPC: grpc.health.v1.Health ("" and "order.Order" SERVING; NOT_SERVING while draining)
//   SIGTERM drains: gRPC says NOT_SERVING, then both servers stop.
//   drctl-lab-order --site S --id N --port-file F   (F gets "<http port> <grpc port>")
//                   [--db-port P --db-user U --db-password-file F [--db-host H (127.0.0.1)]]
#include <grpcpp/generic/async_generic_service.h>
#include <grpcpp/grpcpp.h>
#include <grpcpp/health_check_service_interface.h>
#include <httplib.h>
#include <signal.h>

#include <atomic>
#include <cctype>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <iterator>
#include <limits>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>

#include "order_store.hpp"
#include "warmup_routes.hpp"

namespace {

using nlohmann::json;

bool valid_key(const std::string& key) {
  if (key.empty() || key.size() > 100) return false;
  for (unsigned char c : key) {
    if (!std::isalnum(c) && c != '.' && c != '_' && c != ':' && c != '-') return false;
  }
  return true;
}

void answer(httplib::Response& res, int status, const json& body) {
  res.status = status;
  // replace: the connector's messages are not promised to be UTF-8
  res.set_content(body.dump(-1, ' ', false, json::error_handler_t::replace) + "\n",
                  "application/json");
}

void answer_failure(httplib::Response& res, const OrderStore& store, const std::string& site,
                    const StoreFailure& failure) {
  switch (failure.kind) {
    case StoreFailure::Kind::read_only:
      answer(res, 503,
             {{"error", "read_only"},
              {"message", "site " + site + "'s database is read-only (not the primary)"}});
      break;
    case StoreFailure::Kind::unreachable:
      answer(res, 503,
             {{"error", "database_unreachable"},
              {"message", "site " + site + "'s database at " + store.address() +
                              " does not answer: " + failure.message}});
      break;
    case StoreFailure::Kind::unknown:
      // As a gateway that lost its upstream mid-request: the write may have committed.
      answer(res, 504,
             {{"error", "outcome_unknown"},
              {"message", "site " + site + "'s database took the order and gave no answer: " +
                              failure.message + " (it may be committed)"}});
      break;
    case StoreFailure::Kind::failed:
      answer(res, 500,
             {{"error", "database_error"},
              {"message", "site " + site + "'s database: error " + std::to_string(failure.code) +
                              ": " + failure.message}});
  }
}

void add_order_routes(httplib::Server& http, std::shared_ptr<OrderStore> store,
                      const std::string& site, const std::string& id) {
  auto no_database = [](httplib::Response& res) {
    answer(res, 503, {{"error", "no_database"}, {"message", "no database configured"}});
  };
  http.Post("/orders", [=](const httplib::Request& req, httplib::Response& res) {
    res.set_header("X-Site", site);  // which instance answered, as GET / says
    res.set_header("X-Instance", id);
    if (!store) return no_database(res);
    json body = json::parse(req.body, nullptr, false);
    auto bad = [&](const std::string& message) {
      answer(res, 400, {{"error", "bad_request"}, {"message", message}});
    };
    if (body.is_discarded() || !body.is_object()) return bad("the body is not a JSON object");
    std::string key;
    if (body.contains("key")) {
      if (!body["key"].is_string()) return bad("key: not a string");
      key = body["key"].get<std::string>();
    } else {
      key = req.get_header_value("Idempotency-Key");
    }
    if (!valid_key(key)) return bad("key (or Idempotency-Key): 1-100 of A-Z a-z 0-9 . _ : -");
    const json& seq = body.contains("seq") ? body["seq"] : json();
    if (!seq.is_number_integer() ||
        (seq.is_number_unsigned() &&
         seq.get<unsigned long long>() > std::numeric_limits<long long>::max()))
      return bad("seq: an integer");
    auto placed = store->place(key, seq.get<long long>());
    if (!placed) return answer_failure(res, *store, site, placed.error());
    answer(res, placed->created ? 201 : 200,
           {{"key", key},
            {"seq", placed->row.seq},
            {"site", placed->row.site},
            {"id", placed->row.id}});
  });
  http.Get(R"(/orders/(.+))", [=](const httplib::Request& req, httplib::Response& res) {
    res.set_header("X-Site", site);  // which instance answered, as GET / says
    res.set_header("X-Instance", id);
    if (!store) return no_database(res);
    std::string key = req.matches[1];
    if (!valid_key(key))
      return answer(res, 400,
                    {{"error", "bad_request"}, {"message", "key: 1-100 of A-Z a-z 0-9 . _ : -"}});
    auto rows = store->find(key);
    if (!rows) return answer_failure(res, *store, site, rows.error());
    if (rows->empty()) return answer(res, 404, {{"key", key}, {"count", 0}});
    json seqs = json::array();
    for (const auto& row : *rows) seqs.push_back(row.seq);
    answer(res, 200, {{"key", key}, {"count", rows->size()}, {"site", site}, {"seqs", seqs}});
  });
}

}  // namespace

int main(int argc, char** argv) {
  std::string site = "a", id = "1", port_file, db_password_file;
  DbTarget db;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string flag = argv[i];
    if (flag == "--site")
      site = argv[i + 1];
    else if (flag == "--id")
      id = argv[i + 1];
    else if (flag == "--port-file")
      port_file = argv[i + 1];
    else if (flag == "--db-host")
      db.host = argv[i + 1];
    else if (flag == "--db-port")
      db.port = std::atoi(argv[i + 1]);
    else if (flag == "--db-user")
      db.user = argv[i + 1];
    else if (flag == "--db-password-file")
      db_password_file = argv[i + 1];
  }
  if (port_file.empty() || (db.port != 0 && (db.user.empty() || db_password_file.empty()))) {
    std::cerr << "usage: drctl-lab-order --site S --id N --port-file F\n"
                 "         [--db-port P --db-user U --db-password-file F [--db-host H]]\n";
    return 64;
  }
  std::shared_ptr<OrderStore> store;
  if (db.port != 0) {
    std::ifstream in(db_password_file);
    if (!in) {
      std::cerr << "drctl-lab-order: cannot read the password file " << db_password_file << "\n";
      return 66;
    }
    db.password.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    while (!db.password.empty() && (db.password.back() == '\n' || db.password.back() == '\r'))
      db.password.pop_back();
    std::cerr << "orders: site " << site << "'s database is " << db.host << ":" << db.port
              << " (user " << db.user << ")\n";
    store = std::make_shared<OrderStore>(db, site);
    // A write to a server that died must fail with EPIPE, not end the process.
    signal(SIGPIPE, SIG_IGN);
  }

  // SIGTERM: say NOT_SERVING first (as a draining service does), then stop. Blocked before any
  // thread starts, so every thread inherits the mask and only the stopper receives it.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  grpc::EnableDefaultHealthCheckService(true);
  grpc::ServerBuilder builder;
  // The builder refuses a server without a service of its own; a generic one answers every
  // method but the health service with UNIMPLEMENTED, as a real service without them would.
  grpc::CallbackGenericService generic;
  builder.RegisterCallbackGenericService(&generic);
  int grpc_port = 0;
  builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &grpc_port);
  auto grpc_server = builder.BuildAndStart();
  if (!grpc_server || grpc_port == 0) return 1;
  auto* health = grpc_server->GetHealthCheckService();
  health->SetServingStatus("", true);
  health->SetServingStatus("order.Order", true);

  httplib::Server http;
  // Go's net/http (what the order service stands for) sets TCP_NODELAY; without it nginx's
  // kept-alive upstream connections met Nagle's algorithm and a 40 ms delayed ACK.
  http.set_tcp_nodelay(true);
  auto hello = [&](const httplib::Request&, httplib::Response& res) {
    res.set_header("X-Site", site);
    res.set_header("X-Instance", id);
    res.set_content("order-svc " + site + "/" + id + "\n", "text/plain");
  };
  http.Get("/", hello);
  http.Get("/site", hello);
  http.Get("/health", [](const httplib::Request&, httplib::Response& res) {
    res.set_content("ok\n", "text/plain");
  });
  add_warmup_routes(http, 200);
  add_order_routes(http, store, site, id);
  int http_port = http.bind_to_any_port("127.0.0.1");
  if (http_port <= 0) return 1;
  {
    std::ofstream out(port_file + ".tmp");
    out << http_port << " " << grpc_port << "\n";
  }
  std::rename((port_file + ".tmp").c_str(), port_file.c_str());

  std::thread stopper([&] {
    int signal = 0;
    sigwait(&stop_signals, &signal);
    health->SetServingStatus("", false);
    health->SetServingStatus("order.Order", false);
    http.stop();
  });
  http.listen_after_bind();
  grpc_server->Shutdown(std::chrono::system_clock::now() + std::chrono::milliseconds(500));
  stopper.join();
  return 0;
}
