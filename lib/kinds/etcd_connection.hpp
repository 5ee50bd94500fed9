#pragma once
// The connection spec every etcd-facing kind takes, declared once:
// {endpoints, ca, cert, key, user, password_env | password_file, dial_timeout}.
#include <memory>
#include <string>

#include <tl/expected.hpp>

#include "clients/etcd.hpp"
#include "engine/outcome.hpp"
#include "kinds/kind.hpp"

namespace drctl {

Fields etcd_connection_fields();
// A mandatory nested connection spec (`from:`, `to:`, `source:`).
Field etcd_connection_field(std::string name, std::string doc);
// "password_* without user" and the like, for a connection spec at `at` ("" for the kind's own keys).
std::vector<SpecProblem> check_etcd_connection(const Spec& spec, const std::string& at);

// Reads the password from its env var or file (registering it as a secret).
tl::expected<EtcdConnection, std::string> etcd_connection_from(const Spec& spec);

// Connects, or explains why not as a failed outcome (`who` names the side: "from", "backup").
tl::expected<std::unique_ptr<EtcdSession>, Outcome> etcd_connect(const Spec& spec, Deadline deadline, const std::string& who);

// An outcome for an etcd error: status by class, evidence.error = class, message prefixed by `what`.
Outcome etcd_failure(const EtcdError& error, const std::string& what, Changed changed = Changed::no);

}  // namespace drctl
