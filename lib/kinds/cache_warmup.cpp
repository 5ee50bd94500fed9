// cache_warmup: the local fallback snapshot of a config prefix, refreshed from the backup site.
// Order matters: read (paged, one revision) -> write an unnamed file -> fsync -> verify every
// checksum and the key count against the source -> name it -> switch `current` -> prune.
// Any failure before the switch leaves `current` and the directory as they were.
#include "kinds/cache_warmup.hpp"

#include <fmt/format.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstdio>

#include "cache/snapshot_reader.hpp"
#include "cache/snapshot_store.hpp"
#include "cache/snapshot_writer.hpp"
#include "clients/curl_api.hpp"
#include "clients/etcd_connection.hpp"
#include "etcd/prefix_cursor.hpp"
#include "kinds/failure.hpp"
#include "kinds/warmup_hooks.hpp"
#include "util/json_fields.hpp"
#include "util/secrets.hpp"
#include "util/strings.hpp"

namespace drctl {
namespace {

const Field k_source = etcd_connection_field("source", "The etcd to read (the backup site's).");
const Field k_prefix = Field::string("prefix", "The config prefix to snapshot.").mandatory();
const Field k_revision =
    Field::integer(
        "revision",
        "Read at this revision (e.g. ${steps.handoff.to_revision}); default: the newest.")
        .range(1, std::nullopt);
const Field k_dir =
    Field::string("dir", "Snapshot directory (created 0750 if missing).").mandatory();
const Field k_keep = Field::integer("keep", "Versions to keep.").range(1, 1000).defaults_to(3);
const Field k_page_size = Field::integer("page_size", "Keys per read.")
                              .range(1, 100'000)
                              .defaults_to(static_cast<long long>(k_etcd_page_size));
const Field k_hooks =
    Field::object_list("hooks", "Warmup hooks run after the switch.", warmup_hook_fields());
const Field k_hooks_parallel =
    Field::integer("hooks_parallel", "Hooks in flight at once.").range(1, 256).defaults_to(4);

// A snapshot directory (or its lock) that could not be used: `unsafe_path` when refused
// because others could change it, else `error_class`.
Outcome store_failure(const PathError& error, const char* error_class) {
  return failed(Status::failed, error.unsafe ? "unsafe_path" : error_class,
                "cache: " + error.message);
}

class CacheWarmupOperation : public Operation {
 public:
  explicit CacheWarmupOperation(Spec spec) : m_spec(std::move(spec)) {
    etcd_client();
    if (m_spec.has(k_hooks)) curl_api();
  }

  Outcome run(const AttemptContext& ctx) override {
    const std::string dir = m_spec.str(k_dir);
    const std::string prefix = m_spec.str(k_prefix);
    auto store = SnapshotStore::open_for_writing(dir, true);
    if (!store) return store_failure(store.error(), "dir");
    if (auto locked = store->lock(); !locked) return store_failure(locked.error(), "locked");
    auto session = open_etcd(m_spec.object(k_source), ctx.deadline, "source");
    if (!session) return session.error();

    auto writer = SnapshotWriter::create(dir, prefix);
    if (!writer) return failed(Status::failed, "write", "cache: " + writer.error());
    auto started = std::chrono::steady_clock::now();
    auto ms_since = [](std::chrono::steady_clock::time_point t) {
      return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t)
          .count();
    };
    PrefixCursor cursor(**session, prefix, m_spec.integer(k_revision),
                        static_cast<std::size_t>(m_spec.integer(k_page_size)));
    while (true) {
      auto kv = cursor.next(ctx.deadline);
      if (!kv) return etcd_failure(kv.error(), fmt::format("cache: reading {} from etcd", prefix));
      if (!*kv) break;
      if (auto added = (*writer)->add(**kv); !added)
        return failed(Status::failed, "write", "cache: " + added.error());
      if (ctx.cancelled())
        return failed(Status::failed, "interrupted",
                      "cache: interrupted while writing; nothing was switched");
    }
    double read_ms = ms_since(started);
    auto finishing = std::chrono::steady_clock::now();
    auto bytes = (*writer)->finish(cursor.cluster_id(), cursor.revision());
    double finish_ms = ms_since(finishing);
    auto verifying = std::chrono::steady_clock::now();
    if (!bytes) return failed(Status::failed, "write", "cache: " + bytes.error());

    // Verify what is on disk before it gets a name.
    auto reader = SnapshotReader::open_fd((*writer)->fd(), "the new snapshot");
    if (!reader) return failed(Status::failed, "verify", "cache: " + reader.error());
    if (auto problem = reader->verify(); !problem.empty())
      return failed(Status::failed, "verify", "cache: the new snapshot is corrupt: " + problem);
    if (cursor.total() >= 0 &&
        reader->header().key_count != static_cast<std::uint64_t>(cursor.total())) {
      return failed(
          Status::failed, "verify",
          fmt::format("cache: the new snapshot has {} keys, etcd counted {} at revision {}",
                      reader->header().key_count, cursor.total(), cursor.revision()));
    }
    double verify_ms = ms_since(verifying);
    const std::string name = store->next_name();
    if (auto linked = (*writer)->link_as(name); !linked)
      return failed(Status::failed, "write", "cache: " + linked.error());
    if (auto synced = store->sync_dir(); !synced)
      return failed(Status::failed, "write", "cache: " + synced.error());

    if (!m_adopted)
      m_previous =
          store->current();  // a resumed run keeps the version from before the first attempt
    m_dir = dir;
    m_switched_to = name;
    if (!ctx.save_undo_state()) {
      m_switched_to.clear();  // written beside the others, never made current: nothing to undo
      return Outcome::journal_refused();
    }
    if (auto switched = store->switch_current(name); !switched)
      return failed(Status::failed, "switch", "cache: " + switched.error());
    std::vector<std::string> protect = {name};
    if (m_previous) protect.push_back(*m_previous);
    auto pruned = store->prune(static_cast<int>(m_spec.integer(k_keep)), protect);

    Outcome outcome;
    outcome.changed = Changed::yes;
    outcome.evidence = {
        {"dir", dir},
        {"file", name},
        {"previous", m_previous ? nlohmann::json(*m_previous) : nlohmann::json(nullptr)},
        {"keys", reader->header().key_count},
        {"bytes", *bytes},
        {"revision", cursor.revision()},
        {"pages", cursor.pages()},
        {"pruned", pruned},
        {"read_ms", read_ms},
        {"finish_ms", finish_ms},
        {"verify_ms", verify_ms}};
    outcome.outputs = {{"version", name.substr(9, 6)},
                       {"keys", std::to_string(reader->header().key_count)},
                       {"bytes", std::to_string(*bytes)},
                       {"revision", std::to_string(cursor.revision())}};
    outcome.message =
        fmt::format("cache: {} keys of {} at revision {} in {}/{} ({} bytes), now current",
                    reader->header().key_count, prefix, cursor.revision(), dir, name, *bytes);
    if (m_spec.has(k_hooks)) {
      Outcome hooks = run_warmup_hooks(m_spec.objects(k_hooks),
                                       static_cast<int>(m_spec.integer(k_hooks_parallel)), ctx);
      outcome.evidence["hooks"] = hooks.evidence["hooks"];
      if (hooks.status != Status::ok) {
        outcome.status = hooks.status;
        outcome.evidence["error"] = "hook";
        outcome.message = "cache switched, but " + hooks.message;
        return outcome;
      }
      outcome.message += "; " + hooks.message;
    }
    outcome.status = Status::ok;
    return outcome;
  }

  bool can_undo() const override { return true; }

  nlohmann::json undo_state() const override {
    if (m_switched_to.empty()) return nullptr;
    return {{"dir", m_dir},
            {"switched_to", m_switched_to},
            {"previous", m_previous ? nlohmann::json(*m_previous) : nlohmann::json(nullptr)}};
  }

  void adopt_undo_state(const nlohmann::json& state) override {
    if (!state.is_object() || json_text(state, "dir") != m_spec.str(k_dir)) return;
    m_adopted = true;
    m_dir = json_member(state, "dir");
    m_switched_to = json_text(state, "switched_to");
    if (json_member(state, "previous").is_string())
      m_previous = json_member(state, "previous").get<std::string>();
  }

  // Points `current` back at the version it had before this step.
  Outcome undo(const AttemptContext&) override {
    if (m_switched_to.empty())
      return Outcome::fail(Status::skipped, "cache: nothing was switched", Changed::no);
    auto store = SnapshotStore::open_for_writing(m_dir, false);
    if (!store) return store_failure(store.error(), "dir");
    if (auto locked = store->lock(); !locked) return store_failure(locked.error(), "locked");
    if (store->current() == m_previous)
      return Outcome::fail(Status::skipped,
                           fmt::format("cache: {}/current was not switched", m_dir), Changed::no);
    if (store->current() != m_switched_to) {
      return failed(Status::failed, "changed_since",
                    fmt::format("cache: {}/current no longer points at {}; left alone", m_dir,
                                m_switched_to));
    }
    auto restored = m_previous ? store->switch_current(*m_previous) : store->remove_current();
    if (!restored) return failed(Status::failed, "switch", "cache: " + restored.error());
    Outcome outcome = Outcome::ok(
        m_previous ? fmt::format("cache: {}/current points at {} again", m_dir, *m_previous)
                   : fmt::format("cache: {}/current removed (there was none before)", m_dir));
    outcome.changed = Changed::yes;
    return outcome;
  }

 private:
  Spec m_spec;
  std::string m_dir, m_switched_to;
  std::optional<std::string> m_previous;
  bool m_adopted = false;
};

// `current` now (or as an earlier step's preview leaves it) -> the version the step would
// write, with what it would hold (a count-only read of the prefix); changes nothing.
Preview preview_cache(const Spec& spec, const AttemptContext& ctx, PreviewOverlay& overlay) {
  Preview preview;
  const std::string dir = spec.str(k_dir);
  const std::string resource = "cache:" + dir;
  std::string before = "none", next = "snapshot-000001.drs", as_after;
  if (const auto* earlier = overlay.find(resource)) {
    as_after = earlier->step;
    before = earlier->value.value_or("none");
    int number = 0;
    if (std::sscanf(before.c_str(), "snapshot-%d.drs", &number) == 1)
      next = fmt::format("snapshot-{:06d}.drs", number + 1);
  } else if (struct stat st{}; ::stat(dir.c_str(), &st) != 0 && errno == ENOENT) {
    before = "none (no directory yet: it would be created 0750)";
  } else if (auto store = SnapshotStore::open(dir, false); !store) {
    preview.unreadable.push_back("cache: " + store.error());
    return preview;
  } else {
    before = store->current().value_or("none");
    next = store->next_name();
  }
  std::string holds;
  if (auto session = open_etcd(spec.object(k_source), ctx.deadline, "source"); !session) {
    preview.unreadable.push_back(session.error().message);
  } else {
    const std::string prefix = spec.str(k_prefix);
    EtcdRangeRequest count{prefix, etcd_prefix_end(prefix)};
    count.count_only = true;
    if (spec.has(k_revision)) count.revision = spec.integer(k_revision);
    if (auto read = (*session)->range(count, ctx.deadline); !read) {
      preview.unreadable.push_back(
          etcd_failure(read.error(), "cache: counting " + prefix + " in etcd").message);
    } else {
      holds = fmt::format(" ({} keys of {} at revision {})", read->count, prefix,
                          count.revision ? count.revision : read->header.revision);
    }
  }
  preview.state(dir + "/current", before, next + holds, as_after);
  if (spec.has(k_hooks))
    preview.notes.push_back(fmt::format("then {} warmup hooks (not run: they only warm)",
                                        spec.objects(k_hooks).size()));
  overlay.set(resource, next);
  return preview;
}

class CacheWarmupKind : public Kind {
 public:
  std::string_view name() const override { return "cache_warmup"; }
  std::string_view summary() const override {
    return "Snapshot an etcd prefix into a verified, versioned fallback file, switch `current` to "
           "it atomically, then run warmup hooks.";
  }
  bool allowed_as(Role role) const override { return role == Role::step; }
  const Fields& fields() const override {
    static const Fields fields = {k_source, k_prefix,    k_revision, k_dir,
                                  k_keep,   k_page_size, k_hooks,    k_hooks_parallel};
    return fields;
  }
  std::vector<std::string> outputs() const override {
    return {"version", "keys", "bytes", "revision"};
  }
  std::vector<SpecProblem> check_spec(const Spec& spec) const override {
    auto problems = check_etcd_connection(spec.object(k_source), k_source.name);
    auto hooks = check_warmup_hooks(spec, k_hooks.name);
    problems.insert(problems.end(), hooks.begin(), hooks.end());
    return problems;
  }
  std::string target(const Spec& spec) const override {
    return fmt::format("{} -> {}", spec.str(k_prefix), spec.str(k_dir));
  }
  std::string describe(const Spec& spec) const override {
    return fmt::format("snapshot {} from {} into {}, verify, switch current{}", spec.str(k_prefix),
                       join(spec.object(k_source).strings(k_etcd_endpoints), ","), spec.str(k_dir),
                       spec.has(k_hooks)
                           ? fmt::format(", then {} warmup hooks", spec.objects(k_hooks).size())
                           : "");
  }
  // The new snapshot is written beside the others and hooks only warm; the change that matters,
  // switching `current`, waits for its undo state.
  bool undo_state_before_changes(const Spec&) const override { return true; }
  std::string undo_description(const Spec& spec) const override {
    return fmt::format("point {}/current back at the previous version", spec.str(k_dir));
  }
  std::unique_ptr<Operation> prepare(const Spec& spec) const override {
    return std::make_unique<CacheWarmupOperation>(spec);
  }
  Preview preview(const Spec& spec, const AttemptContext& ctx,
                  PreviewOverlay& overlay) const override {
    return preview_cache(spec, ctx, overlay);
  }
};

}  // namespace

std::unique_ptr<Kind> make_cache_warmup_kind() {
  return std::make_unique<CacheWarmupKind>();
}

}  // namespace drctl
