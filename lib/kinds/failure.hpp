#pragma once
// How kinds turn the clients' own error classes into outcomes: a status, evidence.error and a
// one-line message, the same for every kind that talks to the same kind of server.
#include <memory>
#include <string>
#include <tl/expected.hpp>

#include "clients/etcd.hpp"
#include "clients/http_client.hpp"
#include "core/context.hpp"
#include "core/outcome.hpp"
#include "core/spec.hpp"

namespace drctl {

// A failed outcome with its class in evidence.error and its message redacted: what every kind
// returns when it fails (changed: no unless it says otherwise).
Outcome failed(Status status, std::string error_class, const std::string& message,
               Changed changed = Changed::no);
// The same for an outcome that already carries evidence (counts measured before the failure).
Outcome failed(Outcome so_far, Status status, std::string error_class, const std::string& message);

// The outcome class of an HTTP transport failure: refused or unresolvable -> unreachable,
// timeout -> timeout, an empty or malformed answer -> invalid_answer, anything else -> failed.
Status status_for(HttpError::Class kind);
// A short name for evidence.error: "unreachable", "timeout", "bad_answer", "tls", "transport".
const char* error_name(HttpError::Class kind);
// A failed outcome for an HTTP transport error, the message prefixed by `what` (the endpoint).
Outcome http_failure(const HttpError& error, const std::string& what,
                     Changed changed = Changed::unknown);

// An outcome for an etcd error: status by class, evidence.error = class, message prefixed by
// `what`.
Outcome etcd_failure(const EtcdError& error, const std::string& what,
                     Changed changed = Changed::no);
// Connects to the etcd a (nested) connection spec names, or explains why not as a failed
// outcome that changed nothing (`who` names the side: "from", "backup").
tl::expected<std::unique_ptr<EtcdSession>, Outcome> open_etcd(const Spec& spec, Deadline deadline,
                                                              const std::string& who);

// open_etcd for a session that writes: when the run holds a lock in the same etcd cluster (its
// cluster id, asked once), every write carries the lock's fencing token
// (EtcdSession::fence_writes), and one refused by it fails as `fenced`.
tl::expected<std::unique_ptr<EtcdSession>, Outcome> open_etcd_for_writes(const Spec& spec,
                                                                         const AttemptContext& ctx,
                                                                         const std::string& who);

}  // namespace drctl
