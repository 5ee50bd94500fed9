#include "clients/etcd_connection.hpp"

#include <fmt/format.h>

#include "util/secrets.hpp"
#include "util/strings.hpp"

namespace drctl {

Fields etcd_connection_fields() {
  return {
      Field::string_list("endpoints",
                         "Client endpoints, host:port or http(s)://host:port, tried in order; an "
                         "item may hold several, comma-separated (as etcdctl --endpoints).")
          .mandatory(),
      Field::string("ca", "CA bundle (PEM) to verify the members with; enables TLS."),
      Field::string("cert", "Client certificate (PEM), for mutual TLS."),
      Field::string("key", "Client private key (PEM)."),
      Field::string("user", "User to authenticate as (etcd auth)."),
      Field::string("password_env", "Environment variable holding the user's password."),
      Field::string("password_file", "File holding the user's password."),
      Field::duration("dial_timeout", "Time to connect to one endpoint before trying the next.")
          .defaults_to("2s"),
  };
}

Field etcd_connection_field(std::string name, std::string doc) {
  return Field::object(std::move(name), std::move(doc), etcd_connection_fields()).mandatory();
}

std::vector<SpecProblem> check_etcd_connection(const Spec& spec, const std::string& at) {
  std::vector<SpecProblem> problems;
  std::string prefix = at.empty() ? "" : at + ".";
  if (spec.has("password_env") && spec.has("password_file")) {
    problems.push_back(
        {prefix + "password_file", "give either password_env or password_file, not both"});
  }
  if ((spec.has("password_env") || spec.has("password_file")) && !spec.has("user")) {
    problems.push_back({prefix + (spec.has("password_env") ? "password_env" : "password_file"),
                        "a password needs a user"});
  }
  if (spec.has("cert") != spec.has("key"))
    problems.push_back({prefix + (spec.has("cert") ? "key" : "cert"), "cert and key go together"});
  if (spec.has("endpoints") && spec.strings("endpoints").empty())
    problems.push_back({prefix + "endpoints", "at least one endpoint"});
  return problems;
}

tl::expected<EtcdConnection, std::string> etcd_connection_from(const Spec& spec) {
  EtcdConnection connection;
  for (const auto& item : spec.strings("endpoints")) {
    for (const auto& endpoint : split(item, ',')) {
      if (!trim(endpoint).empty()) connection.endpoints.push_back(std::string(trim(endpoint)));
    }
  }
  connection.ca = spec.str("ca");
  connection.cert = spec.str("cert");
  connection.key = spec.str("key");
  connection.user = spec.str("user");
  connection.dial_timeout = spec.duration("dial_timeout").value_or(Millis(2000));
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
