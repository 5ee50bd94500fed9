// drctl help [playbook [KIND] | exit-codes]: the reference, generated from the same
// tables the validator enforces (so it cannot drift from what drctl accepts).
#include <fmt/format.h>

#include <algorithm>
#include <cstdio>

#include "command.hpp"
#include "common.hpp"
#include "engine/exit_codes.hpp"
#include "kinds/registry.hpp"
#include "playbook/format.hpp"
#include "util/duration.hpp"
#include "util/json_dump.hpp"
#include "util/print.hpp"
#include "util/strings.hpp"

namespace drctl::cli {
namespace {

std::string describe_type(const Field& field) {
  std::string type(field_type_name(field.type));
  if (!field.choices.empty()) type += ": " + join(field.choices, " | ");
  if (field.min || field.max) {
    type += fmt::format(" {}..{}", field.min ? std::to_string(*field.min) : "",
                        field.max ? std::to_string(*field.max) : "");
  }
  return type;
}

std::string describe_default(const Field& field) {
  const auto& value = field.default_value;
  if (value.is_string()) return value.get<std::string>();
  if (field.type == FieldType::duration && value.is_number_integer())
    return format_duration(Millis(value.get<long long>()));
  return dump_json(value);
}

void print_fields(const Fields& fields, int depth) {
  std::string indent(2 + 2 * depth, ' ');
  for (const auto& field : fields) {
    std::string flags = field.required ? " (required)" : "";
    if (!field.default_value.is_null()) flags += " (default " + describe_default(field) + ")";
    print_to(stdout, "{}{:<{}} {:<22} {}{}\n", indent, field.name, 24 - 2 * depth,
             describe_type(field), field.doc, flags);
    if (!field.fields.empty()) print_fields(field.fields, depth + 1);
  }
}

void print_kind(const Kind& kind) {
  std::vector<std::string> roles;
  if (kind.allowed_as(Role::check)) roles.push_back("check");
  if (kind.allowed_as(Role::step)) roles.push_back("step");
  print_to(stdout, "\n{} ({}): {}\n", kind.name(), join(roles, ", "), kind.summary());
  print_fields(kind.fields(), 0);
  if (!kind.outputs().empty())
    print_to(stdout, "  outputs: ${{steps.NAME.X}} for X in {}\n", join(kind.outputs(), ", "));
  if (!kind.notes().empty()) print_to(stdout, "\n{}\n", kind.notes());
}

int playbook_help(const std::string& only) {
  const auto& kinds = builtin_kinds();
  if (!only.empty()) {
    const Kind* kind = kinds.find(only);
    if (kind == nullptr) {
      print_error(
          fmt::format("help playbook: no kind '{}' (kinds: {})", only, join(kinds.names(), ", ")));
      return k_exit_usage;
    }
    print_kind(*kind);
    return 0;
  }
  print_to(stdout, "A playbook (YAML, version 1). Top-level keys:\n");
  print_fields(top_level_fields(), 0);
  print_to(stdout, "  {:<24} {:<22} {}\n", "checks", "list of entries",
           "Pre-switch checks, run concurrently; all must pass before any step.");
  print_to(stdout, "  {:<24} {:<22} {}\n", "steps", "list of entries",
           "Run in order; on failure, completed steps are rolled back newest first.");
  print_to(stdout, "\nAn entry: one kind key (below) plus:\n");
  print_fields(entry_fields(Role::step), 0);
  print_to(stdout, "  {:<24} {:<22} {}\n", "rollback", "object",
           "A step's undo: one kind key plus timeout, retries, retry_delay.");
  print_to(stdout, "A check's entry has no budget, read_only or rollback, but may have:\n");
  for (const auto& field : entry_fields(Role::check)) {
    const auto& step_fields = entry_fields(Role::step);
    const bool shared = std::any_of(step_fields.begin(), step_fields.end(),
                                    [&](const Field& f) { return f.name == field.name; });
    if (!shared) print_fields({field}, 0);
  }
  print_to(
      stdout,
      "\nReferences: ${{vars.NAME}}, ${{env.NAME}} (at load), ${{steps.ENTRY.OUTPUT}} and "
      "${{run.id}}, ${{run.fencing_token}}\n"
      "(just before the entry runs). Secrets: only through *_env or *_file keys, never inline.\n"
      "Kinds ({}):\n",
      kinds.all().size());
  for (const auto& kind : kinds.all()) print_kind(*kind);
  print_to(stdout,
           "\nExamples: playbooks/examples/, playbooks/lab-switchover.yaml. JSON Schema: drctl "
           "schema.\n");
  return 0;
}

int exit_codes_help() {
  struct Row {
    int code;
    const char* result;
    const char* meaning;
  };
  const Row rows[] = {
      {k_exit_success, "success",
       "every check passed, every step completed within its budget and the SLA"},
      {k_exit_checks_failed, "checks_failed",
       "a pre-switch check failed: no step started (a resume's earlier steps stay done)"},
      {k_exit_checks_failed, "would_refuse",
       "--dry-run: a step's preview (or the run lock's holder) says the real run would refuse"},
      {k_exit_rolled_back, "rolled_back", "a step failed and every rollback succeeded"},
      {k_exit_partial, "partial",
       "a step failed and the state is partly switched or unknown: a human must look"},
      {k_exit_sla_breached, "sla_breached",
       "completed, but over a budget, sla.total, the availability probe's limits, or the write "
       "probe's (acknowledged writes lost, write gap)"},
      {k_exit_lock_held, "lock_held, lock_lost",
       "another run holds the run lock (or it could not be taken, or was lost mid-run: a "
       "write refused as fenced); a rollback or resume of a run still running"},
      {k_exit_journal_failed, "journal_failed",
       "the journal could not be written: no further step started (or the run's end)"},
      {k_exit_not_verified, "not_verified",
       "completed, but the write probe could not read its acknowledged writes back: data loss "
       "unknown (never reported as 0 lost)"},
      {k_exit_declined, "declined",
       "on a terminal, the checks passed and the operator answered no at the prompt: no step "
       "started, nothing was changed"},
      {k_exit_usage, "(usage)",
       "bad command line, unreadable file, run not found or not resumable"},
      {k_exit_invalid_playbook, "(invalid)",
       "drctl cache get|list|diff|info: a corrupt snapshot, refused"},
      {k_exit_invalid_playbook, "(invalid)",
       "the playbook does not validate (file:line:col errors)"},
      {k_exit_unavailable, "(unavailable)",
       "drctl approve/reject: the decision could not be posted (etcd or the state dir); "
       "approve/reject refused (the run does not wait at that step, or someone decided "
       "first) is 1"},
      {k_exit_output_failed, "(output)",
       "all went well, but a report (stdout, --junit, --html) could not be written; see drctl "
       "show"},
      {k_exit_interrupted, "interrupted",
       "SIGINT/SIGTERM/SIGHUP: no new step; the running one got --grace; journaled, lock "
       "released"},
  };
  for (const auto& row : rows)
    print_to(stdout, "{:>4}  {:<22} {}\n", row.code, row.result, row.meaning);
  print_to(stdout,
           "\ndrctl probe grpc keeps grpc_health_probe's codes: 0 SERVING, 1 bad arguments, 2 "
           "connection failed,\n"
           "3 RPC failed, 4 not SERVING. Details: docs/exit-codes.md.\n");
  return 0;
}

int topics_help() {
  print_to(stdout,
           "drctl help TOPIC: the reference, made from the tables drctl itself enforces.\n\n"
           "  playbook [KIND]   every key of a playbook and of each kind ({}), with types and "
           "defaults\n"
           "  exit-codes        what each exit code means\n\n"
           "Commands and their options: drctl --help, drctl COMMAND --help. JSON Schemas: "
           "drctl schema [playbook|report].\n",
           join(builtin_kinds().names(), ", "));
  return 0;
}

class HelpCommand : public Command {
 public:
  const char* name() const override { return "help"; }
  const char* help() const override {
    return "Reference: `help playbook [KIND]` (every key of every kind), `help exit-codes`";
  }
  void setup(CLI::App& app) override {
    app.add_option("topic", m_topic, "playbook or exit-codes (none: list the topics)")
        ->check(CLI::IsMember({"playbook", "exit-codes"}));
    app.add_option("kind", m_kind, "With playbook: only this kind");
  }
  int run(const GlobalOptions&) override {
    if (m_topic.empty()) return topics_help();
    return m_topic == "playbook" ? playbook_help(m_kind) : exit_codes_help();
  }

 private:
  std::string m_topic, m_kind;
};

}  // namespace

std::unique_ptr<Command> make_help_command() {
  return std::make_unique<HelpCommand>();
}

}  // namespace drctl::cli
