#pragma once
// The one interface every check and step kind implements. A kind is a description (its spec
// fields, outputs and roles) plus a factory for Operations. Adding a kind is one new file
// and one line in registry.cpp.
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/context.hpp"
#include "core/field.hpp"
#include "core/model.hpp"
#include "core/outcome.hpp"
#include "core/preview.hpp"
#include "core/spec.hpp"

namespace drctl {

// Problems a single Field cannot express (e.g. "exactly one of port and socket"), reported
// by a kind against paths inside its spec.
struct SpecProblem {
  std::string key;  // the offending key inside the spec, or "" for the spec itself
  std::string message;
};

// One prepared action: run it, and undo it if the kind knows how.
class Operation {
 public:
  virtual ~Operation() = default;
  // One attempt. Must return by ctx.deadline and stop early when ctx.cancelled().
  virtual Outcome run(const AttemptContext& ctx) = 0;
  // A built-in undo (e.g. restore a previous value), used when the playbook gives no rollback.
  virtual bool can_undo() const { return false; }
  virtual Outcome undo(const AttemptContext& ctx);
  // What undo() needs, as JSON, journaled so that another process can undo this step
  // (drctl rollback, a resumed run). null: nothing to undo. Kinds with a built-in undo call
  // ctx.save_undo_state() right before they change anything (a write-ahead record).
  virtual nlohmann::json undo_state() const { return nullptr; }
  // Takes up the undo state an earlier process journaled for this step: undo() then works as
  // if this operation had run, and a re-run keeps the "before" recorded the first time.
  virtual void adopt_undo_state(const nlohmann::json& /*state*/) {}
  // When the change itself began, if later than the call (after a precheck that changes
  // nothing): a route's takeover is measured from here.
  virtual std::optional<std::chrono::steady_clock::time_point> change_started() const {
    return std::nullopt;
  }
};

class Kind {
 public:
  virtual ~Kind() = default;
  virtual std::string_view name() const = 0;
  virtual std::string_view summary() const = 0;
  virtual bool allowed_as(Role role) const = 0;
  virtual const Fields& fields() const = 0;
  // What `help playbook KIND` prints after the keys, when the keys alone do not say how the
  // kind acts (an order of operations, what each failure leaves behind); "" for most kinds.
  virtual std::string_view notes() const { return ""; }
  // Names usable as ${steps.<entry>.<output>}.
  virtual std::vector<std::string> outputs() const { return {}; }
  virtual std::vector<SpecProblem> check_spec(const Spec& /*spec*/) const { return {}; }
  // The endpoint or object acted on, for plans and reports ("GET http://...", "argv[0]").
  virtual std::string target(const Spec& spec) const = 0;
  // One line saying what running it would do (dry-run and plan).
  virtual std::string describe(const Spec& spec) const = 0;
  // Whether running it can change anything (a read-only step needs no rollback).
  virtual bool mutates(const Spec& /*spec*/) const { return true; }
  // Whether running it as a check writes to a system, even a write it cleans up or that
  // changes no state anyone relies on (a heartbeat row, a canary key): such a check says so
  // in plans, dry runs and the docs, and continuous evaluation must rate-limit it. Only the
  // kinds that write while they observe override it (a script's effects are its own business).
  virtual bool writes(const Spec& /*spec*/) const { return false; }
  // True when every change it makes waits for ctx.save_undo_state() first: its start then
  // need not wait for the journal's remote copy, since the undo state's wait covers it.
  virtual bool undo_state_before_changes(const Spec& /*spec*/) const { return false; }
  // Whether it waits for a person (an approval): a step of it should set its own timeout, since
  // the playbook's default suits machines, not people (the loader warns).
  virtual bool waits_for_an_operator() const { return false; }
  // What its built-in undo does ("" when it has none), for plans: the same promise as
  // Operation::can_undo, without preparing an operation.
  virtual std::string undo_description(const Spec& /*spec*/) const { return ""; }
  virtual std::unique_ptr<Operation> prepare(const Spec& spec) const = 0;
  // What running it would change, read from the live systems now and changing nothing
  // (`--dry-run`, `plan --live`): the text and states it would change, the conditions that
  // would make it refuse, evaluated now; reading through `overlay` what earlier steps' previews
  // would have written, and writing there what it would write. By ctx.deadline. The default
  // says "changes nothing" for a kind that does not mutate, else that it cannot read its
  // target (what it would do, from describe()).
  virtual Preview preview(const Spec& spec, const AttemptContext& ctx,
                          PreviewOverlay& overlay) const;
};

}  // namespace drctl
