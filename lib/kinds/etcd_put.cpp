#include "kinds/etcd_put.hpp"

#include <fmt/format.h>

#include "kinds/etcd_connection.hpp"
#include "util/secrets.hpp"
#include "util/strings.hpp"

namespace drctl {
namespace {

class EtcdPutOperation : public Operation {
 public:
  explicit EtcdPutOperation(Spec spec) : m_spec(std::move(spec)) { etcd_client(); }

  Outcome run(const AttemptContext& ctx) override {
    auto session = etcd_connect(m_spec.object("etcd"), ctx.deadline, "put");
    if (!session) return session.error();
    const std::string key = m_spec.str("key");
    const std::string value = m_spec.str("value");
    EtcdPutCondition condition;
    if (m_spec.has("expect_value")) condition.value = m_spec.str("expect_value");
    if (m_spec.has("expect_mod_revision")) condition.mod_revision = m_spec.integer("expect_mod_revision");
    const std::string what = fmt::format("etcd put {}", key);

    Outcome outcome;
    if (condition.value || condition.mod_revision) {
      auto put = (*session)->put_if(key, value, condition, 0, ctx.deadline);
      if (!put) return etcd_failure(put.error(), what, Changed::unknown);
      if (!put->succeeded) {
        outcome = Outcome::fail(Status::failed, redact(fmt::format("{}: compare failed: {} (expected {})", what, describe_current(put->previous),
                                                                   describe_condition(condition))),
                                Changed::no);
        outcome.evidence["error"] = "compare_failed";
        return outcome;
      }
      m_previous = put->previous;
      m_revision = put->header.revision;
    } else {
      auto put = (*session)->put(key, value, 0, ctx.deadline);
      if (!put) return etcd_failure(put.error(), what, Changed::unknown);
      m_previous = put->previous;
      m_revision = put->header.revision;
    }
    m_done = true;
    outcome.status = Status::ok;
    outcome.changed = Changed::yes;
    outcome.evidence = {{"key", key}, {"revision", m_revision}, {"endpoint", (*session)->endpoint()}, {"created", !m_previous.has_value()}};
    if (m_previous) outcome.evidence["previous_mod_revision"] = m_previous->mod_revision;
    outcome.outputs["revision"] = std::to_string(m_revision);
    outcome.outputs["previous_value"] = m_previous ? redact(m_previous->value) : "";
    outcome.message = fmt::format("{}: revision {} ({})", what, m_revision, m_previous ? "replaced its value" : "created it");
    return outcome;
  }

  bool can_undo() const override { return true; }

  // Puts the previous value back (or deletes a key that did not exist), but only while the key
  // still holds what this step wrote: someone else's later change is never overwritten.
  Outcome undo(const AttemptContext& ctx) override {
    const std::string key = m_spec.str("key");
    const std::string what = fmt::format("etcd restore {}", key);
    if (!m_done) return Outcome::fail(Status::skipped, what + ": nothing was written", Changed::no);
    auto session = etcd_connect(m_spec.object("etcd"), ctx.deadline, "restore");
    if (!session) return session.error();
    if (m_previous) {
      EtcdPutCondition ours;
      ours.mod_revision = m_revision;
      auto put = (*session)->put_if(key, m_previous->value, ours, 0, ctx.deadline);
      if (!put) return etcd_failure(put.error(), what, Changed::unknown);
      if (!put->succeeded) return changed_since(what, put->previous);
      Outcome outcome = Outcome::ok(fmt::format("{}: previous value restored at revision {}", what, put->header.revision));
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
  Outcome changed_since(const std::string& what, const std::optional<EtcdKeyValue>& current) const {
    Outcome outcome = Outcome::fail(
        Status::failed,
        fmt::format("{}: not restored: the key changed since this run wrote it at revision {} (now {})", what, m_revision,
                    current ? fmt::format("mod_revision {}", current->mod_revision) : std::string("changed or deleted")),
        Changed::no);
    outcome.evidence["error"] = "changed_since";
    return outcome;
  }

  static std::string describe_current(const std::optional<EtcdKeyValue>& current) {
    if (!current) return "the key does not exist";
    return fmt::format("value is '{}' at mod_revision {}", current->value.substr(0, 200), current->mod_revision);
  }

  static std::string describe_condition(const EtcdPutCondition& condition) {
    std::vector<std::string> parts;
    if (condition.value) parts.push_back(fmt::format("value '{}'", *condition.value));
    if (condition.mod_revision) parts.push_back(fmt::format("mod_revision {}", *condition.mod_revision));
    return join(parts, " and ");
  }

  Spec m_spec;
  bool m_done = false;
  std::optional<EtcdKeyValue> m_previous;
  std::int64_t m_revision = 0;
};

class EtcdPutKind : public Kind {
 public:
  std::string_view name() const override { return "etcd_put"; }
  std::string_view summary() const override {
    return "Put a key in etcd, optionally only if its current value or mod_revision is as expected; undo restores the previous value.";
  }
  bool allowed_as(Role role) const override { return role == Role::step; }
  const Fields& fields() const override {
    static const Fields fields = {
        etcd_connection_field("etcd", "The cluster to write to."),
        Field::string("key", "Key to write.").mandatory(),
        Field::string("value", "Value to write.").mandatory(),
        Field::string("expect_value", "Write only if the key currently holds this value."),
        Field::integer("expect_mod_revision", "Write only if the key's mod_revision is this (0: the key must not exist).").range(0, std::nullopt),
    };
    return fields;
  }
  std::vector<std::string> outputs() const override { return {"revision", "previous_value"}; }
  std::vector<SpecProblem> check_spec(const Spec& spec) const override { return check_etcd_connection(spec.object("etcd"), "etcd"); }
  std::string target(const Spec& spec) const override { return fmt::format("etcd {} {}", join(spec.object("etcd").strings("endpoints"), ","), spec.str("key")); }
  std::string describe(const Spec& spec) const override {
    std::string condition;
    if (spec.has("expect_value")) condition = fmt::format(" if it holds '{}'", spec.str("expect_value"));
    if (spec.has("expect_mod_revision")) condition += fmt::format(" if its mod_revision is {}", spec.integer("expect_mod_revision"));
    return fmt::format("put {} = '{}' through {}{}", spec.str("key"), spec.str("value"), join(spec.object("etcd").strings("endpoints"), ","), condition);
  }
  std::string undo_description(const Spec& spec) const override {
    return fmt::format("restore the previous value of {} (unless it changed since)", spec.str("key"));
  }
  std::unique_ptr<Operation> prepare(const Spec& spec) const override { return std::make_unique<EtcdPutOperation>(spec); }
};

}  // namespace

std::unique_ptr<Kind> make_etcd_put_kind() { return std::make_unique<EtcdPutKind>(); }

}  // namespace drctl
