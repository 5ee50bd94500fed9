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

#include <cstdio>
#include <thread>

#include "clients/etcd_connection.hpp"
#include "etcd/continuity.hpp"
#include "etcd/prefix_cursor.hpp"
#include "etcd/prefix_diff.hpp"
#include "kinds/failure.hpp"
#include "util/clock.hpp"
#include "util/json_dump.hpp"
#include "util/json_fields.hpp"
#include "util/safe_files.hpp"
#include "util/secrets.hpp"
#include "util/strings.hpp"

namespace drctl {
namespace {

const Field k_topology =
    Field::string("topology",
                  "same_cluster (members in both sites) or mirrored (two clusters and a mirror).")
        .one_of({"same_cluster", "mirrored"})
        .defaults_to("same_cluster");
const Field k_prefix = Field::string("prefix", "The watched prefix (on the primary).").mandatory();
const Field k_to_prefix =
    Field::string("to_prefix", "The prefix on the backup, when the mirror renames it (mirrored).");
const Field k_from = etcd_connection_field("from", "The primary site's endpoints.");
const Field k_to = etcd_connection_field("to", "The backup site's endpoints.");
const Field k_marker_key =
    Field::string("marker_key",
                  "Canary key written on the primary (default <prefix>__drctl_marker); must be "
                  "under prefix.");
const Field k_from_revision =
    Field::integer("from_revision",
                   "Resume from this revision instead of the current one (same_cluster).")
        .range(1, std::nullopt);
const Field k_move_leader_to = Field::string(
    "move_leader_to", "Member name (or hex id) to move the raft leader to first (same_cluster).");
const Field k_canary_timeout =
    Field::duration("canary_timeout", "How long the marker may take to reach the new watch.")
        .defaults_to("5s");
const Field k_watch_for =
    Field::duration("watch_for",
                    "Keep watching this long after the canary (continuity is proven over it).")
        .defaults_to("0s");
const Field k_allow_relist =
    Field::boolean("allow_relist",
                   "When the start revision is compacted, re-list and continue (else fail).")
        .defaults_to(true);
const Field k_converge_timeout =
    Field::duration("converge_timeout",
                    "How long the backup may take to match the primary (mirrored).")
        .defaults_to("10s");
const Field k_max_diff_keys =
    Field::integer("max_diff_keys", "Keys allowed to differ after converge_timeout (mirrored).")
        .range(0, std::nullopt)
        .defaults_to(0);
const Field k_record_key = Field::string(
    "record_key", "Key on the backup to record {from_revision, to_revision} as JSON (mirrored).");
const Field k_page_size = Field::integer("page_size", "Keys per read when listing the prefix.")
                              .range(1, 100'000)
                              .defaults_to(static_cast<long long>(k_etcd_page_size));
const Field k_events_file =
    Field::string("events_file",
                  "Write every event the new watch delivered (revision, key, type) as JSON lines.");

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

// A phase's result: the failure that ends the attempt, or nullopt to go on.
using Phase = std::optional<Outcome>;

// The failure, with what `report` measured so far.
Outcome fail_keeping(Outcome& report, Status status, const char* error,
                     const std::string& message) {
  return failed(std::move(report), status, error, message);
}
Outcome fail_keeping(Outcome& report, const EtcdError& error, const std::string& what) {
  Outcome failure = etcd_failure(error, what, report.changed);
  return failed(std::move(report), failure.status, failure.evidence["error"], failure.message);
}

// The two sites, each with its name for the prefix (a mirror may rename it on the backup).
struct Sites {
  EtcdSession& from;
  EtcdSession& to;
  const std::string& prefix;
  const std::string& to_prefix;
};

// Where the backup's watch resumes: after `to_revision`, the backup's revision that stands for
// the primary's `from_revision` (the same revision when both are one cluster).
struct ResumePoint {
  std::int64_t from_revision = 0, to_revision = 0;
};

// Moves the raft leader to `target_name` (a member name or hex id). MoveLeader must be sent to
// the current leader: it is reached with the `from` connection spec and the leader's client URLs.
Phase move_leader(EtcdSession& from, const Spec& from_spec, const std::string& target_name,
                  const AttemptContext& ctx, Outcome& report) {
  auto members = from.members(ctx.deadline);
  if (!members) return fail_keeping(report, members.error(), "etcd from: listing members");
  const EtcdMember* target = nullptr;
  for (const auto& member : *members) {
    if (member.name == target_name || hex(member.id) == to_lower(target_name)) target = &member;
  }
  if (target == nullptr) {
    std::vector<std::string> names;
    for (const auto& member : *members) names.push_back(member.name);
    return fail_keeping(report, Status::failed, "no_such_member",
                        fmt::format("etcd: move_leader_to: no member '{}' (members: {})",
                                    target_name, join(names, ", ")));
  }
  auto status = from.status(ctx.deadline);
  if (!status) return fail_keeping(report, status.error(), "etcd from: status");
  report.evidence["leader_before"] = hex(status->leader);
  if (status->leader == target->id) {
    report.evidence["move_leader_ms"] = 0;
    return std::nullopt;
  }
  const EtcdMember* leader = nullptr;
  for (const auto& member : *members) {
    if (member.id == status->leader) leader = &member;
  }
  if (leader == nullptr || leader->client_urls.empty()) {
    return fail_keeping(report, Status::failed, "no_leader",
                        fmt::format("etcd: the leader {} has no client URL", hex(status->leader)));
  }
  Spec leader_spec = from_spec;
  leader_spec.json()[k_etcd_endpoints.name] = leader->client_urls;
  auto session = open_etcd(leader_spec, ctx.deadline, "leader");
  if (!session) return session.error();
  auto started = Clock::now();
  auto moved = (*session)->move_leader(target->id, ctx.deadline);
  if (!moved)
    return fail_keeping(report, moved.error(),
                        fmt::format("etcd: moving the leader to {}", target_name));
  report.changed = Changed::yes;
  report.evidence["move_leader_ms"] = ms_since(started);
  report.evidence["leader_after"] = hex(target->id);
  return std::nullopt;
}

// same_cluster: R through `from` (or from_revision - 1), after an optional leader move.
Phase capture_revision(const Sites& sites, const Spec& spec, const AttemptContext& ctx,
                       Outcome& report, ResumePoint& resume) {
  EtcdRangeRequest request{sites.prefix, etcd_prefix_end(sites.prefix)};
  request.count_only = true;
  auto from_read = sites.from.range(request, ctx.deadline);
  if (!from_read) return fail_keeping(report, from_read.error(), "etcd from: reading the revision");
  auto to_read = sites.to.range(request, ctx.deadline);
  if (!to_read) return fail_keeping(report, to_read.error(), "etcd to: reading the revision");
  if (from_read->header.cluster_id != to_read->header.cluster_id) {
    return fail_keeping(
        report, Status::failed, "different_clusters",
        fmt::format("etcd: from and to are different clusters ({} and {}); use topology: mirrored",
                    hex(from_read->header.cluster_id), hex(to_read->header.cluster_id)));
  }
  resume.from_revision = from_read->header.revision;
  if (spec.has(k_from_revision)) resume.from_revision = spec.integer(k_from_revision) - 1;
  resume.to_revision = resume.from_revision;
  report.evidence["cluster_id"] = hex(from_read->header.cluster_id);
  report.evidence["revision"] = resume.from_revision;
  if (spec.has(k_move_leader_to))
    return move_leader(sites.from, spec.object(k_from), spec.str(k_move_leader_to), ctx, report);
  return std::nullopt;
}

// The last comparison of the prefix on both sites, and how many it took.
struct Convergence {
  PrefixDiff diff;
  int rounds = 0;
};

// Compares the prefix on both sites every 100 ms until they match or `by` comes.
EtcdResult<Convergence> converge(const Sites& sites, std::size_t page_size, Clock::time_point by,
                                 Deadline deadline) {
  Convergence result;
  while (true) {
    auto compared =
        compare_prefixes(sites.from, sites.prefix, sites.to, sites.to_prefix, deadline, page_size);
    if (!compared) return tl::unexpected(compared.error());
    result.diff = *compared;
    ++result.rounds;
    if (result.diff.total() == 0 || Clock::now() + Millis(100) >= by) break;
    std::this_thread::sleep_for(Millis(100));
  }
  return result;
}

// "2 missing (first: k), 1 different (first: j)".
std::string first_differences(const PrefixDiff& diff) {
  std::vector<std::string> parts;
  if (diff.missing)
    parts.push_back(fmt::format("{} missing (first: {})", diff.missing, diff.missing_keys.front()));
  if (diff.extra)
    parts.push_back(fmt::format("{} extra (first: {})", diff.extra, diff.extra_keys.front()));
  if (diff.different)
    parts.push_back(
        fmt::format("{} different (first: {})", diff.different, diff.different_keys.front()));
  return join(parts, ", ");
}

// Records where each side stands, as JSON under `key` on the backup.
Phase record_mapping(const Sites& sites, const std::string& key, const ResumePoint& resume,
                     const AttemptContext& ctx, Outcome& report) {
  nlohmann::json record = {{"from_revision", resume.from_revision},
                           {"to_revision", resume.to_revision},
                           {"prefix", sites.prefix},
                           {"to_prefix", sites.to_prefix},
                           {"run_id", ctx.run_id},
                           {"at", rfc3339_utc(std::chrono::system_clock::now())}};
  auto put = sites.to.put(key, dump_json(record), 0, ctx.deadline);
  if (!put) return fail_keeping(report, put.error(), "etcd to: writing record_key " + key);
  report.changed = Changed::yes;
  report.evidence["record_key"] = key;
  return std::nullopt;
}

// mirrored: wait for the backup to match, then record where each side stands.
Phase compare_sites(const Sites& sites, const Spec& spec, const AttemptContext& ctx,
                    Outcome& report, ResumePoint& resume) {
  auto converge_by =
      std::min(ctx.deadline, Clock::now() + spec.duration(k_converge_timeout).value());
  auto page = static_cast<std::size_t>(spec.integer(k_page_size));
  auto started = Clock::now();
  auto converged = converge(sites, page, converge_by, ctx.deadline);
  if (!converged)
    return fail_keeping(report, converged.error(), "etcd: comparing the prefix on both sites");
  const PrefixDiff& diff = converged->diff;
  report.evidence["compare"] = {{"from_keys", diff.from_keys},
                                {"to_keys", diff.to_keys},
                                {"missing", diff.missing},
                                {"extra", diff.extra},
                                {"different", diff.different},
                                {"missing_keys", keys_json(diff.missing_keys)},
                                {"extra_keys", keys_json(diff.extra_keys)},
                                {"different_keys", keys_json(diff.different_keys)},
                                {"rounds", converged->rounds},
                                {"compare_ms", ms_since(started)}};
  resume.from_revision = diff.from_revision;
  resume.to_revision = diff.to_revision;
  report.evidence["mapping"] = {{"from_revision", resume.from_revision},
                                {"to_revision", resume.to_revision}};
  long long allowed = spec.integer(k_max_diff_keys);
  if (diff.total() > allowed) {
    return fail_keeping(
        report, Status::failed, "diverged",
        fmt::format(
            "etcd: the backup's {} differs from the primary's {} after {}: {} (max_diff_keys {})",
            sites.to_prefix, sites.prefix,
            format_duration(std::chrono::duration_cast<Millis>(Clock::now() - started)),
            first_differences(diff), allowed));
  }
  if (spec.has(k_record_key))
    return record_mapping(sites, spec.str(k_record_key), resume, ctx, report);
  return std::nullopt;
}

// The marker an attempt writes on the primary, and its arrival on the backup's watch.
struct Canary {
  std::string watched_key;  // the marker's key on the watched side (a mirror may rename it)
  std::string value;        // unique to the attempt, so the undo knows the marker is ours
  bool sent = false, seen = false;
  Clock::time_point sent_at;
  double ms = 0;

  // Whether `kv` is the marker, sent and not seen yet.
  bool awaited(const EtcdKeyValue& kv) const {
    return sent && !seen && kv.key == watched_key && kv.value == value;
  }
  void arrived(Clock::time_point at) {
    seen = true;
    ms = ms_since(sent_at, at);
  }
};

// The new watch on the backup's prefix and the proof that it is continuous: opened at the
// resume revision (re-listing the prefix when that is compacted), fed every response, and at
// the end caught up with a linearizable read whose every key must match what it delivered.
// Failures keep what `report` measured so far. There is one per operation: like the
// operation's own fields, its state (compaction, held events, the events file) carries over
// to a retried attempt.
class ContinuousWatch {
 public:
  ContinuousWatch(const Spec& spec, Canary& canary, Outcome& report)
      : m_spec(spec), m_canary(canary), m_report(report) {}

  Phase open(EtcdSession& to, const std::string& prefix, std::int64_t start,
             const AttemptContext& ctx) {
    m_to = &to;
    m_prefix = prefix;
    m_start = start;
    m_tracker = std::make_unique<ContinuityTracker>(start);
    // A read at the start revision fails exactly when a watch from it would be canceled as
    // compacted; knowing it now means the re-list happens before the canary is written.
    EtcdRangeRequest probe{m_prefix, etcd_prefix_end(m_prefix)};
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
    auto watch = m_to->watch(m_prefix, etcd_prefix_end(m_prefix), start, ctx.deadline);
    if (!watch)
      return fail(watch.error(),
                  fmt::format("etcd to: watching {} from revision {}", m_prefix, start));
    m_watch = std::move(*watch);
    return std::nullopt;
  }

  // Writes every delivered event to `path` as a JSON line.
  Phase record_events_to(const std::string& path) {
    // Made anew (never written through a symlink planted at its name), 0644 whatever the umask.
    auto created = create_fresh_file(path, 0644);
    if (created) m_events_file.reset(::fdopen(created->get(), "w"));
    if (!created || !m_events_file)
      return fail_keeping(m_report, Status::failed,
                          created || !created.error().unsafe ? "config" : "unsafe_path",
                          "cannot write events_file " + path +
                              (created ? std::string() : ": " + created.error().message));
    created->release();  // the FILE owns it now
    return std::nullopt;
  }

  // Takes in responses until none arrives by `until` or `keep_going()` says stop.
  template <class KeepGoing>
  Phase follow(Clock::time_point until, const AttemptContext& ctx, KeepGoing keep_going) {
    while (keep_going()) {
      auto response = m_watch->next(until);
      if (!response) return fail(response.error(), "etcd to: watch");
      if (!*response) break;
      if (auto failed = consume(**response, ctx)) return failed;
    }
    return std::nullopt;
  }

  // Catch the watch up to the revision of a linearizable read, then compare every key.
  Phase prove_continuity(const AttemptContext& ctx) {
    EtcdRangeRequest request{m_prefix, etcd_prefix_end(m_prefix)};
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
        if (auto failed = consume(**response, ctx)) return failed;
      } else if (Clock::now() >= ctx.deadline) {
        return fail_keeping(
            m_report, Status::timeout, "watch_behind",
            fmt::format("etcd to: the watch did not reach revision {} by the deadline (at {})", at,
                        m_tracker->last_revision()));
      }
    }
    PrefixCursor cursor(*m_to, m_prefix, at, static_cast<std::size_t>(m_spec.integer(k_page_size)));
    std::int64_t keys = 0;
    while (true) {
      auto kv = cursor.next(ctx.deadline);
      if (!kv) return fail(kv.error(), "etcd to: final read of " + m_prefix);
      if (!*kv) break;
      m_tracker->expect(**kv);
      ++keys;
    }
    m_tracker->finish(at);
    for (const auto& event : m_held) {
      m_tracker->observe(event);
      record(event);
    }
    m_report.evidence["verified_at_revision"] = at;
    m_report.evidence["verified_keys"] = keys;
    return std::nullopt;
  }

  const ContinuityTracker& tracker() const { return *m_tracker; }
  std::int64_t start() const { return m_start; }
  bool was_compacted() const { return m_compacted; }
  std::int64_t relisted() const { return m_relisted; }

  // What the watch delivered, and how it was kept going.
  void add_evidence(nlohmann::json& evidence) const {
    const auto& t = *m_tracker;
    evidence["watch_start_revision"] = m_start;
    evidence["events"] = t.events();
    evidence["lost"] = t.lost();
    evidence["duplicates"] = t.duplicates();
    evidence["out_of_order"] = t.out_of_order();
    evidence["lost_keys"] = keys_json(t.lost_keys());
    evidence["problem_keys"] = keys_json(t.problem_keys());
    evidence["reconnects"] = m_watch->reconnects();
    evidence["watch_endpoint"] = m_watch->endpoint();
    evidence["compacted"] = m_compacted;
    evidence["relisted_keys"] = m_relisted;
  }

 private:
  Outcome fail(const EtcdError& error, const std::string& what) {
    return fail_keeping(m_report, error, what);
  }

  Phase compacted(const AttemptContext& ctx, std::int64_t compact_revision) {
    if (compact_revision > 0) m_report.evidence["compact_revision"] = compact_revision;
    if (!m_spec.boolean(k_allow_relist)) {
      return fail_keeping(
          m_report, Status::failed, "compacted",
          fmt::format("etcd to: revision {} is compacted and allow_relist is false", m_start));
    }
    return relist(ctx);
  }

  // The start revision is compacted: read the whole prefix at a fresh revision and watch
  // from just after it. Consumers must do the same; the report says so.
  Phase relist(const AttemptContext& ctx) {
    m_compacted = true;
    PrefixCursor cursor(*m_to, m_prefix, 0, static_cast<std::size_t>(m_spec.integer(k_page_size)));
    m_tracker.reset();
    std::int64_t keys = 0;
    ContinuityTracker* tracker = nullptr;
    std::unique_ptr<ContinuityTracker> fresh;
    while (true) {
      auto kv = cursor.next(ctx.deadline);
      if (!kv) return fail(kv.error(), "etcd to: re-listing " + m_prefix);
      if (!fresh) {
        fresh = std::make_unique<ContinuityTracker>(cursor.revision() + 1);
        tracker = fresh.get();
      }
      if (!*kv) break;
      tracker->seed(**kv);
      ++keys;
      if (m_canary.awaited(**kv))
        m_canary.arrived(Clock::now());  // arrived before the re-list: its time is an upper bound
    }
    m_relisted = keys;
    m_start = cursor.revision() + 1;
    m_tracker = std::move(fresh);
    auto watch = m_to->watch(m_prefix, etcd_prefix_end(m_prefix), m_start, ctx.deadline);
    if (!watch)
      return fail(watch.error(),
                  fmt::format("etcd to: watching {} from revision {}", m_prefix, m_start));
    m_watch = std::move(*watch);
    return std::nullopt;
  }

  Phase consume(const EtcdWatchResponse& response, const AttemptContext& ctx) {
    // etcd confirms a watch, then cancels it with compact_revision when its start is gone.
    if (response.canceled && response.compact_revision > 0 && !m_compacted &&
        m_tracker->events() == 0) {
      return compacted(ctx, response.compact_revision);
    }
    if (response.canceled) {
      return fail_keeping(
          m_report, Status::failed, "watch_canceled",
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
      if (!event.is_delete && m_canary.awaited(event.kv)) m_canary.arrived(response.received_at);
    }
    // Only a response without events (a progress notification) promises that everything up
    // to its header revision has been sent.
    if (response.events.empty()) m_progress = std::max(m_progress, response.header.revision);
    return std::nullopt;
  }

  void record(const EtcdEvent& event) {
    if (!m_events_file) return;
    std::string line = dump_json(nlohmann::json{{"revision", event.kv.mod_revision},
                                                {"key", event.kv.key},
                                                {"type", event.is_delete ? "DELETE" : "PUT"}}) +
                       '\n';
    std::fwrite(line.data(), 1, line.size(), m_events_file.get());
  }

  const Spec& m_spec;
  Canary& m_canary;
  Outcome& m_report;
  EtcdSession* m_to = nullptr;
  std::string m_prefix;  // the backup's name for it
  std::unique_ptr<EtcdWatch> m_watch;
  std::unique_ptr<ContinuityTracker> m_tracker;
  std::int64_t m_start = 0, m_relisted = 0, m_progress = 0, m_hold_after = 0;
  bool m_compacted = false;
  std::vector<EtcdEvent> m_held;  // events after the final read's revision, observed last
  std::unique_ptr<std::FILE, int (*)(std::FILE*)> m_events_file{nullptr, &std::fclose};
};

class HandoffOperation : public Operation {
 public:
  explicit HandoffOperation(Spec spec) : m_spec(std::move(spec)) { etcd_client(); }

  Outcome run(const AttemptContext& ctx) override {
    m_outcome = Outcome();
    m_outcome.changed = Changed::no;
    m_mirrored = m_spec.str(k_topology) == "mirrored";
    m_prefix = m_spec.str(k_prefix);
    m_to_prefix = m_spec.has(k_to_prefix) ? m_spec.str(k_to_prefix) : m_prefix;
    m_marker = m_spec.has(k_marker_key) ? m_spec.str(k_marker_key) : m_prefix + "__drctl_marker";
    m_outcome.evidence["topology"] = m_mirrored ? "mirrored" : "same_cluster";
    m_outcome.evidence["prefix"] = m_prefix;

    auto from = open_etcd_for_writes(m_spec.object(k_from), ctx, "from");
    if (!from) return from.error();
    auto to = open_etcd_for_writes(m_spec.object(k_to), ctx, "to");
    if (!to) return to.error();
    m_from = std::move(*from);
    m_to = std::move(*to);

    const Sites sites{*m_from, *m_to, m_prefix, m_to_prefix};
    if (auto failed = m_mirrored ? compare_sites(sites, m_spec, ctx, m_outcome, m_resume)
                                 : capture_revision(sites, m_spec, ctx, m_outcome, m_resume))
      return *failed;
    if (auto failed = m_watch.open(*m_to, m_to_prefix, m_resume.to_revision + 1, ctx))
      return *failed;
    if (m_spec.has(k_events_file)) {
      if (auto failed = m_watch.record_events_to(m_spec.str(k_events_file))) return *failed;
    }
    if (auto failed = canary(ctx)) return *failed;
    if (auto failed = watch_for(ctx)) return *failed;
    if (auto failed = m_watch.prove_continuity(ctx)) return *failed;
    return finish();
  }

  bool can_undo() const override { return true; }

  // Written before the marker (its value, unique to this attempt), then with its revision.
  nlohmann::json undo_state() const override {
    if (m_marker_revision == 0 && m_canary.value.empty()) return nullptr;
    return {{"marker", m_marker},
            {"marker_value", m_canary.value},
            {"marker_revision", m_marker_revision}};
  }

  void adopt_undo_state(const nlohmann::json& state) override {
    if (!state.is_object()) return;
    m_marker = json_text(state, "marker");
    m_canary.value = json_text(state, "marker_value");
    m_marker_revision = json_int(state, "marker_revision");
  }

  // Deletes the marker, if this run wrote it and nobody changed it since. Without its revision
  // (the attempt was cut short around the write), the value it was to write identifies it.
  Outcome undo(const AttemptContext& ctx) override {
    if (m_marker_revision == 0 && m_canary.value.empty())
      return Outcome::fail(Status::skipped, "etcd: no marker was written", Changed::no);
    auto from = open_etcd_for_writes(m_spec.object(k_from), ctx, "from");
    if (!from) return from.error();
    std::int64_t revision = m_marker_revision;
    if (revision == 0) {
      EtcdRangeRequest request;
      request.key = m_marker;
      auto current = (*from)->range(request, ctx.deadline);
      if (!current)
        return etcd_failure(current.error(), "etcd read marker " + m_marker, Changed::no);
      if (current->kvs.empty() || current->kvs.front().value != m_canary.value) {
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
  Outcome fail(Status status, const char* error, const std::string& message) {
    return fail_keeping(m_outcome, status, error, message);
  }
  Outcome fail(const EtcdError& error, const std::string& what) {
    return fail_keeping(m_outcome, error, what);
  }

  // Write the marker on the primary side and time its arrival on the backup's watch.
  Phase canary(const AttemptContext& ctx) {
    m_canary.watched_key = m_mirrored && m_marker.rfind(m_prefix, 0) == 0
                               ? m_to_prefix + m_marker.substr(m_prefix.size())
                               : m_marker;
    if (m_canary.watched_key.rfind(m_to_prefix, 0) != 0) {
      return fail(
          Status::failed, "config",
          fmt::format("etcd: marker_key {} is outside the watched prefix {}", m_marker, m_prefix));
    }
    m_canary.value = dump_json(nlohmann::json{
        {"run_id", ctx.run_id}, {"at", rfc3339_utc(std::chrono::system_clock::now())}});
    m_marker_revision = 0;
    if (!ctx.save_undo_state()) {  // the marker is this step's one change: its undo goes first
      m_canary.value.clear();
      return Outcome::journal_refused();
    }
    m_canary.sent_at = Clock::now();
    m_canary.sent = true;
    auto put = m_from->put(m_marker, m_canary.value, 0, ctx.deadline);
    if (!put) return fail(put.error(), "etcd from: writing the marker " + m_marker);
    m_outcome.changed = Changed::yes;
    m_marker_revision = put->header.revision;
    m_outcome.evidence["marker_key"] = m_marker;
    m_outcome.evidence["marker_revision"] = m_marker_revision;
    auto timeout = m_spec.duration(k_canary_timeout).value();
    auto until = std::min(ctx.deadline, m_canary.sent_at + timeout);
    if (auto failed = m_watch.follow(until, ctx, [this] { return !m_canary.seen; })) return failed;
    if (!m_canary.seen) {
      return fail(Status::timeout, "canary_timeout",
                  fmt::format("etcd: the marker {} written on the primary did not reach the "
                              "backup's watch within {}{}",
                              m_marker, format_duration(timeout),
                              m_mirrored ? " (is the mirror running?)" : ""));
    }
    m_outcome.evidence["canary_ms"] = m_canary.ms;
    return std::nullopt;
  }

  // Keep watching for watch_for after the canary: continuity is proven over that time too.
  Phase watch_for(const AttemptContext& ctx) {
    auto duration = m_spec.duration(k_watch_for).value();
    auto until = std::min(ctx.deadline, Clock::now() + duration);
    return m_watch.follow(until, ctx, [until] { return Clock::now() < until; });
  }

  Outcome finish() {
    const auto& t = m_watch.tracker();
    auto& e = m_outcome.evidence;
    m_watch.add_evidence(e);
    e["to_revision"] = m_resume.to_revision;
    auto& out = m_outcome.outputs;
    out["revision"] = std::to_string(m_resume.from_revision);
    out["to_revision"] = std::to_string(m_resume.to_revision);
    out["canary_ms"] = fmt::format("{:.1f}", m_canary.ms);
    out["events"] = std::to_string(t.events());
    out["relisted"] = std::to_string(m_watch.relisted());
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
        m_to_prefix, m_mirrored ? "on the mirror" : "on the backup", m_watch.start(),
        m_mirrored ? fmt::format(" (primary revision {})", m_resume.from_revision) : "",
        m_canary.ms, t.events(),
        m_watch.was_compacted()
            ? fmt::format("; start was compacted, re-listed {} keys", m_watch.relisted())
            : "");
    if (m_watch.was_compacted())
      m_outcome.warnings.push_back(
          "the start revision was compacted: watchers must re-list the prefix");
    return std::move(m_outcome);
  }

  Spec m_spec;
  Outcome m_outcome;  // what this attempt measured so far
  bool m_mirrored = false;
  std::string m_prefix, m_to_prefix, m_marker;
  std::unique_ptr<EtcdSession> m_from, m_to;
  ResumePoint m_resume;
  Canary m_canary;
  std::int64_t m_marker_revision = 0;
  ContinuousWatch m_watch{m_spec, m_canary, m_outcome};
};

// The keys and the leader the step would change, read now: the marker on `from`, the raft
// leader (move_leader_to), the record on `to` (mirrored); where the watch would resume.
Preview preview_handoff(const Spec& spec, const AttemptContext& ctx, PreviewOverlay& overlay) {
  Preview preview;
  const bool mirrored = spec.str(k_topology) == "mirrored";
  const std::string prefix = spec.str(k_prefix);
  const std::string marker =
      spec.has(k_marker_key) ? spec.str(k_marker_key) : prefix + "__drctl_marker";
  // A key's value now, or as an earlier step's preview leaves it; nullopt: unreadable.
  auto read_key = [&](EtcdSession& session, const std::string& key, std::string& as_after,
                      std::uint64_t& cluster) -> std::optional<std::string> {
    auto read = session.range(EtcdRangeRequest{key, ""}, ctx.deadline);
    if (!read) {
      preview.unreadable.push_back(etcd_failure(read.error(), "etcd " + key).message);
      return std::nullopt;
    }
    cluster = read->header.cluster_id;
    if (const auto* earlier = overlay.find(fmt::format("etcd:{:x}:{}", cluster, key))) {
      as_after = earlier->step;
      return earlier->value.value_or("absent");
    }
    return read->kvs.empty() ? std::string("absent") : read->kvs.front().value;
  };
  auto from = open_etcd(spec.object(k_from), ctx.deadline, "from");
  if (!from) {
    preview.unreadable.push_back(from.error().message);
  } else {
    std::string as_after;
    std::uint64_t cluster = 0;
    if (auto now = read_key(**from, marker, as_after, cluster)) {
      preview.state("etcd " + marker + " (the canary marker)", *now,
                    "{\"run_id\": <this run>, \"at\": <when written>} (deleted by its undo)",
                    as_after);
      overlay.set(fmt::format("etcd:{:x}:{}", cluster, marker), "<the canary marker>");
    }
    if (spec.has(k_move_leader_to)) {
      auto members = (*from)->members(ctx.deadline);
      auto status = (*from)->status(ctx.deadline);
      if (!members || !status) {
        preview.unreadable.push_back(
            etcd_failure(!members ? members.error() : status.error(), "etcd from: the raft leader")
                .message);
      } else {
        std::string leader = hex(status->leader);
        for (const auto& member : *members) {
          if (member.id == status->leader) leader = member.name;
        }
        preview.state("etcd raft leader", leader, spec.str(k_move_leader_to));
      }
    }
    if (!mirrored) {
      auto revision = (*from)->range(EtcdRangeRequest{prefix, ""}, ctx.deadline);
      if (revision)
        preview.notes.push_back(fmt::format("the watch would resume on {} from revision {} (now)",
                                            join(spec.object(k_to).strings(k_etcd_endpoints), ","),
                                            spec.has(k_from_revision)
                                                ? spec.integer(k_from_revision)
                                                : revision->header.revision + 1));
    }
  }
  if (mirrored && spec.has(k_record_key)) {
    auto to = open_etcd(spec.object(k_to), ctx.deadline, "to");
    std::string as_after;
    std::uint64_t cluster = 0;
    if (!to) {
      preview.unreadable.push_back(to.error().message);
    } else if (auto now = read_key(**to, spec.str(k_record_key), as_after, cluster)) {
      preview.state("etcd " + spec.str(k_record_key) + " (the handoff record)", *now,
                    "{\"from_revision\": <primary's>, \"to_revision\": <backup's>}", as_after);
      overlay.set(fmt::format("etcd:{:x}:{}", cluster, spec.str(k_record_key)),
                  "<the handoff record>");
    }
  }
  if (spec.has(k_events_file))
    preview.notes.push_back("the events would be written to " + spec.str(k_events_file));
  return preview;
}

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
        k_topology,     k_prefix,           k_to_prefix,      k_from,           k_to,
        k_marker_key,   k_from_revision,    k_move_leader_to, k_canary_timeout, k_watch_for,
        k_allow_relist, k_converge_timeout, k_max_diff_keys,  k_record_key,     k_page_size,
        k_events_file};
    return fields;
  }
  std::vector<std::string> outputs() const override {
    return {"revision", "to_revision", "canary_ms", "events", "relisted"};
  }
  std::vector<SpecProblem> check_spec(const Spec& spec) const override {
    auto problems = check_etcd_connection(spec.object(k_from), k_from.name);
    auto to = check_etcd_connection(spec.object(k_to), k_to.name);
    problems.insert(problems.end(), to.begin(), to.end());
    bool mirrored = spec.str(k_topology) == "mirrored";
    for (const Field* key : {&k_to_prefix, &k_record_key}) {
      if (!mirrored && spec.has(*key))
        problems.push_back({key->name, "only for topology: mirrored"});
    }
    for (const Field* key : {&k_from_revision, &k_move_leader_to}) {
      if (mirrored && spec.has(*key))
        problems.push_back(
            {key->name, "only for topology: same_cluster (a mirror's revisions differ)"});
    }
    if (spec.has(k_marker_key) && spec.str(k_marker_key).rfind(spec.str(k_prefix), 0) != 0) {
      problems.push_back(
          {k_marker_key.name,
           fmt::format("must be under prefix '{}' so the watch can see it", spec.str(k_prefix))});
    }
    return problems;
  }
  std::string target(const Spec& spec) const override {
    return fmt::format("etcd {} -> {} {}", join(spec.object(k_from).strings(k_etcd_endpoints), ","),
                       join(spec.object(k_to).strings(k_etcd_endpoints), ","), spec.str(k_prefix));
  }
  std::string describe(const Spec& spec) const override {
    bool mirrored = spec.str(k_topology) == "mirrored";
    return fmt::format(
        "{} then watch {} through {}, write a marker through {} and prove the watch continuous",
        mirrored ? "compare the prefix on both clusters" : "capture the revision",
        spec.str(k_prefix), join(spec.object(k_to).strings(k_etcd_endpoints), ","),
        join(spec.object(k_from).strings(k_etcd_endpoints), ","));
  }
  // The marker's undo state goes first; moving the leader (which nothing undoes) does not wait.
  bool undo_state_before_changes(const Spec& spec) const override {
    return !spec.has(k_move_leader_to);
  }
  std::string undo_description(const Spec&) const override { return "delete the marker key"; }
  std::unique_ptr<Operation> prepare(const Spec& spec) const override {
    return std::make_unique<HandoffOperation>(spec);
  }
  Preview preview(const Spec& spec, const AttemptContext& ctx,
                  PreviewOverlay& overlay) const override {
    return preview_handoff(spec, ctx, overlay);
  }
};

}  // namespace

std::unique_ptr<Kind> make_etcd_watch_handoff_kind() {
  return std::make_unique<HandoffKind>();
}

}  // namespace drctl
