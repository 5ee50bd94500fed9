// drctl schema: prints the playbook JSON Schema generated from the validator's own tables.
#include <fmt/format.h>

#include "command.hpp"
#include "kinds/registry.hpp"
#include "playbook/schema.hpp"
#include "util/json_dump.hpp"
#include "util/print.hpp"

namespace drctl::cli {
namespace {

class SchemaCommand : public Command {
 public:
  const char* name() const override { return "schema"; }
  const char* help() const override {
    return "Print the playbook JSON Schema (playbooks/schema/ holds a copy)";
  }
  void setup(CLI::App&) override {}
  int run(const GlobalOptions&) override {
    print_to(stdout, "{}\n", dump_json(playbook_json_schema(builtin_kinds()), 2));
    return 0;
  }
};

}  // namespace

std::unique_ptr<Command> make_schema_command() {
  return std::make_unique<SchemaCommand>();
}

}  // namespace drctl::cli
