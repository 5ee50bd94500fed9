// A TCP proxy that holds every byte for a fixed one-way delay in each direction: a modelled
// inter-site round trip (2 x delay) for benchmarks, where this kernel has no netem.
//   drctl-delay-proxy PORT_FILE UPSTREAM_PORT DELAY_MS LIFETIME_S   (listens on 127.0.0.1)
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <fstream>
#include <mutex>
#include <string>
#include <thread>

using Clock = std::chrono::steady_clock;

namespace {

// One direction: a reader stamps each chunk, a writer sends it once its delay has passed.
void pump(int from, int to, std::chrono::milliseconds delay) {
  std::mutex mutex;
  std::condition_variable ready;
  std::deque<std::pair<Clock::time_point, std::string>> queue;
  bool closed = false;
  std::thread writer([&] {
    std::unique_lock lock(mutex);
    while (true) {
      ready.wait(lock, [&] { return closed || !queue.empty(); });
      if (queue.empty()) break;
      auto [due, data] = queue.front();
      queue.pop_front();
      lock.unlock();
      std::this_thread::sleep_until(due);
      for (std::size_t sent = 0; sent < data.size();) {
        ssize_t n = ::send(to, data.data() + sent, data.size() - sent, MSG_NOSIGNAL);
        if (n <= 0) break;
        sent += static_cast<std::size_t>(n);
      }
      lock.lock();
    }
    ::shutdown(to, SHUT_WR);
  });
  char buffer[65536];
  while (true) {
    ssize_t n = ::recv(from, buffer, sizeof buffer, 0);
    if (n <= 0) break;
    std::lock_guard lock(mutex);
    queue.emplace_back(Clock::now() + delay, std::string(buffer, static_cast<std::size_t>(n)));
    ready.notify_one();
  }
  {
    std::lock_guard lock(mutex);
    closed = true;
  }
  ready.notify_one();
  writer.join();
}

int connect_upstream(int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<uint16_t>(port));
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 5) {
    std::fprintf(stderr, "usage: drctl-delay-proxy PORT_FILE UPSTREAM_PORT DELAY_MS LIFETIME_S\n");
    return 64;
  }
  int upstream = std::atoi(argv[2]);
  std::chrono::milliseconds delay(std::atoi(argv[3]));
  int listener = ::socket(AF_INET, SOCK_STREAM, 0);
  int one = 1;
  ::setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::bind(listener, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 ||
      ::listen(listener, 256) != 0)
    return 1;
  socklen_t length = sizeof address;
  ::getsockname(listener, reinterpret_cast<sockaddr*>(&address), &length);
  {
    std::ofstream out(std::string(argv[1]) + ".tmp");
    out << ntohs(address.sin_port) << "\n";
  }
  std::rename((std::string(argv[1]) + ".tmp").c_str(), argv[1]);
  std::thread([lifetime = std::atoi(argv[4])] {
    std::this_thread::sleep_for(std::chrono::seconds(lifetime));
    std::_Exit(0);
  }).detach();
  while (true) {
    int client = ::accept(listener, nullptr, nullptr);
    if (client < 0) continue;
    std::thread([client, upstream, delay, one] {
      std::this_thread::sleep_for(delay);  // the SYN's trip to the far site
      int server = connect_upstream(upstream);
      if (server < 0) {
        ::close(client);
        return;
      }
      ::setsockopt(client, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
      ::setsockopt(server, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
      std::thread back([&] { pump(server, client, delay); });
      pump(client, server, delay);
      back.join();
      ::close(client);
      ::close(server);
    }).detach();
  }
}
