#include "kinds/etcd_put.hpp"

#include <fmt/format.h>

#include "clients/etcd_connection.hpp"
#include "kinds/failure.hpp"
#include "util/json_fields.hpp"
#include "util/secrets.hpp"
#include "util/strings.hpp"

namespace drctl {
namespace {

const Field k_etcd = etcd_connection_field("etcd", "The cluster to write to.");
const Field k_key = Field::string("key", "Key to write.").mandatory();
const Field k_value = Field::string("value", "Value to write.").mandatory();
const Field k_expect_value =
    Field::string("expect_value", "Write only if the key currently holds this value.");
const Field k_expect_mod_revision =
    Field::integer("expect_mod_revision",
                   "Write only if the key's mod_revision is this (0: the key must not exist).")
        .range(0, std::nullopt);

class EtcdPutOperation : public Operation {
 public:
  explicit EtcdPutOperation(Spec spec) : m_spec(std::move(spec)) { etcd_client(); }

  // Reads the key, checks the playbook's condition against it, journals the value it is about to
  // replace, then writes only if the key is still as read (one Txn): the undo state is on disk
  // before the change, and a concurrent writer is never overwritten unseen.
  Outcome run(const AttemptContext& ctx) override {
    auto session = open_etcd_for_writes(m_spec.object(k_etcd), ctx, "put");
    if (!session) return session.error();
    const std::string key = m_spec.str(k_key);
    const std::string value = m_spec.str(k_value);
    EtcdPutCondition wanted;
    if (m_spec.has(k_expect_value)) wanted.value = m_spec.str(k_expect_value);
    if (m_spec.has(k_expect_mod_revision))
      wanted.mod_revision = m_spec.integer(k_expect_mod_revision);
    const std::string what = fmt::format("etcd put {}", key);

    for (int attempt = 0; attempt < 5; ++attempt) {
      auto read = (*session)->range(EtcdRangeRequest{key, ""}, ctx.deadline);
      if (!read) return etcd_failure(read.error(), what, Changed::no);
      std::optional<EtcdKeyValue> current;
      if (!read->kvs.empty()) current = read->kvs.front();
      if (m_adopted && current && current->value == value) {
        // Resumed after a crash that came after the write: the key already holds our value.
        m_revision = current->mod_revision;
        return written(key, what, (*session)->endpoint(),
                       "already held the value (written by the interrupted run)");
      }
      if (!satisfies(current, wanted)) {
        return failed(Status::failed, "compare_failed",
                      fmt::format("{}: compare failed: {} (expected {})", what,
                                  describe_current(current), describe_condition(wanted)));
      }
      if (!m_adopted) m_previous = current;
      m_pending = true;
      if (!ctx.save_undo_state()) {
        m_pending = m_adopted;  // an adopted state still describes the killed attempt
        return Outcome::journal_refused();
      }
      EtcdPutCondition unchanged;
      unchanged.mod_revision = current ? current->mod_revision : 0;
      auto put = (*session)->put_if(key, value, unchanged, 0, ctx.deadline);
      if (!put) return etcd_failure(put.error(), what, Changed::unknown);
      if (!put->succeeded) continue;  // changed between the read and the write: read again
      m_revision = put->header.revision;
      return written(key, what, (*session)->endpoint(),
                     m_previous ? "replaced its value" : "created it");
    }
    return failed(
        Status::failed, "contended",
        fmt::format("{}: the key kept changing under concurrent writers; not written", what));
  }

  nlohmann::json undo_state() const override {
    if (!m_pending) return nullptr;
    nlohmann::json state = {
        {"key", m_spec.str(k_key)}, {"revision", m_revision}, {"previous", nullptr}};
    if (m_previous)
      state["previous"] = {{"value", m_previous->value},
                           {"mod_revision", m_previous->mod_revision}};
    return state;
  }

  void adopt_undo_state(const nlohmann::json& state) override {
    if (!state.is_object() || json_text(state, "key") != m_spec.str(k_key)) return;
    m_adopted = m_pending = true;
    m_revision = json_int(state, "revision");
    m_done = m_revision != 0;
    m_previous.reset();
    if (json_member(state, "previous").is_object()) {
      EtcdKeyValue previous;
      previous.key = json_member(state, "key");
      previous.value = json_text(json_member(state, "previous"), "value");
      previous.mod_revision = json_int(json_member(state, "previous"), "mod_revision");
      m_previous = previous;
    }
  }

  bool can_undo() const override { return true; }

  // Puts the previous value back (or deletes a key that did not exist), but only while the key
  // still holds what this step wrote: someone else's later change is never overwritten.
  Outcome undo(const AttemptContext& ctx) override {
    const std::string key = m_spec.str(k_key);
    const std::string what = fmt::format("etcd restore {}", key);
    if (!m_pending)
      return Outcome::fail(Status::skipped, what + ": nothing was written", Changed::no);
    auto session = open_etcd_for_writes(m_spec.object(k_etcd), ctx, "restore");
    if (!session) return session.error();
    if (!m_done) {
      // Interrupted between the journaled intent and the journaled write: look at the key.
      auto read = (*session)->range(EtcdRangeRequest{key, ""}, ctx.deadline);
      if (!read) return etcd_failure(read.error(), what, Changed::no);
      if (read->kvs.empty() || read->kvs.front().value != m_spec.str(k_value)) {
        return Outcome::fail(
            Status::skipped,
            what + ": the interrupted write did not happen (the key does not hold its value)",
            Changed::no);
      }
      m_revision = read->kvs.front().mod_revision;
    }
    if (m_previous) {
      EtcdPutCondition ours;
      ours.mod_revision = m_revision;
      auto put = (*session)->put_if(key, m_previous->value, ours, 0, ctx.deadline);
      if (!put) return etcd_failure(put.error(), what, Changed::unknown);
      if (!put->succeeded) return changed_since(what, put->previous);
      Outcome outcome = Outcome::ok(
          fmt::format("{}: previous value restored at revision {}", what, put->header.revision));
      outcome.changed = Changed::yes;
      return outcome;
    }
    auto erased = (*session)->erase_if(key, m_revision, ctx.deadline);
    if (!erased) return etcd_failure(erased.error(), what, Changed::unknown);
    if (!*erased) return changed_since(what, std::nullopt);
    Outcome outcome = Outcome::ok(fmt::format("{}: deleted (it did not exist before)", what));
    outcome.changed = Changed::yes;
    return outcome;
  }

 private:
  Outcome written(const std::string& key, const std::string& what, const std::string& endpoint,
                  const char* how) {
    m_done = true;
    Outcome outcome;
    outcome.status = Status::ok;
    outcome.changed = Changed::yes;
    outcome.evidence = {{"key", key},
                        {"revision", m_revision},
                        {"endpoint", endpoint},
                        {"created", !m_previous.has_value()}};
    if (m_previous) outcome.evidence["previous_mod_revision"] = m_previous->mod_revision;
    outcome.outputs["revision"] = std::to_string(m_revision);
    outcome.outputs["previous_value"] = m_previous ? redact(m_previous->value) : "";
    outcome.message = fmt::format("{}: revision {} ({})", what, m_revision, how);
    return outcome;
  }

  static bool satisfies(const std::optional<EtcdKeyValue>& current,
                        const EtcdPutCondition& wanted) {
    if (wanted.value && (!current || current->value != *wanted.value)) return false;
    if (wanted.mod_revision && (current ? current->mod_revision : 0) != *wanted.mod_revision)
      return false;
    return true;
  }

  Outcome changed_since(const std::string& what, const std::optional<EtcdKeyValue>& current) const {
    return failed(
        Status::failed, "changed_since",
        fmt::format(
            "{}: not restored: the key changed since this run wrote it at revision {} (now {})",
            what, m_revision,
            current ? fmt::format("mod_revision {}", current->mod_revision)
                    : std::string("changed or deleted")));
  }

  static std::string describe_current(const std::optional<EtcdKeyValue>& current) {
    if (!current) return "the key does not exist";
    return fmt::format("value is '{}' at mod_revision {}", current->value.substr(0, 200),
                       current->mod_revision);
  }

  static std::string describe_condition(const EtcdPutCondition& condition) {
    std::vector<std::string> parts;
    if (condition.value) parts.push_back(fmt::format("value '{}'", *condition.value));
    if (condition.mod_revision)
      parts.push_back(fmt::format("mod_revision {}", *condition.mod_revision));
    return join(parts, " and ");
  }

  Spec m_spec;
  bool m_done = false;     // written (this process, or the interrupted one it resumes)
  bool m_pending = false;  // about to write, or written: there is an undo state
  bool m_adopted = false;  // the undo state came from an earlier process's journal
  std::optional<EtcdKeyValue> m_previous;
  std::int64_t m_revision = 0;
};

// The key now (or as an earlier step's preview would leave it) against the value to write, and
// the step's condition evaluated on it; changes nothing (a plain read, no session for writes).
Preview preview_put(const Spec& spec, const AttemptContext& ctx, PreviewOverlay& overlay) {
  Preview preview;
  const std::string key = spec.str(k_key);
  const std::string what = fmt::format("etcd {}", key);
  auto session = open_etcd(spec.object(k_etcd), ctx.deadline, "etcd");
  if (!session) {
    preview.unreadable.push_back(session.error().message);
    return preview;
  }
  auto read = (*session)->range(EtcdRangeRequest{key, ""}, ctx.deadline);
  if (!read) {
    preview.unreadable.push_back(etcd_failure(read.error(), what).message);
    return preview;
  }
  std::optional<EtcdKeyValue> current;
  if (!read->kvs.empty()) current = read->kvs.front();
  const std::string resource = fmt::format("etcd:{:x}:{}", read->header.cluster_id, key);
  std::string as_after;
  if (const auto* earlier = overlay.find(resource)) {
    as_after = earlier->step;
    current.reset();
    if (earlier->value) current = EtcdKeyValue{key, *earlier->value};
  }
  if (spec.has(k_expect_value)) {
    const std::string expected = spec.str(k_expect_value);
    if (!current) {
      preview.refusals.push_back(fmt::format(
          "expect_value does not hold: the key does not exist (expected '{}')", expected));
    } else if (current->value != expected) {
      preview.refusals.push_back(fmt::format("expect_value does not hold: now '{}' (expected '{}')",
                                             current->value.substr(0, 200), expected));
    }
  }
  if (spec.has(k_expect_mod_revision)) {
    const auto expected = spec.integer(k_expect_mod_revision);
    if (!as_after.empty() && current) {
      preview.notes.push_back(
          fmt::format("expect_mod_revision {} not evaluated: step '{}' writes the key first",
                      expected, as_after));
    } else if ((current ? current->mod_revision : 0) != expected) {
      preview.refusals.push_back(
          current ? fmt::format("expect_mod_revision does not hold: mod_revision now {} "
                                "(expected {})",
                                current->mod_revision, expected)
                  : fmt::format("expect_mod_revision does not hold: the key does not exist "
                                "(expected {})",
                                expected));
    }
  }
  preview.text(what, current ? current->value : "", spec.str(k_value), as_after,
               current.has_value());
  if (preview.refusals.empty()) overlay.set(resource, spec.str(k_value));
  return preview;
}

class EtcdPutKind : public Kind {
 public:
  std::string_view name() const override { return "etcd_put"; }
  std::string_view summary() const override {
    return "Put a key in etcd, optionally only if its current value or mod_revision is as "
           "expected; undo restores the previous value.";
  }
  bool allowed_as(Role role) const override { return role == Role::step; }
  const Fields& fields() const override {
    static const Fields fields = {k_etcd, k_key, k_value, k_expect_value, k_expect_mod_revision};
    return fields;
  }
  std::vector<std::string> outputs() const override { return {"revision", "previous_value"}; }
  std::vector<SpecProblem> check_spec(const Spec& spec) const override {
    return check_etcd_connection(spec.object(k_etcd), k_etcd.name);
  }
  std::string target(const Spec& spec) const override {
    return fmt::format("etcd {} {}", join(spec.object(k_etcd).strings(k_etcd_endpoints), ","),
                       spec.str(k_key));
  }
  std::string describe(const Spec& spec) const override {
    std::string condition;
    if (spec.has(k_expect_value))
      condition = fmt::format(" if it holds '{}'", spec.str(k_expect_value));
    if (spec.has(k_expect_mod_revision))
      condition += fmt::format(" if its mod_revision is {}", spec.integer(k_expect_mod_revision));
    return fmt::format("put {} = '{}' through {}{}", spec.str(k_key), spec.str(k_value),
                       join(spec.object(k_etcd).strings(k_etcd_endpoints), ","), condition);
  }
  bool undo_state_before_changes(const Spec&) const override { return true; }
  std::string undo_description(const Spec& spec) const override {
    return fmt::format("restore the previous value of {} (unless it changed since)",
                       spec.str(k_key));
  }
  std::unique_ptr<Operation> prepare(const Spec& spec) const override {
    return std::make_unique<EtcdPutOperation>(spec);
  }
  Preview preview(const Spec& spec, const AttemptContext& ctx,
                  PreviewOverlay& overlay) const override {
    return preview_put(spec, ctx, overlay);
  }
};

}  // namespace

std::unique_ptr<Kind> make_etcd_put_kind() {
  return std::make_unique<EtcdPutKind>();
}

}  // namespace drctl
