#include "clients/http_wire.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>

#include "util/strings.hpp"

namespace drctl {
namespace {

constexpr std::size_t k_max_head = 64 * 1024;  // status line and headers
constexpr std::size_t k_max_line = 4096;       // a chunk-size or trailer line

bool starts_with_nocase(std::string_view text, std::string_view prefix) {
  return text.size() >= prefix.size() &&
         std::equal(prefix.begin(), prefix.end(), text.begin(), [](char lower_case, char c) {
           return std::tolower(static_cast<unsigned char>(c)) == lower_case;
         });
}

std::string lower(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

bool all_digits(std::string_view text) {
  return !text.empty() &&
         std::all_of(text.begin(), text.end(), [](unsigned char c) { return std::isdigit(c); });
}

// A header's name or value never carries a line break into the request.
std::string one_header_line(std::string_view text) {
  std::string out(text);
  std::replace_if(
      out.begin(), out.end(), [](char c) { return c == '\r' || c == '\n'; }, ' ');
  return out;
}

// The next line of `buffer` (without its CR LF or LF), or nullopt when it has not all arrived.
std::optional<std::string> take_line(std::string& buffer) {
  auto eol = buffer.find('\n');
  if (eol == std::string::npos) return std::nullopt;
  std::string line = buffer.substr(0, eol);
  buffer.erase(0, eol + 1);
  if (!line.empty() && line.back() == '\r') line.pop_back();
  return line;
}

}  // namespace

std::optional<PlainUrl> parse_plain_url(std::string_view url) {
  if (!starts_with_nocase(url, "http://")) return std::nullopt;
  if (std::any_of(url.begin(), url.end(), [](unsigned char c) { return c <= 0x20 || c == 0x7f; }))
    return std::nullopt;
  std::string_view rest = url.substr(7);
  const auto authority_end = rest.find_first_of("/?#");
  PlainUrl out;
  std::string_view authority = rest.substr(0, authority_end);
  if (authority.empty() || authority.find('@') != std::string_view::npos) return std::nullopt;
  std::string_view port;
  if (authority.front() == '[') {
    const auto close = authority.find(']');
    if (close == std::string_view::npos || close == 1) return std::nullopt;
    out.host = std::string(authority.substr(1, close - 1));
    std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return std::nullopt;
      port = after.substr(1);
      if (port.empty()) return std::nullopt;
    }
  } else {
    const auto colon = authority.rfind(':');
    out.host = std::string(authority.substr(0, colon));
    if (colon != std::string_view::npos) {
      port = authority.substr(colon + 1);
      if (port.empty()) return std::nullopt;
    }
    if (out.host.empty()) return std::nullopt;
  }
  if (!port.empty()) {
    if (!all_digits(port) || port.size() > 5) return std::nullopt;
    const int number = std::stoi(std::string(port));
    if (number < 1 || number > 65535) return std::nullopt;
    out.port = std::to_string(number);
  } else {
    out.port = "80";
  }
  out.authority = std::string(authority);
  std::string_view target =
      authority_end == std::string_view::npos ? "" : rest.substr(authority_end);
  target = target.substr(0, target.find('#'));
  out.target = target.empty() ? "/" : std::string(target);
  if (out.target.front() == '?') out.target.insert(0, "/");
  return out;
}

std::string http_request_bytes(const PlainUrl& url, const HttpRequest& request) {
  std::string out =
      fmt::format("{} {} HTTP/1.1\r\nHost: {}\r\nUser-Agent: drctl/0.1\r\nAccept: */*\r\n",
                  one_header_line(request.method), url.target, url.authority);
  for (const auto& [name, value] : request.headers)
    out += fmt::format("{}: {}\r\n", one_header_line(name), one_header_line(value));
  // A POST, PUT or PATCH always says its length, even 0 (as http_request does).
  const bool sends_body =
      request.method == "POST" || request.method == "PUT" || request.method == "PATCH";
  if (!request.body.empty() || sends_body)
    out += fmt::format("Content-Length: {}\r\n", request.body.size());
  out += "\r\n";
  out += request.body;
  return out;
}

HttpAnswerReader::State HttpAnswerReader::feed(std::string_view bytes) {
  if (!bytes.empty()) m_started = true;
  m_buffer.append(bytes);
  return parse();
}

HttpAnswerReader::State HttpAnswerReader::at_close() {
  if (m_phase == Phase::to_close || m_phase == Phase::done) {
    m_phase = Phase::done;
    m_keep_alive = false;
    return State::done;
  }
  return bad(m_started ? "the connection closed mid-answer"
                       : "the connection closed before an answer");
}

HttpAnswerReader::State HttpAnswerReader::bad(std::string why) {
  m_why = std::move(why);
  m_keep_alive = false;
  return State::bad;
}

void HttpAnswerReader::take_body(std::string_view bytes) {
  std::string& body = m_response.body;
  const std::size_t room = m_max_body > body.size() ? m_max_body - body.size() : 0;
  if (bytes.size() > room) m_response.truncated = true;
  body.append(bytes.substr(0, std::min(bytes.size(), room)));
}

// The next whole line, or nullopt with `stop`: `more` until it has arrived, `bad` once it is
// longer than k_max_line (a limit on the line, so it holds however the bytes arrived).
std::optional<std::string> HttpAnswerReader::limited_line(const char* too_long, State& stop) {
  if (std::min(m_buffer.find('\n'), m_buffer.size()) > k_max_line) {
    stop = bad(too_long);
    return std::nullopt;
  }
  auto line = take_line(m_buffer);
  if (!line) stop = State::more;
  return line;
}

HttpAnswerReader::State HttpAnswerReader::parse() {
  while (true) {
    switch (m_phase) {
      case Phase::head: {
        // The head ends at the first empty line (CR LF or a bare LF), found line by line from
        // where the last search stopped.
        std::size_t end = std::string::npos;
        for (std::size_t eol; (eol = m_buffer.find('\n', m_scanned)) != std::string::npos;) {
          const bool empty_line =
              eol == m_scanned || (eol == m_scanned + 1 && m_buffer[m_scanned] == '\r');
          m_scanned = eol + 1;
          if (empty_line && eol > 1) {
            end = m_scanned;
            break;
          }
        }
        if (end == std::string::npos) {
          if (m_buffer.size() >= 5 && m_buffer.compare(0, 5, "HTTP/") != 0)
            return bad("not an HTTP/1.x answer");
          if (m_buffer.size() > k_max_head) return bad("headers longer than 64 KiB");
          return State::more;
        }
        // The limit holds however the bytes arrived (all at once, or byte by byte).
        if (end > k_max_head) return bad("headers longer than 64 KiB");
        const std::string head = m_buffer.substr(0, end);
        m_buffer.erase(0, end);
        m_scanned = 0;
        if (!parse_head(head)) return State::bad;
        if (m_response.status == 101) return bad("101 Switching Protocols");
        if (m_response.status < 200) {  // 100 Continue and other interim answers
          m_response.headers.clear();
          continue;
        }
        if (!start_body()) return State::bad;
        continue;
      }
      case Phase::length:
      case Phase::chunk_data: {
        const auto take =
            static_cast<std::size_t>(std::min<unsigned long long>(m_left, m_buffer.size()));
        take_body(std::string_view(m_buffer).substr(0, take));
        m_buffer.erase(0, take);
        m_left -= take;
        if (m_left > 0) return State::more;
        m_phase = m_phase == Phase::length ? Phase::done : Phase::chunk_end;
        continue;
      }
      case Phase::chunk_size: {
        State stop = State::more;
        auto line = limited_line("a chunk size line too long", stop);
        if (!line) return stop;
        std::string_view digits = *line;
        digits = digits.substr(0, digits.find_first_of("; \t"));
        if (digits.empty() || digits.size() > 15 ||
            !std::all_of(digits.begin(), digits.end(),
                         [](unsigned char c) { return std::isxdigit(c); }))
          return bad("a bad chunk size");
        m_left = std::stoull(std::string(digits), nullptr, 16);
        m_phase = m_left == 0 ? Phase::trailers : Phase::chunk_data;
        continue;
      }
      case Phase::chunk_end: {
        auto line = take_line(m_buffer);
        if (!line) return m_buffer.size() > 2 ? bad("a chunk without its line end") : State::more;
        if (!line->empty()) return bad("a chunk longer than its size");
        m_phase = Phase::chunk_size;
        continue;
      }
      case Phase::trailers: {
        State stop = State::more;
        auto line = limited_line("a trailer line too long", stop);
        if (!line) return stop;
        if (line->empty()) m_phase = Phase::done;
        continue;
      }
      case Phase::to_close:
        take_body(m_buffer);
        m_buffer.clear();
        return State::more;
      case Phase::done:
        if (!m_buffer.empty()) m_keep_alive = false;  // bytes beyond the answer: not reusable
        return State::done;
    }
  }
}

bool HttpAnswerReader::parse_head(std::string_view head) {
  std::string rest(head);
  rest += '\n';
  auto status_line = take_line(rest);
  // "HTTP/1.1 201 Created": the version, three digits, then an optional reason.
  const std::string& s = *status_line;
  if (s.size() < 12 || s.compare(0, 7, "HTTP/1.") != 0 ||
      !std::isdigit(static_cast<unsigned char>(s[7])) || s[8] != ' ' ||
      !all_digits(std::string_view(s).substr(9, 3)) || (s.size() > 12 && s[12] != ' ')) {
    bad("not an HTTP/1.x status line");
    return false;
  }
  const long status = std::stol(s.substr(9, 3));
  if (status < 100) {
    bad("not an HTTP/1.x status line");
    return false;
  }
  m_response.status = status;
  m_keep_alive = s[7] != '0';  // HTTP/1.1 keeps the connection unless it says close
  m_response.headers.clear();
  while (auto line = take_line(rest)) {
    if (line->empty()) continue;
    if ((line->front() == ' ' || line->front() == '\t') && !m_response.headers.empty()) {
      m_response.headers.back().second += " " + std::string(trim(*line));  // a folded line
      continue;
    }
    const auto colon = line->find(':');
    if (colon == std::string::npos || colon == 0) {
      bad("a header line without a name");
      return false;
    }
    if (std::isspace(static_cast<unsigned char>((*line)[colon - 1]))) {  // "Name : value"
      bad("a space before a header's colon");
      return false;
    }
    m_response.headers.emplace_back(lower(trim(std::string_view(*line).substr(0, colon))),
                                    std::string(trim(std::string_view(*line).substr(colon + 1))));
  }
  for (const auto& [name, value] : m_response.headers) {
    if (name != "connection") continue;
    const std::string tokens = lower(value);
    if (tokens.find("close") != std::string::npos) m_keep_alive = false;
    if (tokens.find("keep-alive") != std::string::npos && s[7] == '0') m_keep_alive = true;
  }
  return true;
}

bool HttpAnswerReader::start_body() {
  const long status = m_response.status;
  if (m_head || status == 204 || status == 304) {
    m_phase = Phase::done;
    return true;
  }
  // Transfer-Encoding wins over Content-Length; its last coding says whether the body is
  // chunked (else it runs to the close). Both present: read by chunks, then never reuse.
  std::string last_coding;
  bool encoded = false, has_length = false;
  for (const auto& [name, value] : m_response.headers) {
    has_length = has_length || name == "content-length";
    if (name != "transfer-encoding") continue;
    encoded = true;
    const std::string codings = lower(value);
    last_coding = trim(std::string_view(codings).substr(codings.rfind(',') + 1));
  }
  if (encoded) {
    if (last_coding == "chunked") {
      m_phase = Phase::chunk_size;
      if (has_length) m_keep_alive = false;
    } else {
      m_phase = Phase::to_close;
      m_keep_alive = false;
    }
    return true;
  }
  std::optional<unsigned long long> length;
  for (const auto& [name, value] : m_response.headers) {
    if (name != "content-length") continue;
    // "5" or a repeated "5, 5"; two different lengths are a smuggling attempt, not an answer.
    std::string_view list = value;
    while (true) {
      const auto comma = list.find(',');
      const std::string item = trim(list.substr(0, comma));
      if (!all_digits(item) || item.size() > 15) {
        bad("a bad Content-Length");
        return false;
      }
      const auto n = std::stoull(item);
      if (length && *length != n) {
        bad("two different Content-Lengths");
        return false;
      }
      length = n;
      if (comma == std::string_view::npos) break;
      list = list.substr(comma + 1);
    }
  }
  if (!length) {  // the body runs to the close
    m_phase = Phase::to_close;
    m_keep_alive = false;
    return true;
  }
  m_left = *length;
  m_phase = m_left == 0 ? Phase::done : Phase::length;
  return true;
}

}  // namespace drctl
