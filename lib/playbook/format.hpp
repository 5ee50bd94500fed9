#pragma once
// The fixed part of playbook format v1: the top-level keys and the keys every check, step
// and rollback has beside its kind key. Read by the loader and by the schema generator.
#include "core/field.hpp"
#include "core/model.hpp"

namespace drctl {

inline constexpr int k_playbook_version = 1;

// version, name, description, vars, defaults, sla (checks and steps are lists of entries).
const Fields& top_level_fields();
// name, timeout, retries, retry_delay; a step adds budget (rollback is handled apart).
const Fields& entry_fields(Role role);
// timeout, retries, retry_delay: the keys a rollback has beside its kind key.
const Fields& rollback_fields();

}  // namespace drctl
