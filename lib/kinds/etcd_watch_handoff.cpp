// etcd_watch_handoff: move a prefix's watch from the primary site to the backup and prove the
// move lost, repeated and reordered nothing.
//
//  same_cluster: capture revision R through `from`, optionally move the leader, watch through
//                `to` from R+1: the same cluster's revisions, so the resume is exact.
//  mirrored:     the clusters have their own revisions; compare the prefix on both sides,
//                record {from_revision, to_revision}, and watch the backup from to_revision+1.
// Then a canary written on `from` must reach the new watch (canary_ms), and at the end every
// key of a linearizable read of the prefix must match what the watch delivered.
#include "kinds/etcd_watch_handoff.hpp"

#include <fmt/format.h>

#include <fstream>
#include <thread>

#include "clients/etcd_connection.hpp"
#include "etcd/continuity.hpp"
#include "etcd/prefix_cursor.hpp"
#include "etcd/prefix_diff.hpp"
#include "kinds/failure.hpp"
#include "util/clock.hpp"
#include "util/json_dump.hpp"
#include "util/json_fields.hpp"
#include "util/secrets.hpp"
#include "util/strings.hpp"

namespace drctl {
namespace {

using Clock = std::chrono::steady_clock;
double ms_since(Clock::time_point start, Clock::time_point end = Clock::now()) {
  return std::chrono::duration<double, std::milli>(end - start).count();
}
std::string hex(std::uint64_t id) {
  return fmt::format("{:x}", id);
}

nlohmann::json keys_json(const std::vector<std::string>& keys) {
  return nlohmann::json(keys);
}

class HandoffOperation : public Operation {
 public:
  explicit HandoffOperation(Spec spec) : m_spec(std::move(spec)) { etcd_client(); }

  Outcome run(const AttemptContext& ctx) override {
    m_outcome = Outcome();
    m_outcome.changed = Changed::no;
    m_ctx = &ctx;
    m_mirrored = m_spec.str("topology") == "mirrored";
    m_prefix = m_spec.str("prefix");
    m_to_prefix = m_spec.has("to_prefix") ? m_spec.str("to_prefix") : m_prefix;
    m_marker = m_spec.has("marker_key") ? m_spec.str("marker_key") : m_prefix + "__drctl_marker";
    m_outcome.evidence["topology"] = m_mirrored ? "mirrored" : "same_cluster";
    m_outcome.evidence["prefix"] = m_prefix;

    auto from = open_etcd(m_spec.object("from"), ctx.deadline, "from");
    if (!from) return from.error();
    auto to = open_etcd(m_spec.object("to"), ctx.deadline, "to");
    if (!to) return to.error();
    m_from = std::move(*from);
    m_to = std::move(*to);

    std::int64_t start = 0;
    if (auto failed = m_mirrored ? compare_sites(ctx, start) : capture_revision(ctx, start))
      return *failed;
    if (auto failed = open_watch(ctx, start)) return *failed;
    if (auto failed = canary(ctx)) return *failed;
    if (auto failed = watch_for(ctx)) return *failed;
    if (auto failed = prove_continuity(ctx)) return *failed;
    return finish();
  }

  bool can_undo() const override { return true; }

  // Written before the marker (its value, unique to this attempt), then with its revision.
  nlohmann::json undo_state() const override {
    if (m_marker_revision == 0 && m_marker_value.empty()) return nullptr;
    return {{"marker", m_marker},
            {"marker_value", m_marker_value},
            {"marker_revision", m_marker_revision}};
  }

  void adopt_undo_state(const nlohmann::json& state) override {
    if (!state.is_object()) return;
    m_marker = json_text(state, "marker");
    m_marker_value = json_text(state, "marker_value");
    m_marker_revision = json_int(state, "marker_revision");
  }

  // Deletes the marker, if this run wrote it and nobody changed it since. Without its revision
  // (the attempt was cut short around the write), the value it was to write identifies it.
  Outcome undo(const AttemptContext& ctx) override {
    if (m_marker_revision == 0 && m_marker_value.empty())
      return Outcome::fail(Status::skipped, "etcd: no marker was written", Changed::no);
    auto from = open_etcd(m_spec.object("from"), ctx.deadline, "from");
    if (!from) return from.error();
    std::int64_t revision = m_marker_revision;
    if (revision == 0) {
      EtcdRangeRequest request;
      request.key = m_marker;
      auto current = (*from)->range(request, ctx.deadline);
      if (!current)
        return etcd_failure(current.error(), "etcd read marker " + m_marker, Changed::no);
      if (current->kvs.empty() || current->kvs.front().value != m_marker_value) {
        return Outcome::fail(
            Status::skipped,
            fmt::format(
                "etcd: marker {} was never written by this run, or changed since; left alone",
                m_marker),
            Changed::no);
      }
      revision = current->kvs.front().mod_revision;
    }
    auto erased = (*from)->erase_if(m_marker, revision, ctx.deadline);
    if (!erased)
      return etcd_failure(erased.error(), "etcd delete marker " + m_marker, Changed::unknown);
    Outcome outcome =
        Outcome::ok(*erased ? fmt::format("etcd: marker {} deleted", m_marker)
                            : fmt::format("etcd: marker {} changed since; left alone", m_marker));
    outcome.changed = *erased ? Changed::yes : Changed::no;
    return outcome;
  }

 private:
  // The failure, with what was measured so far.
  Outcome fail(Status status, const char* error, const std::string& message) {
    return failed(std::move(m_outcome), status, error, message);
  }
  Outcome fail(const EtcdError& error, const std::string& what) {
    Outcome failure = etcd_failure(error, what, m_outcome.changed);
    return failed(std::move(m_outcome), failure.status, failure.evidence["error"], failure.message);
  }

  // same_cluster: R through `from` (or from_revision - 1), after an optional leader move.
  std::optional<Outcome> capture_revision(const AttemptContext& ctx, std::int64_t& start) {
    EtcdRangeRequest request{m_prefix, etcd_prefix_end(m_prefix)};
    request.count_only = true;
    auto from_read = m_from->range(request, ctx.deadline);
    if (!from_read) return fail(from_read.error(), "etcd from: reading the revision");
    auto to_read = m_to->range(request, ctx.deadline);
    if (!to_read) return fail(to_read.error(), "etcd to: reading the revision");
    if (from_read->header.cluster_id != to_read->header.cluster_id) {
      return fail(
          Status::failed, "different_clusters",
          fmt::format(
              "etcd: from and to are different clusters ({} and {}); use topology: mirrored",
              hex(from_read->header.cluster_id), hex(to_read->header.cluster_id)));
    }
    m_revision = from_read->header.revision;
    if (m_spec.has("from_revision")) m_revision = m_spec.integer("from_revision") - 1;
    m_to_revision = m_revision;
    m_outcome.evidence["cluster_id"] = hex(from_read->header.cluster_id);
    m_outcome.evidence["revision"] = m_revision;
    if (m_spec.has("move_leader_to")) {
      if (auto failed = move_leader(ctx)) return failed;
    }
    start = m_revision + 1;
    return std::nullopt;
  }

  std::optional<Outcome> move_leader(const AttemptContext& ctx) {
    const std::string target_name = m_spec.str("move_leader_to");
    auto members = m_from->members(ctx.deadline);
    if (!members) return fail(members.error(), "etcd from: listing members");
    const EtcdMember* target = nullptr;
    for (const auto& member : *members) {
      if (member.name == target_name || hex(member.id) == to_lower(target_name)) target = &member;
    }
    if (target == nullptr) {
      std::vector<std::string> names;
      for (const auto& member : *members) names.push_back(member.name);
      return fail(Status::failed, "no_such_member",
                  fmt::format("etcd: move_leader_to: no member '{}' (members: {})", target_name,
                              join(names, ", ")));
    }
    auto status = m_from->status(ctx.deadline);
    if (!status) return fail(status.error(), "etcd from: status");
    m_outcome.evidence["leader_before"] = hex(status->leader);
    if (status->leader == target->id) {
      m_outcome.evidence["move_leader_ms"] = 0;
      return std::nullopt;
    }
    // MoveLeader must be sent to the current leader.
    const EtcdMember* leader = nullptr;
    for (const auto& member : *members) {
      if (member.id == status->leader) leader = &member;
    }
    if (leader == nullptr || leader->client_urls.empty()) {
      return fail(Status::failed, "no_leader",
                  fmt::format("etcd: the leader {} has no client URL", hex(status->leader)));
    }
    Spec leader_spec = m_spec.object("from");
    leader_spec.json()["endpoints"] = leader->client_urls;
    auto session = open_etcd(leader_spec, ctx.deadline, "leader");
    if (!session) return session.error();
    auto started = Clock::now();
    auto moved = (*session)->move_leader(target->id, ctx.deadline);
    if (!moved)
      return fail(moved.error(), fmt::format("etcd: moving the leader to {}", target_name));
    m_outcome.changed = Changed::yes;
    m_outcome.evidence["move_leader_ms"] = ms_since(started);
    m_outcome.evidence["leader_after"] = hex(target->id);
    return std::nullopt;
  }

  // mirrored: wait for the backup to match, then record where each side stands.
  std::optional<Outcome> compare_sites(const AttemptContext& ctx, std::int64_t& start) {
    auto converge_by = std::min(
        ctx.deadline, Clock::now() + m_spec.duration("converge_timeout").value_or(Millis(10'000)));
    auto page = static_cast<std::size_t>(m_spec.integer("page_size", k_etcd_page_size));
    auto started = Clock::now();
    PrefixDiff diff;
    int rounds = 0;
    while (true) {
      auto compared = compare_prefixes(*m_from, m_prefix, *m_to, m_to_prefix, ctx.deadline, page);
      if (!compared) return fail(compared.error(), "etcd: comparing the prefix on both sites");
      diff = *compared;
      ++rounds;
      if (diff.total() == 0 || Clock::now() + Millis(100) >= converge_by) break;
      std::this_thread::sleep_for(Millis(100));
    }
    m_outcome.evidence["compare"] = {{"from_keys", diff.from_keys},
                                     {"to_keys", diff.to_keys},
                                     {"missing", diff.missing},
                                     {"extra", diff.extra},
                                     {"different", diff.different},
                                     {"missing_keys", keys_json(diff.missing_keys)},
                                     {"extra_keys", keys_json(diff.extra_keys)},
                                     {"different_keys", keys_json(diff.different_keys)},
                                     {"rounds", rounds},
                                     {"compare_ms", ms_since(started)}};
    m_revision = diff.from_revision;
    m_to_revision = diff.to_revision;
    m_outcome.evidence["mapping"] = {{"from_revision", m_revision}, {"to_revision", m_to_revision}};
    long long allowed = m_spec.integer("max_diff_keys", 0);
    if (diff.total() > allowed) {
      std::vector<std::string> parts;
      if (diff.missing)
        parts.push_back(
            fmt::format("{} missing (first: {})", diff.missing, diff.missing_keys.front()));
      if (diff.extra)
        parts.push_back(fmt::format("{} extra (first: {})", diff.extra, diff.extra_keys.front()));
      if (diff.different)
        parts.push_back(
            fmt::format("{} different (first: {})", diff.different, diff.different_keys.front()));
      return fail(
          Status::failed, "diverged",
          fmt::format(
              "etcd: the backup's {} differs from the primary's {} after {}: {} (max_diff_keys {})",
              m_to_prefix, m_prefix,
              format_duration(std::chrono::duration_cast<Millis>(Clock::now() - started)),
              join(parts, ", "), allowed));
    }
    if (m_spec.has("record_key")) {
      nlohmann::json record = {
          {"from_revision", m_revision}, {"to_revision", m_to_revision},
          {"prefix", m_prefix},          {"to_prefix", m_to_prefix},
          {"run_id", ctx.run_id},        {"at", rfc3339_utc(std::chrono::system_clock::now())}};
      auto put = m_to->put(m_spec.str("record_key"), dump_json(record), 0, ctx.deadline);
      if (!put) return fail(put.error(), "etcd to: writing record_key " + m_spec.str("record_key"));
      m_outcome.changed = Changed::yes;
      m_outcome.evidence["record_key"] = m_spec.str("record_key");
    }
    start = m_to_revision + 1;
    return std::nullopt;
  }

  std::optional<Outcome> open_watch(const AttemptContext& ctx, std::int64_t start) {
    m_watch_start = start;
    m_tracker = std::make_unique<ContinuityTracker>(start);
    // A read at the start revision fails exactly when a watch from it would be canceled as
    // compacted; knowing it now means the re-list happens before the canary is written.
    EtcdRangeRequest probe{m_to_prefix, etcd_prefix_end(m_to_prefix)};
    probe.count_only = true;
    auto current = m_to->range(probe, ctx.deadline);
    if (!current) return fail(current.error(), "etcd to: reading the revision");
    if (start <= current->header.revision) {
      probe.revision = start;
      auto at_start = m_to->range(probe, ctx.deadline);
      if (!at_start && at_start.error().kind == EtcdError::Class::compacted)
        return compacted(ctx, 0);
      if (!at_start)
        return fail(at_start.error(), fmt::format("etcd to: reading revision {}", start));
    }
    auto watch = m_to->watch(m_to_prefix, etcd_prefix_end(m_to_prefix), start, ctx.deadline);
    if (!watch)
      return fail(watch.error(),
                  fmt::format("etcd to: watching {} from revision {}", m_to_prefix, start));
    m_watch = std::move(*watch);
    return std::nullopt;
  }

  std::optional<Outcome> compacted(const AttemptContext& ctx, std::int64_t compact_revision) {
    if (compact_revision > 0) m_outcome.evidence["compact_revision"] = compact_revision;
    if (!m_spec.boolean("allow_relist", true)) {
      return fail(Status::failed, "compacted",
                  fmt::format("etcd to: revision {} is compacted and allow_relist is false",
                              m_watch_start));
    }
    return relist(ctx);
  }

  // The start revision is compacted: read the whole prefix at a fresh revision and watch
  // from just after it. Consumers must do the same; the report says so.
  std::optional<Outcome> relist(const AttemptContext& ctx) {
    m_compacted = true;
    PrefixCursor cursor(*m_to, m_to_prefix, 0,
                        static_cast<std::size_t>(m_spec.integer("page_size", k_etcd_page_size)));
    m_tracker.reset();
    std::int64_t keys = 0;
    ContinuityTracker* tracker = nullptr;
    std::unique_ptr<ContinuityTracker> fresh;
    while (true) {
      auto kv = cursor.next(ctx.deadline);
      if (!kv) return fail(kv.error(), "etcd to: re-listing " + m_to_prefix);
      if (!fresh) {
        fresh = std::make_unique<ContinuityTracker>(cursor.revision() + 1);
        tracker = fresh.get();
      }
      if (!*kv) break;
      tracker->seed(**kv);
      ++keys;
      if (m_canary_sent && !m_canary_seen && (*kv)->key == m_watched_marker &&
          (*kv)->value == m_marker_value) {
        m_canary_seen = true;  // arrived before the re-list: its time is an upper bound
        m_canary_ms = ms_since(m_canary_sent_at);
      }
    }
    m_relisted = keys;
    m_watch_start = cursor.revision() + 1;
    m_tracker = std::move(fresh);
    auto watch =
        m_to->watch(m_to_prefix, etcd_prefix_end(m_to_prefix), m_watch_start, ctx.deadline);
    if (!watch)
      return fail(watch.error(),
                  fmt::format("etcd to: watching {} from revision {}", m_to_prefix, m_watch_start));
    m_watch = std::move(*watch);
    return std::nullopt;
  }

  std::optional<Outcome> consume(const EtcdWatchResponse& response) {
    // etcd confirms a watch, then cancels it with compact_revision when its start is gone.
    if (response.canceled && response.compact_revision > 0 && !m_compacted &&
        m_tracker->events() == 0) {
      return compacted(*m_ctx, response.compact_revision);
    }
    if (response.canceled) {
      return fail(Status::failed, "watch_canceled",
                  fmt::format("etcd to: the watch was canceled{}{}",
                              response.cancel_reason.empty() ? "" : ": ", response.cancel_reason));
    }
    for (const auto& event : response.events) {
      if (m_hold_after > 0 && event.kv.mod_revision > m_hold_after) {
        m_held.push_back(event);
        continue;
      }
      m_tracker->observe(event);
      record(event);
      if (m_canary_sent && !m_canary_seen && event.kv.key == m_watched_marker && !event.is_delete &&
          event.kv.value == m_marker_value) {
        m_canary_seen = true;
        m_canary_ms = ms_since(m_canary_sent_at, response.received_at);
      }
    }
    // Only a response without events (a progress notification) promises that everything up
    // to its header revision has been sent.
    if (response.events.empty()) m_progress = std::max(m_progress, response.header.revision);
    return std::nullopt;
  }

  void record(const EtcdEvent& event) {
    if (!m_events_file.is_open()) return;
    m_events_file << dump_json(nlohmann::json{{"revision", event.kv.mod_revision},
                                              {"key", event.kv.key},
                                              {"type", event.is_delete ? "DELETE" : "PUT"}})
                  << '\n';
  }

  // Write the marker on the primary side and time its arrival on the backup's watch.
  std::optional<Outcome> canary(const AttemptContext& ctx) {
    if (m_spec.has("events_file")) {
      m_events_file.open(m_spec.str("events_file"), std::ios::trunc);
      if (!m_events_file)
        return fail(Status::failed, "config",
                    "cannot write events_file " + m_spec.str("events_file"));
    }
    m_watched_marker = m_mirrored && m_marker.rfind(m_prefix, 0) == 0
                           ? m_to_prefix + m_marker.substr(m_prefix.size())
                           : m_marker;
    if (m_watched_marker.rfind(m_to_prefix, 0) != 0) {
      return fail(
          Status::failed, "config",
          fmt::format("etcd: marker_key {} is outside the watched prefix {}", m_marker, m_prefix));
    }
    m_marker_value = dump_json(nlohmann::json{
        {"run_id", ctx.run_id}, {"at", rfc3339_utc(std::chrono::system_clock::now())}});
    m_marker_revision = 0;
    if (!ctx.save_undo_state()) {  // the marker is this step's one change: its undo goes first
      m_marker_value.clear();
      return Outcome::journal_refused();
    }
    m_canary_sent_at = Clock::now();
    m_canary_sent = true;
    auto put = m_from->put(m_marker, m_marker_value, 0, ctx.deadline);
    if (!put) return fail(put.error(), "etcd from: writing the marker " + m_marker);
    m_outcome.changed = Changed::yes;
    m_marker_revision = put->header.revision;
    m_outcome.evidence["marker_key"] = m_marker;
    m_outcome.evidence["marker_revision"] = m_marker_revision;
    auto timeout = m_spec.duration("canary_timeout").value_or(Millis(5000));
    auto until = std::min(ctx.deadline, m_canary_sent_at + timeout);
    while (!m_canary_seen) {
      auto response = m_watch->next(until);
      if (!response) return fail(response.error(), "etcd to: watch");
      if (!*response) break;
      if (auto failed = consume(**response)) return failed;
    }
    if (!m_canary_seen) {
      return fail(Status::timeout, "canary_timeout",
                  fmt::format("etcd: the marker {} written on the primary did not reach the "
                              "backup's watch within {}{}",
                              m_marker, format_duration(timeout),
                              m_mirrored ? " (is the mirror running?)" : ""));
    }
    m_outcome.evidence["canary_ms"] = m_canary_ms;
    return std::nullopt;
  }

  std::optional<Outcome> watch_for(const AttemptContext& ctx) {
    auto duration = m_spec.duration("watch_for").value_or(Millis(0));
    auto until = std::min(ctx.deadline, Clock::now() + duration);
    while (Clock::now() < until) {
      auto response = m_watch->next(until);
      if (!response) return fail(response.error(), "etcd to: watch");
      if (!*response) break;
      if (auto failed = consume(**response)) return failed;
    }
    return std::nullopt;
  }

  // Catch the watch up to the revision of a linearizable read, then compare every key.
  std::optional<Outcome> prove_continuity(const AttemptContext& ctx) {
    EtcdRangeRequest request{m_to_prefix, etcd_prefix_end(m_to_prefix)};
    request.count_only = true;
    auto now = m_to->range(request, ctx.deadline);
    if (!now) return fail(now.error(), "etcd to: final read");
    const std::int64_t at = now->header.revision;
    m_hold_after = at;
    auto last_progress_request = Clock::time_point();
    while (m_tracker->last_revision() < at && m_progress < at && m_held.empty()) {
      if (Clock::now() - last_progress_request > Millis(100)) {
        m_watch->request_progress();
        last_progress_request = Clock::now();
      }
      auto response = m_watch->next(std::min(ctx.deadline, Clock::now() + Millis(100)));
      if (!response) return fail(response.error(), "etcd to: watch");
      if (*response) {
        if (auto failed = consume(**response)) return failed;
      } else if (Clock::now() >= ctx.deadline) {
        return fail(
            Status::timeout, "watch_behind",
            fmt::format("etcd to: the watch did not reach revision {} by the deadline (at {})", at,
                        m_tracker->last_revision()));
      }
    }
    PrefixCursor cursor(*m_to, m_to_prefix, at,
                        static_cast<std::size_t>(m_spec.integer("page_size", k_etcd_page_size)));
    std::int64_t keys = 0;
    while (true) {
      auto kv = cursor.next(ctx.deadline);
      if (!kv) return fail(kv.error(), "etcd to: final read of " + m_to_prefix);
      if (!*kv) break;
      m_tracker->expect(**kv);
      ++keys;
    }
    m_tracker->finish(at);
    for (const auto& event : m_held) {
      m_tracker->observe(event);
      record(event);
    }
    m_outcome.evidence["verified_at_revision"] = at;
    m_outcome.evidence["verified_keys"] = keys;
    return std::nullopt;
  }

  Outcome finish() {
    const auto& t = *m_tracker;
    auto& e = m_outcome.evidence;
    e["watch_start_revision"] = m_watch_start;
    e["events"] = t.events();
    e["lost"] = t.lost();
    e["duplicates"] = t.duplicates();
    e["out_of_order"] = t.out_of_order();
    e["lost_keys"] = keys_json(t.lost_keys());
    e["problem_keys"] = keys_json(t.problem_keys());
    e["reconnects"] = m_watch->reconnects();
    e["watch_endpoint"] = m_watch->endpoint();
    e["compacted"] = m_compacted;
    e["relisted_keys"] = m_relisted;
    e["to_revision"] = m_to_revision;
    auto& out = m_outcome.outputs;
    out["revision"] = std::to_string(m_revision);
    out["to_revision"] = std::to_string(m_to_revision);
    out["canary_ms"] = fmt::format("{:.1f}", m_canary_ms);
    out["events"] = std::to_string(t.events());
    out["relisted"] = std::to_string(m_relisted);
    if (t.lost() || t.duplicates() || t.out_of_order()) {
      return fail(Status::failed, "discontinuity",
                  fmt::format("etcd: the watch on {} is not continuous: {} lost, {} duplicate, {} "
                              "out of order (first: {})",
                              m_to_prefix, t.lost(), t.duplicates(), t.out_of_order(),
                              !t.lost_keys().empty()     ? t.lost_keys().front()
                              : t.problem_keys().empty() ? ""
                                                         : t.problem_keys().front()));
    }
    m_outcome.status = Status::ok;
    m_outcome.message = fmt::format(
        "etcd: watch on {} resumed {} from revision {}{}; canary {:.1f} ms; {} events, 0 lost, 0 "
        "duplicate{}",
        m_to_prefix, m_mirrored ? "on the mirror" : "on the backup", m_watch_start,
        m_mirrored ? fmt::format(" (primary revision {})", m_revision) : "", m_canary_ms,
        t.events(),
        m_compacted ? fmt::format("; start was compacted, re-listed {} keys", m_relisted) : "");
    if (m_compacted)
      m_outcome.warnings.push_back(
          "the start revision was compacted: watchers must re-list the prefix");
    return std::move(m_outcome);
  }

  Spec m_spec;
  const AttemptContext* m_ctx = nullptr;
  Outcome m_outcome;
  bool m_mirrored = false;
  std::string m_prefix, m_to_prefix, m_marker, m_watched_marker, m_marker_value;
  std::unique_ptr<EtcdSession> m_from, m_to;
  std::unique_ptr<EtcdWatch> m_watch;
  std::unique_ptr<ContinuityTracker> m_tracker;
  std::int64_t m_revision = 0, m_to_revision = 0, m_watch_start = 0, m_marker_revision = 0;
  std::int64_t m_relisted = 0, m_progress = 0, m_hold_after = 0;
  bool m_compacted = false, m_canary_sent = false, m_canary_seen = false;
  Clock::time_point m_canary_sent_at;
  double m_canary_ms = 0;
  std::vector<EtcdEvent> m_held;
  std::ofstream m_events_file;
};

class HandoffKind : public Kind {
 public:
  std::string_view name() const override { return "etcd_watch_handoff"; }
  std::string_view summary() const override {
    return "Resume a prefix's watch on the backup site and prove nothing was lost, repeated or "
           "reordered; time a canary's arrival.";
  }
  bool allowed_as(Role role) const override { return role == Role::step; }
  const Fields& fields() const override {
    static const Fields fields = {
        Field::string(
            "topology",
            "same_cluster (members in both sites) or mirrored (two clusters and a mirror).")
            .one_of({"same_cluster", "mirrored"})
            .defaults_to("same_cluster"),
        Field::string("prefix", "The watched prefix (on the primary).").mandatory(),
        Field::string("to_prefix",
                      "The prefix on the backup, when the mirror renames it (mirrored)."),
        etcd_connection_field("from", "The primary site's endpoints."),
        etcd_connection_field("to", "The backup site's endpoints."),
        Field::string("marker_key",
                      "Canary key written on the primary (default <prefix>__drctl_marker); must be "
                      "under prefix."),
        Field::integer("from_revision",
                       "Resume from this revision instead of the current one (same_cluster).")
            .range(1, std::nullopt),
        Field::string("move_leader_to",
                      "Member name (or hex id) to move the raft leader to first (same_cluster)."),
        Field::duration("canary_timeout", "How long the marker may take to reach the new watch.")
            .defaults_to("5s"),
        Field::duration("watch_for",
                        "Keep watching this long after the canary (continuity is proven over it).")
            .defaults_to("0s"),
        Field::boolean("allow_relist",
                       "When the start revision is compacted, re-list and continue (else fail).")
            .defaults_to(true),
        Field::duration("converge_timeout",
                        "How long the backup may take to match the primary (mirrored).")
            .defaults_to("10s"),
        Field::integer("max_diff_keys", "Keys allowed to differ after converge_timeout (mirrored).")
            .range(0, std::nullopt)
            .defaults_to(0),
        Field::string(
            "record_key",
            "Key on the backup to record {from_revision, to_revision} as JSON (mirrored)."),
        Field::integer("page_size", "Keys per read when listing the prefix.")
            .range(1, 100'000)
            .defaults_to(static_cast<long long>(k_etcd_page_size)),
        Field::string(
            "events_file",
            "Write every event the new watch delivered (revision, key, type) as JSON lines."),
    };
    return fields;
  }
  std::vector<std::string> outputs() const override {
    return {"revision", "to_revision", "canary_ms", "events", "relisted"};
  }
  std::vector<SpecProblem> check_spec(const Spec& spec) const override {
    auto problems = check_etcd_connection(spec.object("from"), "from");
    auto to = check_etcd_connection(spec.object("to"), "to");
    problems.insert(problems.end(), to.begin(), to.end());
    bool mirrored = spec.str("topology") == "mirrored";
    const char* mirrored_only[] = {"to_prefix", "record_key"};
    for (const char* key : mirrored_only) {
      if (!mirrored && spec.has(key)) problems.push_back({key, "only for topology: mirrored"});
    }
    const char* same_cluster_only[] = {"from_revision", "move_leader_to"};
    for (const char* key : same_cluster_only) {
      if (mirrored && spec.has(key))
        problems.push_back({key, "only for topology: same_cluster (a mirror's revisions differ)"});
    }
    if (spec.has("marker_key") && spec.str("marker_key").rfind(spec.str("prefix"), 0) != 0) {
      problems.push_back(
          {"marker_key",
           fmt::format("must be under prefix '{}' so the watch can see it", spec.str("prefix"))});
    }
    return problems;
  }
  std::string target(const Spec& spec) const override {
    return fmt::format("etcd {} -> {} {}", join(spec.object("from").strings("endpoints"), ","),
                       join(spec.object("to").strings("endpoints"), ","), spec.str("prefix"));
  }
  std::string describe(const Spec& spec) const override {
    bool mirrored = spec.str("topology") == "mirrored";
    return fmt::format(
        "{} then watch {} through {}, write a marker through {} and prove the watch continuous",
        mirrored ? "compare the prefix on both clusters" : "capture the revision",
        spec.str("prefix"), join(spec.object("to").strings("endpoints"), ","),
        join(spec.object("from").strings("endpoints"), ","));
  }
  // The marker's undo state goes first; moving the leader (which nothing undoes) does not wait.
  bool undo_state_before_changes(const Spec& spec) const override {
    return !spec.has("move_leader_to");
  }
  std::string undo_description(const Spec&) const override { return "delete the marker key"; }
  std::unique_ptr<Operation> prepare(const Spec& spec) const override {
    return std::make_unique<HandoffOperation>(spec);
  }
};

}  // namespace

std::unique_ptr<Kind> make_etcd_watch_handoff_kind() {
  return std::make_unique<HandoffKind>();
}

}  // namespace drctl
