// libFuzzer target: the write probe's HTTP/1.1 answer reader and URL parser (clients/http_wire)
// on any bytes from a server. An answer fed whole and fed in pieces (their size from the
// input's first byte, as a socket may split it) must end in the same state with the same
// status and body; the body never exceeds max_body; nothing crashes or hangs.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <tuple>

#include "clients/http_wire.hpp"

namespace {

using drctl::HttpAnswerReader;
using State = HttpAnswerReader::State;

std::tuple<State, long, std::string, bool> read_answer(std::string_view input, std::size_t piece,
                                                       std::size_t max_body, bool head) {
  HttpAnswerReader reader(head, max_body);
  State state = State::more;
  for (std::size_t at = 0; at < input.size() && state == State::more; at += piece)
    state = reader.feed(input.substr(at, piece));
  if (state == State::more) state = reader.at_close();
  const auto& response = reader.response();
  if (response.body.size() > max_body) std::abort();
  return {state, response.status, response.body, response.truncated};
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::uint8_t control = data[0];
  const std::string_view input(reinterpret_cast<const char*>(data + 1), size - 1);
  (void)drctl::parse_plain_url(input);
  const std::size_t piece = 1 + control % 23;
  const std::size_t max_body = 16 + control * 4;
  const bool head = (control & 0x80) != 0;
  const auto whole = read_answer(input, input.empty() ? 1 : input.size(), max_body, head);
  const auto pieces = read_answer(input, piece, max_body, head);
  if (whole != pieces) std::abort();
  return 0;
}
