#pragma once
// The flags of a `drctl probe` subcommand, made from its kind's field table: the same names
// (underscores as dashes), help and types, so a probe can never drift from the playbook key it
// stands for. The values given become a spec that the playbook validator checks as it checks
// any playbook, and its errors are reported under the flag's name.
#include <CLI/CLI.hpp>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "core/kind.hpp"

namespace drctl::cli {

// How one probe maps its kind's keys to flags.
struct ProbeShape {
  // Nested connection objects whose members are one set of flags, shared by all of them
  // (etcd_health's `etcd`, etcd_watch_latency's `put` and `watch`): `--user` sets each one's user.
  std::vector<std::string> shared_objects;
  // Members of those that differ per object: `--put-endpoints`, `--watch-endpoints` (or just
  // `--endpoints` when there is one object).
  std::vector<std::string> per_object_members;
  // Members of other nested objects that default to the top-level flags of the same names,
  // in groups taken whole (mysql's `--primary-*` take --user, and the password as given for
  // the replica, env or file, unless a --primary-password-* is given).
  std::vector<std::vector<std::string>> inherited_members;
  // Keys whose flag is required although the kind's table does not require the key (the
  // table accepts `address` or `addresses`; the probe takes one address).
  std::vector<std::string> required;
  // Extra names for a key's flag: {"address", "--addr"} (grpc_health_probe's name).
  std::map<std::string, std::string> aliases;
  // Top-level keys the probe sets itself, with no flag: {"method", "lost"} for `mysql-lost`.
  std::map<std::string, std::string> fixed;
};

class ProbeFlags {
 public:
  // Adds one option per key of `kind` to `app`.
  ProbeFlags(CLI::App& app, const Kind& kind, ProbeShape shape);
  ProbeFlags(const ProbeFlags&) = delete;
  ProbeFlags& operator=(const ProbeFlags&) = delete;

  // The spec the given flags make; nullopt after printing a flag-named error.
  std::optional<nlohmann::json> spec() const;
  // The flag a key path inside the spec ("primary.port", "put.endpoints") was given by.
  std::string flag_for(const std::string& key_path) const;

 private:
  struct Flag {
    std::string name;                             // "--primary-port"
    const Field* field = nullptr;                 // the key it sets
    std::vector<std::vector<std::string>> paths;  // where in the spec (several when shared)
    std::string text;
    std::vector<std::string> items;
    bool on = false;
    CLI::Option* option = nullptr;
  };
  void add(CLI::App& app, const Field& field, std::string name,
           std::vector<std::vector<std::string>> paths);
  bool given(const Flag& flag) const { return flag.option->count() > 0; }

  const Kind& m_kind;
  ProbeShape m_shape;
  std::vector<std::unique_ptr<Flag>> m_flags;  // CLI11 binds to their members: stable addresses
};

}  // namespace drctl::cli
