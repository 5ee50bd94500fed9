#include "clients/etcd_connection.hpp"

#include <fmt/format.h>

#include "util/secrets.hpp"
#include "util/strings.hpp"

namespace drctl {

Fields etcd_connection_fields() {
  return {k_etcd_endpoints, k_etcd_ca,           k_etcd_cert,          k_etcd_key,
          k_etcd_user,      k_etcd_password_env, k_etcd_password_file, k_etcd_dial_timeout};
}

Field etcd_connection_field(std::string name, std::string doc) {
  return Field::object(std::move(name), std::move(doc), etcd_connection_fields()).mandatory();
}

std::vector<SpecProblem> check_etcd_connection(const Spec& spec, const std::string& at) {
  std::vector<SpecProblem> problems;
  std::string prefix = at.empty() ? "" : at + ".";
  if (spec.has(k_etcd_password_env) && spec.has(k_etcd_password_file)) {
    problems.push_back({prefix + k_etcd_password_file.name,
                        "give either password_env or password_file, not both"});
  }
  if ((spec.has(k_etcd_password_env) || spec.has(k_etcd_password_file)) && !spec.has(k_etcd_user)) {
    problems.push_back({prefix + (spec.has(k_etcd_password_env) ? k_etcd_password_env.name
                                                                : k_etcd_password_file.name),
                        "a password needs a user"});
  }
  if (spec.has(k_etcd_cert) != spec.has(k_etcd_key))
    problems.push_back({prefix + (spec.has(k_etcd_cert) ? k_etcd_key.name : k_etcd_cert.name),
                        "cert and key go together"});
  if (spec.has(k_etcd_endpoints) && spec.strings(k_etcd_endpoints).empty())
    problems.push_back({prefix + k_etcd_endpoints.name, "at least one endpoint"});
  return problems;
}

tl::expected<EtcdConnection, std::string> etcd_connection_from(const Spec& spec) {
  EtcdConnection connection;
  for (const auto& item : spec.strings(k_etcd_endpoints)) {
    for (const auto& endpoint : split(item, ',')) {
      if (!trim(endpoint).empty()) connection.endpoints.push_back(std::string(trim(endpoint)));
    }
  }
  connection.ca = spec.str(k_etcd_ca);
  connection.cert = spec.str(k_etcd_cert);
  connection.key = spec.str(k_etcd_key);
  connection.user = spec.str(k_etcd_user);
  connection.dial_timeout = spec.duration(k_etcd_dial_timeout).value();
  auto password = spec.secret("password");
  if (!password)
    return tl::unexpected(
        fmt::format("etcd {}: password: {}", connection.describe(), password.error()));
  connection.password = *password;
  return connection;
}

tl::expected<std::unique_ptr<EtcdSession>, EtcdConnectError> etcd_connect(const Spec& spec,
                                                                          Deadline deadline,
                                                                          const std::string& who) {
  auto client = etcd_client();
  if (!client)
    return tl::unexpected(
        EtcdConnectError{EtcdConnectError::Cause::module, {}, "etcd: " + client.error()});
  auto connection = etcd_connection_from(spec);
  if (!connection)
    return tl::unexpected(
        EtcdConnectError{EtcdConnectError::Cause::config, {}, connection.error()});
  auto session = (*client)->connect(*connection, deadline);
  if (!session) {
    return tl::unexpected(
        EtcdConnectError{EtcdConnectError::Cause::server, session.error(),
                         redact(fmt::format("etcd {} ({}): {}", who, connection->describe(),
                                            session.error().to_string()))});
  }
  return std::move(*session);
}

}  // namespace drctl
