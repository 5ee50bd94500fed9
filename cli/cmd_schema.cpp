// drctl schema [playbook|report]: prints the playbook JSON Schema generated from the
// validator's own tables, or the JSON Schema of the report (--output json, drctl show).
#include <fmt/format.h>

#include "command.hpp"
#include "kinds/registry.hpp"
#include "playbook/schema.hpp"
#include "report/json_report.hpp"
#include "util/json_dump.hpp"
#include "util/print.hpp"

namespace drctl::cli {
namespace {

class SchemaCommand : public Command {
 public:
  const char* name() const override { return "schema"; }
  const char* help() const override {
    return "Print the JSON Schema of playbooks, or with `report` of the JSON report "
           "(playbooks/schema/ holds copies)";
  }
  void setup(CLI::App& app) override {
    app.add_option("what", m_what, "playbook (the default) or report")
        ->check(CLI::IsMember({"playbook", "report"}));
  }
  int run(const GlobalOptions&) override {
    print_to(
        stdout, "{}\n",
        dump_json(m_what == "report" ? report_json_schema() : playbook_json_schema(builtin_kinds()),
                  2));
    return 0;
  }

 private:
  std::string m_what = "playbook";
};

}  // namespace

std::unique_ptr<Command> make_schema_command() {
  return std::make_unique<SchemaCommand>();
}

}  // namespace drctl::cli
