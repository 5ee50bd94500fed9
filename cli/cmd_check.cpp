// drctl check PLAYBOOK: runs only the checks (the pre-switch gate). Exit 0 or 1.
#include "command.hpp"
#include "common.hpp"

namespace drctl::cli {
namespace {

class CheckCommand : public Command {
 public:
  const char* name() const override { return "check"; }
  const char* help() const override { return "Run the pre-switch checks only; changes nothing"; }
  void setup(CLI::App& app) override {
    app.add_option("playbook", m_path, "Playbook file")->required();
  }

  int run(const GlobalOptions& global) override {
    int exit_code = 0;
    auto playbook = load_or_report(m_path, global, exit_code);
    if (!playbook) return exit_code;
    return execute(*playbook, Mode::check, global);
  }

 private:
  std::string m_path;
};

}  // namespace

std::unique_ptr<Command> make_check_command() {
  return std::make_unique<CheckCommand>();
}

}  // namespace drctl::cli
