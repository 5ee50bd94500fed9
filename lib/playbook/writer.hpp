#pragma once
// Writes a validated playbook back as a format v1 document: loading that document again gives
// an equal playbook (vars and env already resolved). Used by the round-trip test, and meant
// for the journal, which must record exactly what ran.
#include <nlohmann/json.hpp>

#include "core/model.hpp"
#include "kinds/registry.hpp"

namespace drctl {

nlohmann::json playbook_to_document(const Playbook& playbook, const KindRegistry& kinds);

}  // namespace drctl
