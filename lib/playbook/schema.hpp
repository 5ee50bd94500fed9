#pragma once
// Generates the JSON Schema of playbook format v1 from the same Field tables the validator
// uses. playbooks/schema/playbook-v1.schema.json is this output; a test keeps them equal.
#include <nlohmann/json.hpp>

#include "kinds/registry.hpp"

namespace drctl {

nlohmann::json playbook_json_schema(const KindRegistry& kinds);

}  // namespace drctl
