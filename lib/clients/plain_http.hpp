#pragma once
// A lean HTTP/1.1 client for plain http:// URLs over a small pool of kept-alive connections:
// the write probe sends 100 writes a second through it. Per request libcurl polls, parses and
// allocates about as much CPU as the kernel's loopback TCP costs (docs/performance.md); this
// sends the request with one send() and reads the answer with recv() as it comes.
// Only what a probe needs: no TLS, no proxy, no redirects. A URL it does not serve (https, a
// proxy in the environment: `serves`) goes through http_request(), which handles everything.
#include <chrono>
#include <mutex>
#include <string>
#include <string_view>
#include <tl/expected.hpp>
#include <vector>

#include "clients/http_client.hpp"

namespace drctl {

class PlainHttpClient {
 public:
  PlainHttpClient() = default;
  ~PlainHttpClient();
  PlainHttpClient(const PlainHttpClient&) = delete;
  PlainHttpClient& operator=(const PlainHttpClient&) = delete;

  // An http:// URL parse_plain_url() takes, with no proxy for http in the environment
  // (http_proxy, all_proxy, either case): what libcurl would send straight to the host.
  static bool serves(std::string_view url);

  // One request, until `deadline` (not cancellable: a write in flight is waited for). Safe
  // from many threads at once. An idle kept-alive connection to the same host and port is
  // reused (the most recently used first, so a steady rate needs one or two) unless the
  // server closed it meanwhile (checked before sending). A request is never sent twice: once
  // it may have reached the server, any failure is a timeout, garbage or other, never
  // refused. A host name is resolved within the deadline. Error classes as http_request():
  // refused and resolve never reached the server.
  tl::expected<HttpResponse, HttpError> request(const HttpRequest& request, Deadline deadline);

 private:
  struct Connection {
    int fd = -1;             // blocking for recv (SO_RCVTIMEO), sends never block
    std::string peer;        // "host port"
    long receive_limit = 0;  // SO_RCVTIMEO now set, in µs (0: none yet)
  };
  Connection take_idle(const std::string& peer);
  void put_idle(Connection connection);

  std::mutex m_mutex;
  std::vector<Connection> m_idle;  // most recently used last
};

}  // namespace drctl
