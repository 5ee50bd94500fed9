#include <doctest/doctest.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "kinds/registry.hpp"
#include "playbook/schema.hpp"

using namespace drctl;

TEST_CASE("the committed JSON Schema is the one the validator's tables generate") {
  std::ifstream in(std::string(DRCTL_SOURCE_DIR) + "/playbooks/schema/playbook-v1.schema.json");
  REQUIRE(in.good());
  auto committed = nlohmann::json::parse(in);
  // If this fails: build/cli/drctl schema > playbooks/schema/playbook-v1.schema.json
  CHECK(committed == playbook_json_schema(builtin_kinds()));
}
