#include "connection_reaper.hpp"

#include <dirent.h>
#include <netdb.h>

#include <algorithm>
#include <cstdlib>
#include <optional>

namespace drctl {
namespace {

struct Peer {
  std::string address;
  int port = 0;
};

int local_port(int fd) {
  sockaddr_storage addr{};
  socklen_t len = sizeof addr;
  if (::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) return -1;
  if (addr.ss_family == AF_INET) return ntohs(reinterpret_cast<sockaddr_in*>(&addr)->sin_port);
  if (addr.ss_family == AF_INET6) return ntohs(reinterpret_cast<sockaddr_in6*>(&addr)->sin6_port);
  return -1;
}

// The peer as cpp-httplib spells it (getnameinfo, numeric), so request_read can find it.
std::optional<Peer> peer_of(int fd) {
  sockaddr_storage addr{};
  socklen_t len = sizeof addr;
  if (::getpeername(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) return std::nullopt;
  char host[NI_MAXHOST];
  char port[NI_MAXSERV];
  if (::getnameinfo(reinterpret_cast<sockaddr*>(&addr), len, host, sizeof host, port, sizeof port,
                    NI_NUMERICHOST | NI_NUMERICSERV) != 0)
    return std::nullopt;
  return Peer{host, std::atoi(port)};
}

bool is_listening(int fd) {
  int listening = 0;
  socklen_t len = sizeof listening;
  return ::getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &len) == 0 && listening != 0;
}

}  // namespace

ConnectionReaper::ConnectionReaper(std::chrono::milliseconds request_timeout, std::size_t max_open)
    : m_request_timeout(request_timeout), m_max_open(max_open) {
  m_thread = std::thread([this] { reap_loop(); });
}

ConnectionReaper::~ConnectionReaper() {
  {
    std::lock_guard lock(m_mutex);
    m_stopping = true;
  }
  m_wake.notify_all();
  m_thread.join();
}

void ConnectionReaper::set_port(int port) {
  std::lock_guard lock(m_mutex);
  m_port = port;
}

bool ConnectionReaper::still_ours(const Connection& connection) const {
  auto peer = peer_of(connection.fd);
  return peer && local_port(connection.fd) == m_port && peer->port == connection.port &&
         peer->address == connection.address;
}

void ConnectionReaper::cut(Connection& connection) {
  // Checked under the lock: a descriptor closed by its worker and reused by anything else (a
  // check's own socket) has another local port or peer, and is left alone.
  if (!connection.cut && still_ours(connection)) ::shutdown(connection.fd, SHUT_RDWR);
  connection.cut = true;
}

int ConnectionReaper::adopt() {
  // Descriptors can be opened and closed by other threads meanwhile, so the new one is found by
  // what it is: a connected socket on the server's port, not tracked yet (or tracked with
  // another peer: its number was reused).
  std::lock_guard lock(m_mutex);
  DIR* dir = ::opendir("/proc/self/fd");
  if (dir == nullptr) return -1;
  const int own = ::dirfd(dir);
  int adopted = -1;
  while (dirent* entry = ::readdir(dir)) {
    char* end = nullptr;
    const long fd = std::strtol(entry->d_name, &end, 10);
    if (end == entry->d_name || *end != '\0' || fd == own) continue;
    if (local_port(static_cast<int>(fd)) != m_port || is_listening(static_cast<int>(fd))) continue;
    auto peer = peer_of(static_cast<int>(fd));
    if (!peer) continue;
    auto known = std::find_if(m_connections.begin(), m_connections.end(),
                              [&](const Connection& c) { return c.fd == fd; });
    if (known != m_connections.end() && known->port == peer->port &&
        known->address == peer->address)
      continue;
    if (known != m_connections.end()) m_connections.erase(known);
    m_connections.push_back(Connection{static_cast<int>(fd), peer->address, peer->port,
                                       Clock::now() + m_request_timeout, false});
    adopted = static_cast<int>(fd);
    // Beyond the bound: cut at once; its worker reads nothing and closes it.
    if (m_connections.size() > m_max_open) cut(m_connections.back());
  }
  ::closedir(dir);
  m_wake.notify_all();
  return adopted;
}

void ConnectionReaper::forget(int fd) {
  std::lock_guard lock(m_mutex);
  m_connections.erase(std::remove_if(m_connections.begin(), m_connections.end(),
                                     [&](const Connection& c) { return c.fd == fd; }),
                      m_connections.end());
}

void ConnectionReaper::request_read(const std::string& peer_address, int peer_port) {
  std::lock_guard lock(m_mutex);
  for (auto& connection : m_connections)
    if (connection.port == peer_port && connection.address == peer_address)
      connection.deadline = Clock::now() + m_request_timeout;
}

void ConnectionReaper::cut_all() {
  std::lock_guard lock(m_mutex);
  for (auto& connection : m_connections) cut(connection);
}

void ConnectionReaper::reap_loop() {
  std::unique_lock lock(m_mutex);
  while (!m_stopping) {
    const auto now = Clock::now();
    auto next = now + m_request_timeout;
    for (auto& connection : m_connections) {
      if (connection.cut) continue;
      if (connection.deadline <= now)
        cut(connection);
      else
        next = std::min(next, connection.deadline);
    }
    // A connection whose worker ended without a forget() (its adopt() found another one) is
    // closed by now: nothing left to cut.
    m_connections.erase(std::remove_if(m_connections.begin(), m_connections.end(),
                                       [&](const Connection& c) {
                                         return c.cut && c.deadline <= now && !still_ours(c);
                                       }),
                        m_connections.end());
    m_wake.wait_until(lock, next);
  }
}

}  // namespace drctl
