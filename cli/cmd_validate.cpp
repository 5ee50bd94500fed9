// drctl validate PLAYBOOK: strict validation, nothing runs. Exit 0 valid, 65 invalid.
#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "command.hpp"
#include "common.hpp"
#include "engine/exit_codes.hpp"
#include "util/json_dump.hpp"
#include "util/print.hpp"

namespace drctl::cli {
namespace {

class ValidateCommand : public Command {
 public:
  const char* name() const override { return "validate"; }
  const char* help() const override { return "Validate a playbook strictly; nothing runs"; }
  void setup(CLI::App& app) override {
    app.add_option("playbook", m_path, "Playbook file (YAML or JSON)")->required();
  }

  int run(const GlobalOptions& global) override {
    auto overrides = parse_vars(global.vars);
    if (!overrides) return k_exit_usage;
    LoadOptions options;
    options.var_overrides = *overrides;
    auto result = load_playbook(m_path, options);
    if (result.unreadable) {
      print_error(fmt::format("{}: cannot read the playbook file", m_path));
      return k_exit_usage;
    }
    bool valid = result.playbook.has_value();
    if (global.output == OutputFormat::json) {
      nlohmann::json diagnostics = nlohmann::json::array();
      for (const auto& d : result.diagnostics) {
        diagnostics.push_back(
            {{"severity", d.severity == Diagnostic::Severity::error ? "error" : "warning"},
             {"file", d.file},
             {"line", d.pos.line},
             {"column", d.pos.column},
             {"path", d.path},
             {"message", d.message},
             {"text", d.to_string()}});
      }
      nlohmann::json out = {{"file", m_path}, {"valid", valid}, {"diagnostics", diagnostics}};
      if (valid) {
        out["name"] = result.playbook->name;
        out["hash"] = result.playbook->hash;
        out["checks"] = result.playbook->checks.size();
        out["steps"] = result.playbook->steps.size();
      }
      print_to(stdout, "{}\n", dump_json(out, 2));
    } else {
      for (const auto& d : result.diagnostics) {
        if (d.severity == Diagnostic::Severity::error || !global.quiet)
          print_to(stderr, "{}\n", d.to_string());
      }
      if (valid && !global.quiet) {
        print_to(stdout, "{}: valid: '{}', {} checks, {} steps\n", m_path, result.playbook->name,
                 result.playbook->checks.size(), result.playbook->steps.size());
      }
    }
    return valid ? k_exit_success : k_exit_invalid_playbook;
  }

 private:
  std::string m_path;
};

}  // namespace

std::unique_ptr<Command> make_validate_command() {
  return std::make_unique<ValidateCommand>();
}

}  // namespace drctl::cli
