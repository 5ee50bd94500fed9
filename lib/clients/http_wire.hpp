#pragma once
// HTTP/1.1 on the wire, as the lean client (plain_http.hpp) speaks it: a plain http:// URL, a
// request's bytes, and an answer read as it arrives (status line, headers, then a body by
// Content-Length, by chunks, or up to the close). Pure: bytes in, state out; no I/O.
#include <optional>
#include <string>
#include <string_view>

#include "clients/http_client.hpp"

namespace drctl {

struct PlainUrl {
  std::string host;       // a name, or an IP address (IPv6 without its brackets)
  std::string port;       // "80" when the URL has none
  std::string authority;  // "host:port" as written, the Host header's value
  std::string target;     // path and query; "/" when the URL has none
};

// An http:// URL the lean client can send to; nullopt for anything else (https, user info,
// a bad port, spaces or control characters), which libcurl then handles or refuses.
std::optional<PlainUrl> parse_plain_url(std::string_view url);

// The request as sent: request line, Host, the caller's headers, Content-Length, body.
std::string http_request_bytes(const PlainUrl& url, const HttpRequest& request);

class HttpAnswerReader {
 public:
  enum class State { more, done, bad };

  HttpAnswerReader(bool head_request, std::size_t max_body)
      : m_head(head_request), m_max_body(max_body) {}

  // Takes the next bytes received: `done` once the answer is whole, `bad` (why()) when what
  // arrived is not an HTTP/1.x answer.
  State feed(std::string_view bytes);
  // The peer closed the connection: `done` when the body ran to the close, else `bad`.
  State at_close();

  bool started() const { return m_started; }  // a byte of the answer arrived
  // After `done`: the connection may carry the next request (HTTP/1.1 without
  // "Connection: close", a body with a known end, nothing sent beyond it).
  bool keep_alive() const { return m_keep_alive; }
  const std::string& why() const { return m_why; }
  HttpResponse& response() { return m_response; }

 private:
  enum class Phase { head, length, chunk_size, chunk_data, chunk_end, trailers, to_close, done };
  State parse();
  std::optional<std::string> limited_line(const char* too_long, State& stop);
  bool parse_head(std::string_view head);
  bool start_body();
  void take_body(std::string_view bytes);
  State bad(std::string why);

  bool m_head;
  std::size_t m_max_body;
  bool m_started = false;
  bool m_keep_alive = false;
  Phase m_phase = Phase::head;
  std::string m_buffer;           // received, not yet parsed
  std::size_t m_scanned = 0;      // where the search for the end of the head goes on
  unsigned long long m_left = 0;  // body or chunk bytes still to come
  std::string m_why;
  HttpResponse m_response;
};

}  // namespace drctl
