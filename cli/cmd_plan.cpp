// drctl plan PLAYBOOK: the ordered plan with targets, timeouts and budgets; no side effects.
#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "command.hpp"
#include "common.hpp"
#include "engine/exit_codes.hpp"
#include "kinds/registry.hpp"
#include "util/json_dump.hpp"
#include "util/print.hpp"
#include "util/secrets.hpp"

namespace drctl::cli {
namespace {

std::string or_dash(const std::optional<Millis>& d) {
  return d ? format_duration(*d) : "-";
}

class PlanCommand : public Command {
 public:
  const char* name() const override { return "plan"; }
  const char* help() const override {
    return "Show the ordered plan: checks, steps, timeouts, budgets; changes nothing";
  }
  void setup(CLI::App& app) override {
    app.add_option("playbook", m_path, "Playbook file")->required();
  }

  int run(const GlobalOptions& global) override {
    int exit_code = 0;
    auto playbook = load_or_report(m_path, global, exit_code);
    if (!playbook) return exit_code;
    const auto& kinds = builtin_kinds();
    Millis budget_sum{0};
    bool every_step_budgeted = true;
    nlohmann::json entries = nlohmann::json::array();
    auto add = [&](const Entry& e, std::size_t order) {
      const Kind& kind = *kinds.find(e.action.kind);
      nlohmann::json j = {{"order", order},
                          {"phase", e.role == Role::check ? "check" : "step"},
                          {"name", e.name},
                          {"kind", e.action.kind},
                          {"target", redact(kind.target(e.action.spec))},
                          {"action", redact(kind.describe(e.action.spec))},
                          {"timeout_ms", e.timing.timeout.count()},
                          {"retries", e.timing.retries},
                          {"retry_delay_ms", e.timing.retry_delay.count()},
                          {"writes", kind.writes(e.action.spec) && !e.read_only}};
      if (e.role == Role::step) {
        j["budget_ms"] = e.budget ? nlohmann::json(e.budget->count()) : nlohmann::json(nullptr);
        std::string undo = kind.undo_description(e.action.spec);
        j["rollback"] =
            e.rollback
                ? nlohmann::json(redact(
                      kinds.find(e.rollback->action.kind)->describe(e.rollback->action.spec)))
            : !undo.empty() ? nlohmann::json(redact("built-in undo: " + undo))
                            : nlohmann::json(nullptr);
        j["mutates"] = kind.mutates(e.action.spec) && !e.read_only;
        if (e.budget)
          budget_sum += *e.budget;
        else
          every_step_budgeted = false;
      }
      entries.push_back(j);
    };
    std::size_t order = 1;
    for (const auto& e : playbook->checks) add(e, order++);
    for (const auto& e : playbook->steps) add(e, order++);

    if (global.output == OutputFormat::json) {
      nlohmann::json out = {
          {"playbook", playbook->name},
          {"hash", playbook->hash},
          {"entries", entries},
          {"budget_sum_ms", budget_sum.count()},
          {"every_step_budgeted", every_step_budgeted},
          {"sla_total_ms", playbook->sla.total ? nlohmann::json(playbook->sla.total->count())
                                               : nlohmann::json(nullptr)}};
      print_to(stdout, "{}\n", dump_json(out, 2));
      return k_exit_success;
    }
    print_to(stdout,
             "plan of '{}' ({}): checks run concurrently (--parallel {}), then steps in order\n\n",
             playbook->name, m_path, global.parallel);
    print_to(stdout, "{:>3} {:<6} {:<24} {:<10} {:<40} {:>8} {:>7} {:>8}\n", "#", "PHASE", "NAME",
             "KIND", "TARGET", "TIMEOUT", "RETRIES", "BUDGET");
    for (const auto& j : entries) {
      std::string target = j["target"].get<std::string>();
      if (target.size() > 40) target = target.substr(0, 39) + "~";
      print_to(stdout, "{:>3} {:<6} {:<24} {:<10} {:<40} {:>8} {:>7} {:>8}\n",
               j["order"].get<int>(), j["phase"].get<std::string>(), j["name"].get<std::string>(),
               j["kind"].get<std::string>(), target,
               format_duration(Millis(j["timeout_ms"].get<long long>())), j["retries"].get<int>(),
               j.contains("budget_ms") && !j["budget_ms"].is_null()
                   ? format_duration(Millis(j["budget_ms"].get<long long>()))
                   : "-");
      if (j["phase"] == "check" && j["writes"].get<bool>()) {
        print_to(stdout, "{:>3} {:<6} {}\n", "", "",
                 "writes: this check writes to the system it checks");
      }
      if (j.contains("rollback")) {
        print_to(stdout, "{:>3} {:<6} {}\n", "", "",
                 j["rollback"].is_null()
                     ? (j["mutates"].get<bool>()
                            ? "rollback: none (a later failure leaves this step's changes)"
                            : "rollback: not needed (read-only)")
                     : "rollback: " + j["rollback"].get<std::string>());
      }
    }
    print_to(stdout, "\nbudgets: {} in all{}; sla.total: {}", format_duration(budget_sum),
             every_step_budgeted ? "" : " (some steps have no budget)",
             or_dash(playbook->sla.total));
    if (playbook->sla.total && budget_sum > *playbook->sla.total) {
      print_to(stdout, " — the budgets add up to MORE than the SLA");
    }
    print_to(stdout, "\n");
    return k_exit_success;
  }

 private:
  std::string m_path;
};

}  // namespace

std::unique_ptr<Command> make_plan_command() {
  return std::make_unique<PlanCommand>();
}

}  // namespace drctl::cli
