// HTTP/1.1 as the lean client speaks it: the URLs it serves, the request's bytes, and answers
// read as they arrive, whole or in pieces, by length, by chunks or to the close.
#include <doctest/doctest.h>

#include "clients/http_wire.hpp"

using namespace drctl;
using State = HttpAnswerReader::State;

namespace {

// Feeds `answer` one byte at a time (the worst split a socket can make); the last state.
State feed_bytewise(HttpAnswerReader& reader, std::string_view answer) {
  State state = State::more;
  for (char c : answer) {
    state = reader.feed(std::string_view(&c, 1));
    if (state != State::more) break;
  }
  return state;
}

}  // namespace

TEST_CASE("plain URLs: host, port, target; anything else is left to libcurl") {
  auto url = parse_plain_url("http://127.0.0.1:8080/orders?x=1#frag");
  REQUIRE(url);
  CHECK(url->host == "127.0.0.1");
  CHECK(url->port == "8080");
  CHECK(url->authority == "127.0.0.1:8080");
  CHECK(url->target == "/orders?x=1");
  auto v6 = parse_plain_url("HTTP://[::1]:9/");
  REQUIRE(v6);
  CHECK(v6->host == "::1");
  CHECK(v6->port == "9");
  auto bare = parse_plain_url("http://orders.site-b");
  REQUIRE(bare);
  CHECK(bare->port == "80");
  CHECK(bare->target == "/");
  CHECK(parse_plain_url("http://h?q")->target == "/?q");
  for (const char* other :
       {"https://h/", "http://user:pw@h/", "http://h:0/", "http://h:65536/", "http://h:/",
        "http://h:8x/", "http:///x", "http://h/a b", "http://[::1/", "ftp://h/", "http://[]:80/"})
    CHECK_MESSAGE(!parse_plain_url(other), other);
}

TEST_CASE("the request: request line, Host, headers, and a length even for an empty POST") {
  HttpRequest request;
  request.method = "POST";
  request.url = "http://127.0.0.1:81/orders";
  request.headers = {{"Content-Type", "application/json"}, {"Idempotency-Key", "r-1\r\nX: y"}};
  request.body = R"({"seq": 1})";
  auto url = parse_plain_url(request.url);
  CHECK(http_request_bytes(*url, request) ==
        "POST /orders HTTP/1.1\r\nHost: 127.0.0.1:81\r\nUser-Agent: drctl/0.1\r\nAccept: */*\r\n"
        "Content-Type: application/json\r\nIdempotency-Key: r-1  X: y\r\nContent-Length: 10\r\n"
        "\r\n{\"seq\": 1}");
  request.body.clear();
  request.headers.clear();
  CHECK(http_request_bytes(*url, request).find("Content-Length: 0\r\n\r\n") != std::string::npos);
  request.method = "GET";
  CHECK(http_request_bytes(*url, request).find("Content-Length") == std::string::npos);
}

TEST_CASE("an answer by Content-Length, in one piece or byte by byte, keeps the connection") {
  const std::string answer =
      "HTTP/1.1 201 Created\r\nContent-Type: application/json\r\nContent-Length: 12\r\n\r\n"
      "{\"ok\": true}";
  HttpAnswerReader whole(false, 4096);
  CHECK(whole.feed(answer.substr(0, answer.size() - 1)) == State::more);
  CHECK(whole.feed(answer.substr(answer.size() - 1)) == State::done);
  CHECK(whole.response().status == 201);
  CHECK(whole.response().header("content-type") == "application/json");
  CHECK(whole.response().body == "{\"ok\": true}");
  CHECK(whole.keep_alive());
  HttpAnswerReader bytewise(false, 4096);
  CHECK(feed_bytewise(bytewise, answer) == State::done);
  CHECK(bytewise.response().body == "{\"ok\": true}");
}

TEST_CASE("chunks are joined, extensions and trailers skipped; a body beyond max_body is cut") {
  const std::string answer =
      "HTTP/1.1 503 Service Unavailable\r\nTransfer-Encoding: chunked\r\n\r\n"
      "5;ext=1\r\nread-\r\n9\r\nonly, no!\r\n0\r\nX-Trailer: t\r\n\r\n";
  HttpAnswerReader reader(false, 8);
  CHECK(feed_bytewise(reader, answer) == State::done);
  CHECK(reader.response().status == 503);
  CHECK(reader.response().body == "read-onl");
  CHECK(reader.response().truncated);
  CHECK(reader.keep_alive());
}

TEST_CASE("what ends the connection: close, HTTP/1.0, a body to the close, bytes beyond it") {
  HttpAnswerReader close(false, 100);
  CHECK(close.feed("HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok") ==
        State::done);
  CHECK_FALSE(close.keep_alive());
  HttpAnswerReader old(false, 100);
  CHECK(old.feed("HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n") == State::done);
  CHECK_FALSE(old.keep_alive());
  HttpAnswerReader old_kept(false, 100);
  CHECK(old_kept.feed("HTTP/1.0 200 OK\r\nConnection: Keep-Alive\r\nContent-Length: 0\r\n\r\n") ==
        State::done);
  CHECK(old_kept.keep_alive());
  HttpAnswerReader to_close(false, 100);
  CHECK(to_close.feed("HTTP/1.1 200 OK\r\n\r\nall of it") == State::more);
  CHECK(to_close.at_close() == State::done);
  CHECK(to_close.response().body == "all of it");
  CHECK_FALSE(to_close.keep_alive());
  HttpAnswerReader extra(false, 100);
  CHECK(extra.feed("HTTP/1.1 204 No Content\r\n\r\nHTTP/1.1 200") == State::done);
  CHECK_FALSE(extra.keep_alive());
}

TEST_CASE("framing an attacker could make ambiguous: the last coding decides, both never reused") {
  HttpAnswerReader both(false, 100);
  CHECK(both.feed("HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n"
                  "2\r\nok\r\n0\r\n\r\n") == State::done);
  CHECK(both.response().body == "ok");
  CHECK_FALSE(both.keep_alive());
  HttpAnswerReader not_chunked(false, 100);
  CHECK(not_chunked.feed("HTTP/1.1 200 OK\r\nTransfer-Encoding: notchunked\r\n\r\n2\r\nok") ==
        State::more);
  CHECK(not_chunked.at_close() == State::done);
  CHECK(not_chunked.response().body == "2\r\nok");
  HttpAnswerReader two_headers(false, 100);
  CHECK(two_headers.feed("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: "
                         "gzip\r\n\r\nx") == State::more);
  CHECK_FALSE(two_headers.keep_alive());
  HttpAnswerReader mixed_ends(false, 100);  // a head ending in LF CR LF
  CHECK(mixed_ends.feed("HTTP/1.1 200 OK\nContent-Length: 2\n\r\nok") == State::done);
  CHECK(mixed_ends.response().body == "ok");
}

TEST_CASE("interim answers are skipped; HEAD, 204 and 304 have no body; bare LF lines are read") {
  HttpAnswerReader interim(false, 100);
  CHECK(interim.feed(
            "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 1\r\n\r\nx") ==
        State::done);
  CHECK(interim.response().status == 201);
  HttpAnswerReader head(true, 100);
  CHECK(head.feed("HTTP/1.1 200 OK\r\nContent-Length: 500\r\n\r\n") == State::done);
  CHECK(head.keep_alive());
  HttpAnswerReader lf(false, 100);
  CHECK(lf.feed("HTTP/1.1 200 OK\nContent-Length: 2\n\nok") == State::done);
  CHECK(lf.response().body == "ok");
}

TEST_CASE("garbage is named, never an answer: not HTTP, bad lengths, bad chunks, a cut answer") {
  struct Case {
    const char* bytes;
    const char* why;
  };
  for (const Case& c : {
           Case{"SSH-2.0-OpenSSH_9.2\r\n", "not an HTTP/1.x answer"},
           Case{"HTTP/2 200\r\n\r\n", "not an HTTP/1.x status line"},
           Case{"HTTP/1.1 2x0 OK\r\n\r\n", "not an HTTP/1.x status line"},
           Case{"HTTP/1.1 200 OK\r\nno colon here\r\n\r\n", "a header line without a name"},
           Case{"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n", "a bad Content-Length"},
           Case{"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
                "two different Content-Lengths"},
           Case{"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", "a bad chunk size"},
           Case{"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabc\r\n",
                "a chunk longer than its size"},
           Case{"HTTP/1.1 101 Switching Protocols\r\n\r\n", "101 Switching Protocols"},
           Case{"HTTP/1.1 099 Odd\r\n\r\n", "not an HTTP/1.x status line"},
           Case{"HTTP/1.1 200 OK\r\nContent-Length : 2\r\n\r\n", "a space before a header's colon"},
           Case{"HTTP/1.1 200 OK\r\nContent-Length: 2,\r\n\r\n", "a bad Content-Length"},
       }) {
    HttpAnswerReader reader(false, 100);
    CHECK_MESSAGE(feed_bytewise(reader, c.bytes) == State::bad, c.bytes);
    CHECK(reader.why() == c.why);
    CHECK_FALSE(reader.keep_alive());
  }
  HttpAnswerReader cut(false, 100);
  CHECK(cut.feed("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc") == State::more);
  CHECK(cut.at_close() == State::bad);
  CHECK(cut.why() == "the connection closed mid-answer");
  HttpAnswerReader nothing(false, 100);
  CHECK(nothing.at_close() == State::bad);
  CHECK_FALSE(nothing.started());
  HttpAnswerReader huge(false, 100);
  CHECK(huge.feed("HTTP/1.1 200 OK\r\nX: " + std::string(70 * 1024, 'a')) == State::bad);
  CHECK(huge.why() == "headers longer than 64 KiB");
}
