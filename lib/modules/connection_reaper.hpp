#pragma once
// The embedded HTTP server's client connections, each with a deadline for its request. cpp-
// httplib times out each read and write, not a whole request, and serves one connection in one
// worker until it ends: a client that trickles a header line every few seconds would hold a
// worker for ever. The reaper cuts (shutdown(2)) a connection whose request is not done by its
// deadline, refuses connections beyond a bound while every worker is busy, and cuts every
// connection when the server stops.
#include <netinet/in.h>
#include <sys/socket.h>

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace drctl {

class ConnectionReaper {
 public:
  using Clock = std::chrono::steady_clock;

  // request_timeout: from the connection's start, or its previous request's, to the end of the
  // next request's answer. max_open: connections served or waiting; more are cut at once.
  ConnectionReaper(std::chrono::milliseconds request_timeout, std::size_t max_open);
  ~ConnectionReaper();
  ConnectionReaper(const ConnectionReaper&) = delete;
  ConnectionReaper& operator=(const ConnectionReaper&) = delete;

  // The port the server listens on: its accepted sockets are the ones with this local port.
  void set_port(int port);
  // Called on the accepting thread right after accept(2): finds the new connection (a socket
  // on the server's port not yet tracked) and tracks it. Its descriptor, or -1.
  int adopt();
  // The connection's worker is done with it (and closed it).
  void forget(int fd);
  // A request from this peer was read: its deadline starts again.
  void request_read(const std::string& peer_address, int peer_port);
  // Cuts every connection (the server is stopping).
  void cut_all();

 private:
  struct Connection {
    int fd = -1;
    std::string address;  // as cpp-httplib's Request::remote_addr spells it
    int port = 0;
    Clock::time_point deadline;
    bool cut = false;
  };
  bool still_ours(const Connection& connection) const;  // the fd was not closed and reused
  void cut(Connection& connection);
  void reap_loop();

  const std::chrono::milliseconds m_request_timeout;
  const std::size_t m_max_open;
  int m_port = 0;
  mutable std::mutex m_mutex;
  std::condition_variable m_wake;
  std::vector<Connection> m_connections;
  bool m_stopping = false;
  std::thread m_thread;
};

}  // namespace drctl
