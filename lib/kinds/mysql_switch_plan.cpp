#include "kinds/mysql_switch_plan.hpp"

#include <future>

#include "kinds/failure.hpp"
#include "util/json_fields.hpp"

namespace drctl {

// A failure that keeps what was measured before it, and says what it changed.
Outcome with_evidence(Outcome failure, const Outcome& so_far, Changed changed) {
  nlohmann::json evidence = so_far.evidence;
  evidence.update(failure.evidence);
  failure.evidence = std::move(evidence);
  failure.changed = changed;
  return failure;
}

SteadyClock::time_point within(SteadyClock::time_point deadline, Millis limit) {
  return std::min(deadline, SteadyClock::now() + limit);
}

nlohmann::json SwitchJournal::to_json() const {
  return {{"mode", mode},
          {"phase", phase},
          {"primary_was_read_only", primary_was_read_only},
          {"final_position", final_position},
          {"source", {{"host", source.host}, {"port", source.port}, {"user", source.user}}}};
}

std::optional<SwitchJournal> SwitchJournal::from_json(const nlohmann::json& state) {
  if (!state.is_object()) return std::nullopt;
  SwitchJournal j;
  j.mode = json_text(state, "mode");
  j.phase = json_text(state, "phase");
  j.primary_was_read_only = json_member(state, "primary_was_read_only") == true;
  j.final_position = json_text(state, "final_position");
  const auto& source = json_member(state, "source");
  j.source.host = json_text(source, "host");
  j.source.port = static_cast<int>(json_int(source, "port"));
  j.source.user = json_text(source, "user");
  return j;
}

tl::expected<SwitchSessions, Outcome> open_switch_sessions(const SwitchSettings& settings,
                                                           bool with_primary) {
  auto client = sql_client();
  if (!client) return tl::unexpected(failed(Status::failed, "module", "mysql: " + client.error()));
  auto open = [client](const SqlEndpoint& endpoint, std::string role) {
    return std::async(std::launch::async,
                      [=] { return MysqlServer::open(**client, endpoint, role); });
  };
  auto candidate = open(settings.candidate, "candidate");
  std::future<tl::expected<std::unique_ptr<MysqlServer>, Outcome>> primary, control;
  if (with_primary) {
    primary = open(settings.primary, "primary");
    control = open(settings.primary, "primary");
  }
  SwitchSessions sessions;
  auto c = candidate.get();
  if (with_primary) {
    auto p = primary.get();
    auto k = control.get();
    if (!p) return tl::unexpected(p.error());
    if (!k) return tl::unexpected(k.error());
    sessions.primary = std::move(*p);
    sessions.control = std::move(*k);
  }
  if (!c) return tl::unexpected(c.error());
  sessions.candidate = std::move(*c);
  return sessions;
}

}  // namespace drctl
