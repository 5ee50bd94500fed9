// A real gRPC server with the default grpc.health.v1 service, for tests. Serving statuses
// come from a file of "<service> SERVING|NOT_SERVING" lines, re-read every 50 ms.
//   drctl-fixture-grpc --port-file F [--status-file S] [--no-health | --hang] [--cert C --key K]
//   [--lifetime N]
// --hang: every call (Health/Check included) is accepted and never answered: an RPC deadline.
#include <grpcpp/generic/async_generic_service.h>
#include <grpcpp/grpcpp.h>
#include <grpcpp/health_check_service_interface.h>

#include <atomic>
#include <chrono>
#include <fstream>
#include <iostream>
#include <sstream>
#include <thread>

namespace {
std::string read_all(const std::string& path) {
  std::ifstream in(path);
  std::stringstream b;
  b << in.rdbuf();
  return b.str();
}
// Accepts every call and never answers it (until the client gives up).
class HangingService : public grpc::CallbackGenericService {
  grpc::ServerGenericBidiReactor* CreateReactor(grpc::GenericCallbackServerContext*) override {
    class Hang : public grpc::ServerGenericBidiReactor {
      void OnCancel() override { Finish(grpc::Status::CANCELLED); }
      void OnDone() override { delete this; }
    };
    return new Hang;
  }
};
}  // namespace

int main(int argc, char** argv) {
  std::string port_file, status_file, cert, key;
  bool health = true, hang = false;
  int lifetime_s = 600;
  int listeners = 1;  // --listeners N: N ports, one per line in the port file (fan-out benchmarks)
  for (int i = 1; i < argc; ++i) {
    std::string flag = argv[i];
    auto value = [&]() -> std::string { return i + 1 < argc ? argv[++i] : ""; };
    if (flag == "--port-file")
      port_file = value();
    else if (flag == "--status-file")
      status_file = value();
    else if (flag == "--cert")
      cert = value();
    else if (flag == "--key")
      key = value();
    else if (flag == "--lifetime")
      lifetime_s = std::atoi(value().c_str());
    else if (flag == "--no-health")
      health = false;
    else if (flag == "--hang")
      health = false, hang = true;
    else if (flag == "--listeners")
      listeners = std::max(1, std::atoi(value().c_str()));
    else {
      std::cerr << "usage: drctl-fixture-grpc --port-file F [--status-file S] [--no-health] "
                   "[--cert C --key K]\n";
      return 64;
    }
  }
  grpc::EnableDefaultHealthCheckService(health);
  grpc::ServerBuilder builder;
  // The builder refuses a server without services; a generic one answers every other method
  // (and Health/Check under --no-health) with UNIMPLEMENTED, as a real server would.
  grpc::CallbackGenericService generic;
  HangingService hanging;
  builder.RegisterCallbackGenericService(hang ? &hanging : &generic);
  std::shared_ptr<grpc::ServerCredentials> credentials = grpc::InsecureServerCredentials();
  if (!cert.empty()) {
    grpc::SslServerCredentialsOptions options;
    options.pem_key_cert_pairs.push_back({read_all(key), read_all(cert)});
    credentials = grpc::SslServerCredentials(options);
  }
  std::vector<int> ports(listeners, 0);
  for (auto& port : ports) builder.AddListeningPort("127.0.0.1:0", credentials, &port);
  auto server = builder.BuildAndStart();
  if (!server || ports.front() == 0) return 1;
  {
    std::ofstream out(port_file + ".tmp");
    for (int port : ports) out << port << "\n";
  }
  std::rename((port_file + ".tmp").c_str(), port_file.c_str());

  std::atomic<bool> stop{false};
  std::thread watcher([&] {
    auto until = std::chrono::steady_clock::now() + std::chrono::seconds(lifetime_s);
    while (!stop && std::chrono::steady_clock::now() < until) {
      if (health && !status_file.empty()) {
        std::istringstream lines(read_all(status_file));
        std::string service, status;
        while (lines >> service >> status) {
          if (service == "-") service = "";
          server->GetHealthCheckService()->SetServingStatus(service, status == "SERVING");
        }
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    server->Shutdown();
  });
  server->Wait();
  stop = true;
  watcher.join();
  return 0;
}
