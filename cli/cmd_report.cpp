// drctl report RUN_ID --html FILE: one journaled run as a self-contained HTML drill report
// (the SLA verdict, a timeline of every entry with the probes under it, each entry's
// evidence), found as `drctl show` finds it: the state dir, else with --playbook the etcd copy.
#include <fmt/format.h>

#include "command.hpp"
#include "common.hpp"
#include "engine/exit_codes.hpp"
#include "shown_run.hpp"
#include "util/json_fields.hpp"
#include "util/print.hpp"

namespace drctl::cli {
namespace {

class ReportCommand : public Command {
 public:
  const char* name() const override { return "report"; }
  const char* help() const override {
    return "Write one run's drill report as a self-contained HTML file (--html FILE)";
  }
  void setup(CLI::App& app) override {
    app.add_option("run_id", m_run_id, "Run id (drctl runs lists them)")->required();
    app.add_option("--playbook", m_playbook_path,
                   "Also look in the etcd copy of the journal, under this playbook's run lock");
  }
  int run(const GlobalOptions& global) override {
    if (global.html_path.empty()) {
      print_error("report: --html FILE is required (where to write the HTML report)");
      return k_exit_usage;
    }
    // Refused before anything is read when the file could be replaced by others.
    if (!report_files_writable(global)) return k_exit_usage;
    int exit_code = 0;
    auto shown = load_shown_run(global, m_run_id, m_playbook_path, exit_code);
    if (!shown) return exit_code;
    const nlohmann::json document = shown->document();
    if (!write_html_report(global.html_path, document)) return k_exit_output_failed;
    if (!global.quiet)
      print_to(stderr, "drctl: wrote {} (run {}: {})\n", global.html_path, m_run_id,
               json_text(document, "result", "?"));
    return 0;
  }

 private:
  std::string m_run_id, m_playbook_path;
};

}  // namespace

std::unique_ptr<Command> make_report_command() {
  return std::make_unique<ReportCommand>();
}

}  // namespace drctl::cli
