// The lab's order service: one instance of a site's "order-svc", as the playbooks see it.
//   HTTP: GET /, /site  -> 200, X-Site: <site>, X-Instance: <id>, body "order-svc <site>/<id>"
//         POST /warmup?ms=N -> 202; starts a warmup of N ms (default 200)
//         GET /ready  -> 503 "cold"/"warming" until warmed, then 200 "ready"
//         GET /health -> 200 "ok"
//   gRPC: grpc.health.v1.Health ("" and "order.Order" SERVING; NOT_SERVING while draining)
//   SIGTERM drains: gRPC says NOT_SERVING, then both servers stop.
//   drctl-lab-order --site S --id N --port-file F   (F gets "<http port> <grpc port>")
#include <grpcpp/generic/async_generic_service.h>
#include <grpcpp/grpcpp.h>
#include <grpcpp/health_check_service_interface.h>
#include <httplib.h>
#include <signal.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <string>
#include <thread>

#include "warmup_routes.hpp"

int main(int argc, char** argv) {
  std::string site = "a", id = "1", port_file;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string flag = argv[i];
    if (flag == "--site")
      site = argv[i + 1];
    else if (flag == "--id")
      id = argv[i + 1];
    else if (flag == "--port-file")
      port_file = argv[i + 1];
  }
  if (port_file.empty()) {
    std::cerr << "usage: drctl-lab-order --site S --id N --port-file F\n";
    return 64;
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
