#pragma once
// The connection spec every etcd-facing kind takes, declared once:
// {endpoints, ca, cert, key, user, password_env | password_file, dial_timeout}.
#include <memory>
#include <string>
#include <tl/expected.hpp>

#include "clients/etcd.hpp"
#include "core/kind.hpp"

namespace drctl {

// The keys of a connection spec, for reading them: spec.strings(k_etcd_endpoints). Inline, so
// a kind's namespace-scope Fields may be built from them (they are initialized first).
inline const Field k_etcd_endpoints =
    Field::string_list("endpoints",
                       "Client endpoints, host:port or http(s)://host:port, tried in order; an "
                       "item may hold several, comma-separated (as etcdctl --endpoints).")
        .mandatory();
inline const Field k_etcd_ca =
    Field::string("ca", "CA bundle (PEM) to verify the members with; enables TLS.");
inline const Field k_etcd_cert = Field::string("cert", "Client certificate (PEM), for mutual TLS.");
inline const Field k_etcd_key = Field::string("key", "Client private key (PEM).");
inline const Field k_etcd_user = Field::string("user", "User to authenticate as (etcd auth).");
inline const Field k_etcd_password_env =
    Field::string("password_env", "Environment variable holding the user's password.");
inline const Field k_etcd_password_file =
    Field::string("password_file", "File holding the user's password.");
inline const Field k_etcd_dial_timeout =
    Field::duration("dial_timeout", "Time to connect to one endpoint before trying the next.")
        .defaults_to("2s");

Fields etcd_connection_fields();
// A mandatory nested connection spec (`from:`, `to:`, `source:`).
Field etcd_connection_field(std::string name, std::string doc);
// "password_* without user" and the like, for a connection spec at `at` ("" for the kind's own
// keys).
std::vector<SpecProblem> check_etcd_connection(const Spec& spec, const std::string& at);

// Reads the password from its env var or file (registering it as a secret).
tl::expected<EtcdConnection, std::string> etcd_connection_from(const Spec& spec);

// Why no session could be opened: the etcd module did not load, the spec is unusable (a
// password file that cannot be read), or the server failed (`error` says how).
struct EtcdConnectError {
  enum class Cause { module, config, server };
  Cause cause = Cause::server;
  EtcdError error;      // when cause is server
  std::string message;  // one line naming the side (`who`) and its endpoints, no secrets
};

// Connects (`who` names the side in messages: "from", "backup", "lock").
tl::expected<std::unique_ptr<EtcdSession>, EtcdConnectError> etcd_connect(const Spec& spec,
                                                                          Deadline deadline,
                                                                          const std::string& who);

}  // namespace drctl
