#include "kinds/route_actions.hpp"

#include <fmt/format.h>

#include "kinds/etcd_put.hpp"
#include "kinds/exec.hpp"
#include "kinds/file_and_exec.hpp"
#include "kinds/http.hpp"
#include "util/strings.hpp"

namespace drctl {
namespace {

struct RouteActionRow {
  const char* key;
  std::unique_ptr<Kind> (*make)();
  const char* doc;
  const char* undo_doc;  // non-null: the action takes an `undo:` spec of its own kind
};

// The one table of route actions.
const RouteActionRow k_route_actions[] = {
    {"etcd_put", make_etcd_put_kind,
     "Put a key a gateway watches (as the etcd_put step; undo restores the previous value).",
     nullptr},
    {"http", make_http_kind,
     "Call an admin API (as the http kind); `undo:` is the call that reverses it.",
     "The call that reverses it (for rollback)."},
    {"file_and_exec", make_file_and_exec_kind,
     "Write a proxy config atomically (content or content_file), precheck it (beside the real "
     "file, or in place for an included file), reload.",
     nullptr},
    {"exec", make_exec_kind,
     "Run a program (as the exec kind); `undo:` is the program that reverses it.",
     "The program that reverses it (for rollback)."},
};

// Each row's kind, made once.
const Kind& kind_of(const RouteActionRow& row) {
  static const std::vector<std::unique_ptr<Kind>> kinds = [] {
    std::vector<std::unique_ptr<Kind>> made;
    for (const auto& r : k_route_actions) made.push_back(r.make());
    return made;
  }();
  return *kinds[static_cast<std::size_t>(&row - k_route_actions)];
}

// The action a spec gives (check_route_action has made sure there is exactly one).
struct Chosen {
  const RouteActionRow* row = nullptr;
  Spec spec;
};
Chosen chosen(const Spec& spec) {
  for (const auto& row : k_route_actions) {
    if (spec.has(row.key)) return {&row, spec.object(row.key)};
  }
  return {};
}

// An action of a kind without an undo of its own (http, exec): its undo runs the `undo:` spec
// through the same kind.
class UndoSpecOperation : public Operation {
 public:
  UndoSpecOperation(const Kind& kind, const Spec& spec)
      : m_kind(kind), m_spec(spec), m_operation(kind.prepare(spec)) {}
  Outcome run(const AttemptContext& ctx) override { return m_operation->run(ctx); }
  bool can_undo() const override { return m_operation->can_undo() || m_spec.has("undo"); }
  Outcome undo(const AttemptContext& ctx) override {
    if (m_operation->can_undo()) return m_operation->undo(ctx);
    if (!m_spec.has("undo"))
      return Outcome::fail(Status::failed, "no undo: given for this action", Changed::no);
    return m_kind.prepare(m_spec.object("undo"))->run(ctx);
  }
  nlohmann::json undo_state() const override { return m_operation->undo_state(); }
  void adopt_undo_state(const nlohmann::json& state) override {
    m_operation->adopt_undo_state(state);
  }
  std::optional<std::chrono::steady_clock::time_point> change_started() const override {
    return m_operation->change_started();
  }

 private:
  const Kind& m_kind;
  Spec m_spec;
  std::unique_ptr<Operation> m_operation;
};

}  // namespace

const std::vector<std::string>& route_action_names() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> out;
    for (const auto& row : k_route_actions) out.emplace_back(row.key);
    return out;
  }();
  return names;
}

Fields route_action_fields() {
  Fields fields;
  for (const auto& row : k_route_actions) {
    Fields members = kind_of(row).fields();
    if (row.undo_doc != nullptr)
      members.push_back(Field::object("undo", row.undo_doc, kind_of(row).fields()));
    fields.push_back(Field::object(row.key, row.doc, std::move(members)));
  }
  return fields;
}

std::vector<SpecProblem> check_route_action(const Spec& spec) {
  std::vector<std::string> given;
  for (const auto& name : route_action_names()) {
    if (spec.has(name)) given.push_back(name);
  }
  if (given.size() != 1)
    return {{given.empty() ? "" : given[1],
             fmt::format("give exactly one action: {}", join(route_action_names(), ", "))}};
  auto action = chosen(spec);
  std::vector<SpecProblem> problems;
  auto add = [&](const Spec& checked, const std::string& at) {
    for (auto problem : kind_of(*action.row).check_spec(checked)) {
      problems.push_back({at + (problem.key.empty() ? "" : "." + problem.key), problem.message});
    }
  };
  add(action.spec, action.row->key);
  // The `undo:` spec runs through the same kind: the same checks, before it is ever needed.
  if (action.row->undo_doc != nullptr && action.spec.has("undo")) {
    add(action.spec.object("undo"), std::string(action.row->key) + ".undo");
  }
  return problems;
}

std::string describe_route_action(const Spec& spec) {
  auto action = chosen(spec);
  return action.row == nullptr ? "" : kind_of(*action.row).describe(action.spec);
}

bool route_action_undo_state_first(const Spec& spec) {
  auto action = chosen(spec);
  return action.row != nullptr && kind_of(*action.row).undo_state_before_changes(action.spec);
}

Preview preview_route_action(const Spec& spec, const AttemptContext& ctx, PreviewOverlay& overlay) {
  auto action = chosen(spec);
  if (action.row == nullptr) return {};
  return kind_of(*action.row).preview(action.spec, ctx, overlay);
}

std::unique_ptr<Operation> make_route_action(const Spec& spec) {
  auto action = chosen(spec);
  if (action.row->undo_doc != nullptr)
    return std::make_unique<UndoSpecOperation>(kind_of(*action.row), action.spec);
  return kind_of(*action.row).prepare(action.spec);
}

}  // namespace drctl
