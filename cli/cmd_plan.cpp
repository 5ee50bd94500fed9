// drctl plan PLAYBOOK: the ordered plan with targets, timeouts and budgets; no side effects.
// --live: each step's preview (what it would change, read from the live systems, changing
// nothing; no check is run) and who holds the run lock now.
#include <fmt/format.h>

#include <algorithm>
#include <nlohmann/json.hpp>
#include <optional>

#include "command.hpp"
#include "common.hpp"
#include "core/preview.hpp"
#include "engine/exit_codes.hpp"
#include "engine/performer.hpp"
#include "engine/run_lock.hpp"
#include "kinds/registry.hpp"
#include "signals.hpp"
#include "util/json_dump.hpp"
#include "util/print.hpp"
#include "util/secrets.hpp"
#include "util/strings.hpp"

namespace drctl::cli {
namespace {

std::string or_dash(const std::optional<Millis>& d) {
  return d ? format_duration(*d) : "-";
}

// A command of several lines on one table line: newlines, tabs and CRs written as \n, \t, \r.
std::string escaped(const std::string& text) {
  std::string out;
  for (char c : text) {
    if (c == '\n') {
      out += "\\n";
    } else if (c == '\t') {
      out += "\\t";
    } else if (c == '\r') {
      out += "\\r";
    } else {
      out += c;
    }
  }
  return out;
}

// The lock's etcd endpoints as written (an item may hold several, comma-separated).
std::vector<std::string> endpoints_of(const nlohmann::json& etcd) {
  std::vector<std::string> out;
  if (etcd.is_object() && etcd.contains("endpoints") && etcd["endpoints"].is_array()) {
    for (const auto& e : etcd["endpoints"]) {
      if (e.is_string()) out.push_back(redact(e.get<std::string>()));
    }
  }
  return out;
}

std::string probe_text(const std::optional<ProbeSpec>& probe) {
  if (!probe) return "none (no availability measured during the switch)";
  std::string text = fmt::format("GET {} every {} (timeout {})", redact(probe->url),
                                 format_duration(probe->interval), format_duration(probe->timeout));
  if (probe->p99) text += fmt::format(", P99 budget {}", format_duration(*probe->p99));
  if (probe->max_error_rate)
    text += fmt::format(", max error rate {:g}%", 100.0 * *probe->max_error_rate);
  return text + ", from the first step to the end of the run";
}

std::string write_probe_text(const std::optional<WriteProbeSpec>& probe) {
  if (!probe) return "none (no writes sent: data loss is not measured)";
  std::string text = fmt::format(
      "{} {} every {} (timeout {}), read back by {}, max_lost {}", probe->method,
      redact(probe->url), format_duration(probe->interval), format_duration(probe->timeout),
      probe->verify_url.empty() ? std::string("verify_sql") : "GET " + redact(probe->verify_url),
      probe->max_lost);
  if (probe->max_write_gap)
    text += fmt::format(", max write gap {}", format_duration(*probe->max_write_gap));
  return text;
}

class PlanCommand : public Command {
 public:
  const char* name() const override { return "plan"; }
  const char* help() const override {
    return "Show the ordered plan: checks, steps, timeouts, budgets; changes nothing";
  }
  void setup(CLI::App& app) override {
    app.add_option("playbook", m_path, "Playbook file")->required();
    app.add_flag("--live", m_live,
                 "Read the live systems: each step's diff, what would refuse, the lock's holder "
                 "(changes nothing, runs no check)");
  }

  int run(const GlobalOptions& global) override {
    // Live, first (before any thread: threads inherit the blocked signals): SIGINT, SIGTERM or
    // SIGHUP cancel the preview at once (a preview changes nothing, so no grace): a precheck's
    // child is stopped and its candidate removed, and plan exits 130.
    CancelToken cancel;
    std::optional<SignalWatch> signals;
    if (m_live) signals.emplace(cancel, Millis(0));
    int exit_code = 0;
    auto playbook = load_or_report(m_path, global, exit_code);
    if (!playbook) return exit_code;
    const auto& kinds = builtin_kinds();
    // Live, the secrets the steps read are read first: masked in the table as in the previews.
    if (m_live) {
      for (const auto& e : playbook->steps) register_spec_secrets(e.action.spec.json());
    }
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
      if (e.role == Role::check) j["on_resume"] = e.run_on_resume ? "run" : "skip";
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
    if (m_live) {
      auto previews = preview_steps(*playbook, kinds, cancel);
      if (cancel.stop_requested()) {
        print_to(stderr, "drctl: plan --live interrupted: no plan shown, nothing was changed\n");
        return k_exit_interrupted;
      }
      for (std::size_t i = 0; i < previews.size(); ++i)
        entries[playbook->checks.size() + i]["preview"] = previews[i];
    }

    nlohmann::json lock = nullptr;
    if (playbook->lock) {
      lock = {{"key", playbook->lock->key},
              {"endpoints", endpoints_of(playbook->lock->etcd)},
              {"ttl_ms", playbook->lock->ttl.count()}};
      if (m_live) {
        auto holder = RunLock::holder_now(*playbook->lock);
        lock["holder"] = holder && *holder ? nlohmann::json(**holder) : nlohmann::json(nullptr);
        if (!holder) lock["unreadable"] = redact(holder.error());
      }
    }
    nlohmann::json probe = nullptr;
    if (const auto& p = playbook->sla.probe) {
      probe = {{"url", redact(p->url)},
               {"interval_ms", p->interval.count()},
               {"timeout_ms", p->timeout.count()},
               {"expect_status", p->expect_status},
               {"p99_ms", p->p99 ? nlohmann::json(p->p99->count()) : nlohmann::json(nullptr)},
               {"max_error_rate",
                p->max_error_rate ? nlohmann::json(*p->max_error_rate) : nlohmann::json(nullptr)}};
    }

    nlohmann::json write_probe = nullptr;
    if (const auto& w = playbook->sla.write_probe) {
      write_probe = {
          {"url", redact(w->url)},
          {"method", w->method},
          {"interval_ms", w->interval.count()},
          {"timeout_ms", w->timeout.count()},
          {"verify", w->verify_url.empty() ? "sql" : "url"},
          {"max_lost", w->max_lost},
          {"max_write_gap_ms",
           w->max_write_gap ? nlohmann::json(w->max_write_gap->count()) : nlohmann::json(nullptr)}};
    }

    // Live, what the real run would refuse on: the steps whose preview says so, the lock's holder.
    std::vector<std::string> refusing;
    for (const auto& e : entries) {
      const auto& refusals =
          e.value("preview", nlohmann::json::object()).value("refusals", nlohmann::json::array());
      if (!refusals.empty()) refusing.push_back("step '" + e["name"].get<std::string>() + "'");
    }
    if (lock.is_object() && lock.value("holder", nlohmann::json()).is_string())
      refusing.push_back("the run lock");
    const int live_exit = refusing.empty() ? k_exit_success : k_exit_checks_failed;
    if (global.output == OutputFormat::json) {
      nlohmann::json out = {
          {"playbook", playbook->name},
          {"hash", playbook->hash},
          {"lock", lock},
          {"entries", entries},
          {"budget_sum_ms", budget_sum.count()},
          {"every_step_budgeted", every_step_budgeted},
          {"sla_total_ms", playbook->sla.total ? nlohmann::json(playbook->sla.total->count())
                                               : nlohmann::json(nullptr)},
          {"sla",
           {{"total_ms", playbook->sla.total ? nlohmann::json(playbook->sla.total->count())
                                             : nlohmann::json(nullptr)},
            {"on_breach", playbook->sla.on_breach == OnBreach::warn ? "warn" : "fail"},
            {"exclude_approvals", playbook->sla.exclude_approvals},
            {"probe", probe},
            {"write_probe", write_probe}}}};
      if (m_live) out["would_refuse"] = refusing;
      print_to(stdout, "{}\n", dump_json(out, 2));
      return live_exit;
    }
    print_to(stdout,
             "plan of '{}' ({}): checks run concurrently (--parallel {}), then steps in order\n",
             playbook->name, m_path, global.parallel);
    if (lock.is_null()) {
      print_to(stdout, "lock: none (nothing stops two runs of this playbook at once)\n");
    } else {
      print_to(stdout,
               "lock: {} on etcd {}, ttl {}: taken when the checks pass, held to the run's end\n",
               playbook->lock->key, join(lock["endpoints"].get<std::vector<std::string>>(), ","),
               format_duration(playbook->lock->ttl));
      if (lock.contains("unreadable")) {
        print_to(stdout, "lock now: cannot read: {}\n", lock["unreadable"].get<std::string>());
      } else if (lock.contains("holder")) {
        print_to(stdout, "lock now: {}\n",
                 lock["holder"].is_null() ? std::string("free")
                                          : "would refuse: " + lock["holder"].get<std::string>());
      }
    }
    print_to(stdout, "sla: total {}{}, on breach {}; probe: {}\n",
             playbook->sla.total ? format_duration(*playbook->sla.total) : "none",
             playbook->sla.exclude_approvals ? " (waits for approval left out)" : "",
             playbook->sla.on_breach == OnBreach::warn ? "warn" : "fail",
             probe_text(playbook->sla.probe));
    print_to(stdout, "write probe: {}\n", write_probe_text(playbook->sla.write_probe));

    // Columns as wide as their widest cell; the last (what the entry does) is never cut.
    std::vector<std::vector<std::string>> rows{
        {"#", "PHASE", "NAME", "KIND", "TIMEOUT", "RETRIES", "BUDGET", "ACTION"}};
    for (const auto& j : entries) {
      rows.push_back({std::to_string(j["order"].get<int>()), j["phase"].get<std::string>(),
                      j["name"].get<std::string>(), j["kind"].get<std::string>(),
                      format_duration(Millis(j["timeout_ms"].get<long long>())),
                      std::to_string(j["retries"].get<int>()),
                      j.contains("budget_ms") && !j["budget_ms"].is_null()
                          ? format_duration(Millis(j["budget_ms"].get<long long>()))
                          : "-",
                      escaped(j["action"].get<std::string>())});
    }
    std::vector<std::size_t> width(rows[0].size() - 1, 0);
    for (const auto& row : rows) {
      for (std::size_t i = 0; i < width.size(); ++i) width[i] = std::max(width[i], row[i].size());
    }
    const std::string indent(width[0] + width[1] + 4, ' ');  // sub-lines start under NAME
    print_to(stdout, "\n");
    for (std::size_t r = 0; r < rows.size(); ++r) {
      const auto& row = rows[r];
      print_to(stdout, "{:>{}}  {:<{}}  {:<{}}  {:<{}}  {:>{}}  {:>{}}  {:>{}}  {}\n", row[0],
               width[0], row[1], width[1], row[2], width[2], row[3], width[3], row[4], width[4],
               row[5], width[5], row[6], width[6], row[7]);
      if (r == 0) continue;
      const auto& j = entries[r - 1];
      if (j["phase"] == "check" && j["writes"].get<bool>())
        print_to(stdout, "{}writes: this check writes to the system it checks\n", indent);
      if (j["phase"] == "check" && j["on_resume"] == "run")
        print_to(stdout, "{}on_resume: run (a resumed run that changed something runs it too)\n",
                 indent);
      if (j.contains("rollback")) {
        print_to(stdout, "{}{}\n", indent,
                 j["rollback"].is_null()
                     ? (j["mutates"].get<bool>()
                            ? "rollback: none (a later failure leaves this step's changes)"
                            : "rollback: not needed (read-only)")
                     : "rollback: " + escaped(j["rollback"].get<std::string>()));
      }
      if (j.contains("preview")) {
        for (const auto& line : preview_lines(j["preview"]))
          print_to(stdout, "{}{}\n", indent, line);
      }
    }
    print_to(stdout, "\nbudgets: {} in all{}; sla.total: {}", format_duration(budget_sum),
             every_step_budgeted ? "" : " (some steps have no budget)",
             or_dash(playbook->sla.total));
    if (playbook->sla.total && budget_sum > *playbook->sla.total) {
      print_to(stdout, " — the budgets add up to MORE than the SLA");
    }
    print_to(stdout, "\n");
    if (!refusing.empty()) {
      print_to(stdout, "live: the real run would refuse at {} (exit 1, nothing was changed)\n",
               join(refusing, ", "));
    }
    return live_exit;
  }

 private:
  std::string m_path;
  bool m_live = false;
};

}  // namespace

std::unique_ptr<Command> make_plan_command() {
  return std::make_unique<PlanCommand>();
}

}  // namespace drctl::cli
