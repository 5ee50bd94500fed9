#include "clients/plain_http.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <future>
#include <memory>
#include <system_error>
#include <thread>
#include <vector>

#include "clients/http_wire.hpp"
#include "util/clock.hpp"

namespace drctl {
namespace {

using Clock = std::chrono::steady_clock;

std::string errno_text(int error) {
  return std::error_code(error, std::generic_category()).message();
}

bool proxy_in_environment() {
  for (const char* name : {"http_proxy", "HTTP_PROXY", "all_proxy", "ALL_PROXY"}) {
    const char* value = std::getenv(name);
    if (value != nullptr && value[0] != '\0') return true;
  }
  return false;
}

// Waits until `fd` is ready for `events`; false once `deadline` has passed.
bool wait_for(int fd, short events, Deadline deadline) {
  while (true) {
    const auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - Clock::now()).count();
    if (left <= 0) return false;
    pollfd ready{fd, events, 0};
    const int n = ::poll(&ready, 1, static_cast<int>(std::min<long long>(left, INT_MAX)));
    if (n > 0 || (n < 0 && errno != EINTR)) return true;  // the next call reports an error
  }
}

HttpError timed_out(long timeout_ms, std::string_view what) {
  return {HttpError::Class::timeout, fmt::format("timed out after {} ms: {}", timeout_ms, what)};
}

struct Address {
  sockaddr_storage storage{};
  socklen_t length = 0;
  int family = AF_UNSPEC;
};
using Lookup = tl::expected<std::vector<Address>, std::string>;

Lookup look_up(const std::string& host, const std::string& port, int flags) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_NUMERICSERV | flags;
  addrinfo* found = nullptr;
  if (int rc = ::getaddrinfo(host.c_str(), port.c_str(), &hints, &found); rc != 0)
    return tl::unexpected(std::string(::gai_strerror(rc)));
  std::unique_ptr<addrinfo, decltype(&::freeaddrinfo)> owned(found, ::freeaddrinfo);
  std::vector<Address> out;
  for (const addrinfo* a = found; a != nullptr; a = a->ai_next) {
    Address address;
    std::memcpy(&address.storage, a->ai_addr,
                std::min<std::size_t>(a->ai_addrlen, sizeof address.storage));
    address.length = a->ai_addrlen;
    address.family = a->ai_family;
    out.push_back(address);
  }
  return out;
}

// The host's addresses. An IP address at once; a name in a thread of its own, waited on until
// the deadline only (getaddrinfo has no timeout: a slow DNS would hold a write past its own).
// Never reached the server either way: a failure is the resolve class.
tl::expected<std::vector<Address>, HttpError> resolve(const PlainUrl& url, Deadline deadline,
                                                      long timeout_ms) {
  auto failure = [&](const std::string& why) {
    return tl::unexpected(HttpError{HttpError::Class::resolve,
                                    fmt::format("cannot resolve host: {}: {}", url.host, why)});
  };
  if (auto numeric = look_up(url.host, url.port, AI_NUMERICHOST)) return *numeric;
  auto promise = std::make_shared<std::promise<Lookup>>();
  auto answer = promise->get_future();
  try {
    std::thread([promise, host = url.host, port = url.port] {
      promise->set_value(look_up(host, port, 0));
    }).detach();
  } catch (const std::system_error& e) {
    return failure(e.what());
  }
  if (answer.wait_until(deadline) != std::future_status::ready)
    return failure(fmt::format("no answer within {} ms", timeout_ms));
  auto found = answer.get();
  if (!found) return failure(found.error());
  return *found;
}

// A connected TCP socket to the URL's host and port (each address in turn), blocking from then
// on: a recv() waits under SO_RCVTIMEO, one system call where poll() and recv() were two;
// every send() says MSG_DONTWAIT.
tl::expected<int, HttpError> connect_to(const PlainUrl& url, Deadline deadline, long timeout_ms) {
  auto addresses = resolve(url, deadline, timeout_ms);
  if (!addresses) return tl::unexpected(addresses.error());
  std::string why = "no address";
  for (const Address& address : *addresses) {
    const int fd = ::socket(address.family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
      why = errno_text(errno);
      continue;
    }
    const int one = 1;  // a request goes out whole at once: no Nagle delay behind it
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    int error =
        ::connect(fd, reinterpret_cast<const sockaddr*>(&address.storage), address.length) == 0
            ? 0
            : errno;
    if (error == EINPROGRESS) {
      if (!wait_for(fd, POLLOUT, deadline)) {
        ::close(fd);
        return tl::unexpected(
            timed_out(timeout_ms, fmt::format("connecting to {}", url.authority)));
      }
      socklen_t length = sizeof error;
      if (::getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length) != 0) error = errno;
    }
    if (error == 0 && ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) & ~O_NONBLOCK) == 0) return fd;
    if (error == 0) error = errno;
    why = errno_text(error);
    ::close(fd);
  }
  return tl::unexpected(HttpError{HttpError::Class::refused,
                                  fmt::format("connection failed: {}: {}", url.authority, why)});
}

// 0 once every byte is sent, else the errno (ETIMEDOUT at the deadline).
int send_all(int fd, std::string_view bytes, Deadline deadline) {
  while (!bytes.empty()) {
    const ssize_t n = ::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n > 0) {
      bytes.remove_prefix(static_cast<std::size_t>(n));
    } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
      if (!wait_for(fd, POLLOUT, deadline)) return ETIMEDOUT;
    } else if (errno != EINTR) {
      return errno;
    }
  }
  return 0;
}

constexpr std::size_t k_max_idle = 8;  // idle connections kept; more are closed

// Limits the next recv() to `left_us`. Set only when the socket's limit would overrun the
// deadline by more than 1 ms, or is far shorter (it returns early and is set again): at a
// steady rate with one timeout, once per connection.
// false when no limit could be set: the recv() must not be made.
bool limit_receive(int fd, long& receive_limit, long left_us) {
  if (receive_limit > 0 && receive_limit <= left_us + 1'000 && receive_limit >= left_us - 100'000)
    return true;
  const long us = std::max(1L, left_us);  // a zero timeval would mean no limit
  const timeval limit{us / 1'000'000, us % 1'000'000};
  if (::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &limit, sizeof limit) != 0) return false;
  receive_limit = us;
  return true;
}

// An idle kept-alive connection is usable when nothing is waiting on it: the server's close
// (or a stray late answer, a 408 as it gives up on us) makes it unusable, and it is dropped
// before a request goes on it, never after (a write sent is never sent again).
bool still_open(int fd) {
  char byte;
  return ::recv(fd, &byte, 1, MSG_PEEK | MSG_DONTWAIT) < 0 &&
         (errno == EAGAIN || errno == EWOULDBLOCK);
}

}  // namespace

PlainHttpClient::~PlainHttpClient() {
  for (auto& connection : m_idle) ::close(connection.fd);
}

PlainHttpClient::Connection PlainHttpClient::take_idle(const std::string& peer) {
  std::lock_guard lock(m_mutex);
  for (auto it = m_idle.rbegin(); it != m_idle.rend();) {
    if (it->peer != peer) {
      ++it;
      continue;
    }
    Connection found = std::move(*it);
    it = decltype(it)(m_idle.erase(std::next(it).base()));
    if (still_open(found.fd)) return found;
    ::close(found.fd);
  }
  return {};
}

void PlainHttpClient::put_idle(Connection connection) {
  std::lock_guard lock(m_mutex);
  if (m_idle.size() >= k_max_idle) {  // the least recently used goes
    ::close(m_idle.front().fd);
    m_idle.erase(m_idle.begin());
  }
  m_idle.push_back(std::move(connection));
}

bool PlainHttpClient::serves(std::string_view url) {
  return parse_plain_url(url).has_value() && !proxy_in_environment();
}

tl::expected<HttpResponse, HttpError> PlainHttpClient::request(const HttpRequest& request,
                                                               Deadline deadline) {
  const auto started = Clock::now();
  const long timeout_ms = std::max<long>(
      1, static_cast<long>(std::chrono::duration_cast<Millis>(deadline - started).count()));
  if (started >= deadline)
    return tl::unexpected(HttpError{HttpError::Class::timeout, "no time left before the request"});
  auto url = parse_plain_url(request.url);
  if (!url) return tl::unexpected(HttpError{HttpError::Class::other, "not a plain http:// URL"});
  const std::string peer = url->host + " " + url->port;
  const std::string bytes = http_request_bytes(*url, request);

  HttpResponse response;
  // Closed on every way out but a kept-alive answer, which returns it to the pool.
  Connection connection = request.fresh_connection ? Connection{} : take_idle(peer);
  struct Closer {
    Connection& c;
    ~Closer() {
      if (c.fd >= 0) ::close(c.fd);
    }
  } closer{connection};
  response.reused = connection.fd >= 0;
  if (!response.reused) {
    const auto connecting = Clock::now();
    auto fd =
        connect_to(*url, std::min(deadline, connecting + request.connect_timeout), timeout_ms);
    if (!fd) return tl::unexpected(fd.error());
    connection = {*fd, peer};
    response.connect_ms = ms_between(connecting, Clock::now());
  }
  // From here the request may have reached the server: whatever goes wrong is not "refused",
  // and it is never sent again (the server may have acted on it).
  if (int error = send_all(connection.fd, bytes, deadline); error != 0) {
    if (error == ETIMEDOUT) return tl::unexpected(timed_out(timeout_ms, "sending the request"));
    return tl::unexpected(HttpError{HttpError::Class::other, "send failed: " + errno_text(error)});
  }

  HttpAnswerReader reader(request.method == "HEAD", request.max_body);
  auto state = HttpAnswerReader::State::more;
  char buffer[16 * 1024];
  while (state == HttpAnswerReader::State::more) {
    const auto left = std::chrono::ceil<std::chrono::microseconds>(deadline - Clock::now()).count();
    if (left <= 0)
      return tl::unexpected(
          timed_out(timeout_ms, reader.started() ? "the answer was not complete" : "no answer"));
    if (!limit_receive(connection.fd, connection.receive_limit, static_cast<long>(left)))
      return tl::unexpected(HttpError{
          HttpError::Class::other, "cannot limit the wait for the answer: " + errno_text(errno)});
    const ssize_t n = ::recv(connection.fd, buffer, sizeof buffer, 0);
    if (n > 0) {
      if (!reader.started()) response.first_byte_ms = ms_between(started, Clock::now());
      state = reader.feed(std::string_view(buffer, static_cast<std::size_t>(n)));
    } else if (n == 0) {
      state = reader.at_close();
    } else if (errno != EINTR && errno != EAGAIN && errno != EWOULDBLOCK) {
      return tl::unexpected(
          HttpError{HttpError::Class::garbage, "bad answer: receive failed: " + errno_text(errno)});
    }
  }
  if (state == HttpAnswerReader::State::bad)
    return tl::unexpected(HttpError{HttpError::Class::garbage, "bad answer: " + reader.why()});
  response.status = reader.response().status;
  response.headers = std::move(reader.response().headers);
  response.body = std::move(reader.response().body);
  response.truncated = reader.response().truncated;
  response.total_ms = ms_between(started, Clock::now());
  if (reader.keep_alive() && !request.fresh_connection) {
    put_idle(std::move(connection));
    connection.fd = -1;
  }
  return response;
}

}  // namespace drctl
