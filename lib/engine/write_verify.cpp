#include "engine/write_verify.hpp"

#include <fmt/format.h>

#include <atomic>
#include <charconv>
#include <memory>
#include <thread>

#include "clients/http_client.hpp"
#include "clients/sql.hpp"
#include "core/spec.hpp"
#include "util/secrets.hpp"
#include "util/strings.hpp"

namespace drctl {
namespace {

using Clock = std::chrono::steady_clock;
constexpr std::size_t k_readers = 4;  // keys read back at once
constexpr int k_rounds = 3;           // tries for a key that could not be read back
constexpr auto k_pause = std::chrono::milliseconds(500);  // between them

KeyPresence presence_by_url(const WriteProbeSpec& spec, const std::string& key, Deadline deadline,
                            const CancelToken& cancel) {
  HttpRequest request;
  request.url = replace_all(spec.verify_url, "{key}", key);
  request.connect_timeout = spec.timeout;
  request.max_body = 64 * 1024;
  auto response =
      http_request(request, std::min(deadline, Clock::now() + spec.timeout * 5), &cancel);
  if (!response) return {-1, fmt::format("GET {}: {}", request.url, response.error().message)};
  // Present or absent only as the service counts it: a 404 from a proxy or a wrong path (an
  // HTML page, an empty body, an app's "no such route") is no evidence about the write, and
  // must never read as data loss.
  if (response->status == 404) {
    auto body = nlohmann::json::parse(response->body, nullptr, false);
    if (body.is_object() && body.contains("count") && body["count"] == 0) return {0, ""};
    return {-1, fmt::format("GET {}: answered 404 without a `count` of 0 (a wrong path?)",
                            request.url)};
  }
  if (response->status != 200)
    return {-1, fmt::format("GET {}: answered {}", request.url, response->status)};
  auto body = nlohmann::json::parse(response->body, nullptr, false);
  if (body.is_discarded())
    return {-1, fmt::format("GET {}: answered 200 with a body that is not JSON", request.url)};
  // Only a count says present or absent: a soft 404 ({"error": "not found"} with 200) or a
  // catch-all route must never read as "present".
  if (!body.is_object() || !body.contains("count") || !body["count"].is_number_integer() ||
      body["count"].get<long long>() < 0)
    return {-1, fmt::format("GET {}: answered 200 without a whole-number `count`", request.url)};
  return {body["count"].get<long long>(), ""};
}

class SqlReader {
 public:
  SqlReader(SqlClient& client, SqlEndpoint endpoint, std::string query)
      : m_client(client), m_endpoint(std::move(endpoint)), m_query(std::move(query)) {}

  KeyPresence presence(const std::string& key) {
    // Keys are drctl's own (run id and sequence: letters, digits, dashes): quoting is enough.
    const std::string sql = replace_all(m_query, "{key}", "'" + key + "'");
    for (int tries = 0; tries < 2; ++tries) {
      if (!m_session) {
        auto session = m_client.connect(m_endpoint);
        if (!session)
          return {-1, fmt::format("mysql {}: {}", m_endpoint.describe(), session.error().message)};
        m_session = std::move(*session);
      }
      auto rows = m_session->query(sql);
      if (!rows) {
        m_session.reset();  // a lost connection is tried once more on a new one
        if (tries == 1)
          return {-1, fmt::format("mysql {}: {}", m_endpoint.describe(), rows.error().message)};
        continue;
      }
      return copies_of(*rows);
    }
    return {-1, "unreachable"};
  }

 private:
  KeyPresence copies_of(const std::vector<SqlRow>& rows) const {
    if (rows.size() != 1 || rows[0].size() != 1 || !rows[0].begin()->second)
      return {-1, fmt::format("mysql {}: verify_sql must return one row with one count",
                              m_endpoint.describe())};
    const std::string& text = *rows[0].begin()->second;
    long long copies = -1;
    auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), copies);
    if (error != std::errc() || end != text.data() + text.size() || copies < 0)
      return {-1, fmt::format("mysql {}: verify_sql returned '{}', not a count",
                              m_endpoint.describe(), text.substr(0, 40))};
    return {copies, ""};
  }

  SqlClient& m_client;
  SqlEndpoint m_endpoint;
  std::string m_query;
  std::unique_ptr<SqlSession> m_session;
};

tl::expected<SqlEndpoint, std::string> sql_endpoint(const WriteProbeSpec& spec) {
  Spec values(spec.verify_sql);
  SqlEndpoint endpoint;
  endpoint.host = values.opt_str("host").value_or("127.0.0.1");
  endpoint.port = static_cast<int>(values.integer("port", 3306));
  endpoint.socket = values.str("socket");
  endpoint.user = values.str("user");
  endpoint.connect_timeout = spec.timeout;
  endpoint.read_timeout = spec.timeout * 5;
  auto password = values.secret("password");
  if (!password) return tl::unexpected(fmt::format("verify_sql: password: {}", password.error()));
  endpoint.password = *password;
  return endpoint;
}

}  // namespace

tl::expected<ReadBackTarget, std::string> prepare_read_back(const WriteProbeSpec& spec) {
  ReadBackTarget target;
  if (spec.verify_sql.is_null()) return target;
  auto loaded = sql_client();
  if (!loaded) return tl::unexpected(fmt::format("verify_sql: {}", loaded.error()));
  target.sql = *loaded;
  auto named = sql_endpoint(spec);
  if (!named) return tl::unexpected(named.error());
  target.endpoint = std::move(*named);
  return target;
}

std::vector<KeyPresence> read_back(const WriteProbeSpec& spec, const ReadBackTarget& target,
                                   const std::vector<std::string>& keys, Deadline deadline,
                                   const CancelToken& cancel) {
  std::vector<KeyPresence> found(keys.size());
  SqlClient* client = target.sql;
  const SqlEndpoint& endpoint = target.endpoint;
  // Right after a switch the way back can still stumble (a proxy's old worker finishing its
  // kept-alive connections, a pool reconnecting): what could not be read is tried again, a
  // little later, a few times; only what never answers clearly stays unverified.
  std::vector<std::size_t> pending(keys.size());
  for (std::size_t i = 0; i < keys.size(); ++i) pending[i] = i;
  for (int round = 0; round < k_rounds && !pending.empty(); ++round) {
    if (round > 0 && !cancel.sleep_until(std::min(deadline, Clock::now() + k_pause))) break;
    std::atomic<std::size_t> next{0};
    auto reader = [&] {
      std::unique_ptr<SqlReader> sql;
      if (client)
        sql = std::make_unique<SqlReader>(*client, endpoint, spec.verify_sql.value("query", ""));
      for (std::size_t n = next++; n < pending.size(); n = next++) {
        const std::size_t i = pending[n];
        if (cancel.stop_requested() || Clock::now() >= deadline) {
          found[i] = {-1, cancel.stop_requested() ? "interrupted" : "verify_timeout ran out"};
          continue;
        }
        try {  // a thread must not throw: what fails here is "not read back", nothing more
          found[i] =
              sql ? sql->presence(keys[i]) : presence_by_url(spec, keys[i], deadline, cancel);
        } catch (const std::exception& e) {
          found[i] = {-1, fmt::format("reading it back failed: {}", e.what())};
        }
      }
    };
    std::vector<std::thread> readers;
    const std::size_t count = std::min(k_readers, pending.size());
    for (std::size_t i = 1; i < count; ++i) readers.emplace_back(reader);
    reader();
    for (auto& thread : readers) thread.join();
    std::erase_if(pending, [&](std::size_t i) { return found[i].copies >= 0; });
  }
  return found;
}

}  // namespace drctl
