// drctl version (and drctl --version): the version and the formats this build reads and writes.
#include <fmt/format.h>

#include "command.hpp"
#include "playbook/format.hpp"
#include "report/json_report.hpp"
#include "util/print.hpp"
#include "util/version.hpp"

namespace drctl::cli {
namespace {

class VersionCommand : public Command {
 public:
  const char* name() const override { return "version"; }
  const char* help() const override { return "Print the version"; }
  void setup(CLI::App&) override {}
  int run(const GlobalOptions& global) override {
    print_to(stdout, "{}\n", version_text(global.output));
    return 0;
  }
};

}  // namespace

std::string version_text(OutputFormat output) {
  if (output == OutputFormat::json) {
    return fmt::format(R"({{"version": "{}", "playbook_format": {}, "report_schema": "{}"}})",
                       version(), k_playbook_version, k_report_schema);
  }
  return fmt::format("drctl {} (playbook format v{}, report {})", version(), k_playbook_version,
                     k_report_schema);
}

std::unique_ptr<Command> make_version_command() {
  return std::make_unique<VersionCommand>();
}

}  // namespace drctl::cli
