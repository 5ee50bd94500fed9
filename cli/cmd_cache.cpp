// drctl cache info|verify|get|list|diff: look into a fallback snapshot directory (or one
// file) without etcd, and compare it with live etcd.
#include <fmt/format.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "cache/snapshot_reader.hpp"
#include "cache/snapshot_store.hpp"
#include "clients/etcd.hpp"
#include "clients/etcd_connection.hpp"
#include "command.hpp"
#include "common.hpp"
#include "engine/exit_codes.hpp"
#include "etcd/prefix_diff.hpp"
#include "util/clock.hpp"
#include "util/json_dump.hpp"
#include "util/print.hpp"
#include "util/secrets.hpp"

namespace drctl::cli {
namespace {

// verify: corrupt; get: no such key; diff: different; any: the file or DIR cannot be read.
constexpr int k_cache_bad = 1;
// get, list, diff, info: the snapshot is corrupt and was refused (EX_DATAERR, as an invalid
// playbook: the input is wrong, not the command line). verify keeps 1: "corrupt" is its answer.
constexpr int k_cache_corrupt = k_exit_invalid_playbook;
static_assert(k_cache_corrupt == 65);

using OpenKind = SnapshotOpenError::Kind;

// DIR (its `current`) or a snapshot file.
tl::expected<SnapshotReader, SnapshotOpenError> open_snapshot(const std::string& path) {
  std::error_code error;
  if (std::filesystem::is_directory(path, error)) {
    auto store = SnapshotStore::open(path, false);
    if (!store) return tl::unexpected(SnapshotOpenError{OpenKind::unreadable, store.error()});
    auto current = store->current();
    if (!current) {
      return tl::unexpected(
          SnapshotOpenError{OpenKind::unreadable, fmt::format("{}: no current snapshot", path)});
    }
    return SnapshotReader::load(path + "/" + *current);
  }
  return SnapshotReader::load(path);
}

std::string when(std::int64_t unix_ms) {
  return rfc3339_utc(WallTime(std::chrono::milliseconds(unix_ms)));
}

nlohmann::json describe(const SnapshotReader& reader, const std::string& name) {
  const auto& h = reader.header();
  return {{"file", name},
          {"prefix", std::string(reader.prefix())},
          {"revision", h.revision},
          {"keys", h.key_count},
          {"bytes", reader.size()},
          {"cluster_id", fmt::format("{:x}", h.cluster_id)},
          {"created_at", when(h.created_at_ms)}};
}

class CacheCommand : public Command {
 public:
  const char* name() const override { return "cache"; }
  const char* help() const override {
    return "Inspect, verify and compare fallback snapshots (cache_warmup's files)";
  }

  void setup(CLI::App& app) override {
    app.require_subcommand(1);
    m_info = app.add_subcommand("info", "Versions in DIR: revision, keys, size, which is current");
    m_info->add_option("dir", m_path, "Snapshot directory")->required();
    m_verify = app.add_subcommand("verify",
                                  "Verify every checksum (exit 0 sound, 1 corrupt, naming where)");
    m_verify->add_option("path", m_path, "Snapshot directory (every version) or file")->required();
    m_get = app.add_subcommand(
        "get",
        "Print one key's value from DIR's current snapshot (exit 1 if absent, 65 if corrupt)");
    m_get->add_option("dir", m_path, "Snapshot directory or file")->required();
    m_get->add_option("key", m_key, "Key")->required();
    m_list = app.add_subcommand("list", "List keys (and mod revisions) of DIR's current snapshot");
    m_list->add_option("dir", m_path, "Snapshot directory or file")->required();
    m_list->add_option("--prefix", m_prefix, "Only keys starting with this");
    m_diff = app.add_subcommand(
        "diff", "Compare DIR's current snapshot with live etcd (exit 0 same, 1 different)");
    m_diff->add_option("dir", m_path, "Snapshot directory or file")->required();
    m_diff->add_option("--endpoints", m_endpoints, "etcd host:port,...")
        ->required()
        ->delimiter(',');
    m_diff->add_option("--prefix", m_prefix, "Prefix to compare (default: the snapshot's)");
    m_diff->add_option("--user", m_user, "etcd user");
    m_diff->add_option("--password-env", m_password_env,
                       "Environment variable holding the password");
    m_diff->add_option("--password-file", m_password_file, "File holding the password");
    m_diff->add_option("--ca", m_ca, "CA bundle (PEM)");
    m_diff->add_option("--cert", m_cert, "Client certificate (PEM)");
    m_diff->add_option("--key", m_tls_key, "Client key (PEM)");
    m_diff->add_option("--timeout", m_timeout, "Limit (default 1m)");
  }

  int run(const GlobalOptions& global) override {
    m_json = global.output == OutputFormat::json;
    if (m_info->parsed()) return info();
    if (m_verify->parsed()) return verify();
    if (m_get->parsed()) return get();
    if (m_list->parsed()) return list();
    return diff();
  }

 private:
  int info() {
    auto store = SnapshotStore::open(m_path, false);
    if (!store) return error(store.error());
    auto current = store->current();
    nlohmann::json versions = nlohmann::json::array();
    int exit_code = 0;
    for (const auto& version : store->versions()) {
      auto reader = SnapshotReader::load(version.path);
      nlohmann::json item =
          reader ? describe(*reader, version.name)
                 : nlohmann::json{{"file", version.name}, {"error", reader.error().message}};
      item["current"] = current == version.name;
      versions.push_back(item);
      // A corrupt version is listed with the others, and said once more on stderr.
      if (!reader && reader.error().kind == OpenKind::corrupt) exit_code = refused(reader.error());
    }
    if (m_json) {
      std::puts(dump_json(nlohmann::json{{"dir", m_path},
                                         {"current", current ? nlohmann::json(*current)
                                                             : nlohmann::json(nullptr)},
                                         {"versions", versions}},
                          2)
                    .c_str());
      return exit_code;
    }
    print_to(stdout, "{}: {} versions, current: {}\n", m_path, versions.size(),
             current.value_or("(none)"));
    for (const auto& v : versions) {
      if (v.contains("error")) {
        print_to(stdout, "  {}  unreadable: {}\n", v["file"].get<std::string>(),
                 v["error"].get<std::string>());
        continue;
      }
      print_to(stdout, "{} {}  revision {}  {} keys  {} bytes  prefix {}  created {}\n",
               v["current"].get<bool>() ? "*" : " ", v["file"].get<std::string>(),
               v["revision"].get<long long>(), v["keys"].get<unsigned long long>(),
               v["bytes"].get<unsigned long long>(), v["prefix"].get<std::string>(),
               v["created_at"].get<std::string>());
    }
    return exit_code;
  }

  int verify() {
    std::vector<std::string> files;
    std::error_code ec;
    if (std::filesystem::is_directory(m_path, ec)) {
      auto store = SnapshotStore::open(m_path, false);
      if (!store) return error(store.error());
      for (const auto& version : store->versions()) files.push_back(version.path);
      if (files.empty()) return error(m_path + ": no snapshots");
    } else {
      files.push_back(m_path);
    }
    int bad = 0;
    nlohmann::json results = nlohmann::json::array();
    for (const auto& file : files) {
      auto reader = SnapshotReader::open(file);
      std::string problem = reader ? reader->verify() : reader.error();
      if (reader && !problem.empty()) problem = file + ": " + problem;
      if (!problem.empty()) ++bad;
      results.push_back({{"file", file}, {"ok", problem.empty()}, {"problem", problem}});
      if (!m_json) {
        if (problem.empty())
          print_to(stdout, "{}: ok ({} keys, revision {})\n", file, reader->header().key_count,
                   reader->header().revision);
        else
          print_to(stdout, "{}\n", problem);
      }
    }
    if (m_json)
      std::puts(dump_json(nlohmann::json{{"files", results}, {"ok", bad == 0}}, 2).c_str());
    return bad == 0 ? 0 : k_cache_bad;
  }

  int get() {
    auto reader = open_snapshot(m_path);
    if (!reader) return refused(reader.error());
    auto found = reader->find(m_key);
    if (!found) return corrupt(*reader, found.error());
    const auto& entry = *found;
    if (!entry) {
      if (!m_json)
        print_error(fmt::format("{}: no key {}", m_path, m_key));
      else
        std::puts(dump_json(nlohmann::json{{"key", m_key}, {"found", false}}).c_str());
      return k_cache_bad;
    }
    if (m_json) {
      std::puts(dump_json(nlohmann::json{{"key", m_key},
                                         {"found", true},
                                         {"value", std::string(entry->value)},
                                         {"mod_revision", entry->mod_revision}})
                    .c_str());
    } else {
      std::fwrite(entry->value.data(), 1, entry->value.size(), stdout);
      std::fputc('\n', stdout);
    }
    return 0;
  }

  int list() {
    auto reader = open_snapshot(m_path);
    if (!reader) return refused(reader.error());
    nlohmann::json keys = nlohmann::json::array();
    std::string problem = reader->scan(m_prefix, [&](const SnapshotEntry& entry) {
      if (m_json)
        keys.push_back({{"key", std::string(entry.key)}, {"mod_revision", entry.mod_revision}});
      else
        print_to(stdout, "{}\t{}\n", entry.key, entry.mod_revision);
      return true;
    });
    if (!problem.empty()) return corrupt(*reader, problem);
    if (m_json) std::puts(dump_json(keys, 2).c_str());
    return 0;
  }

  int diff() {
    auto reader = open_snapshot(m_path);
    if (!reader) return refused(reader.error());
    std::string prefix = m_prefix.empty() ? std::string(reader->prefix()) : m_prefix;
    auto first = reader->lower_bound(prefix);
    if (!first) return corrupt(*reader, first.error());
    nlohmann::json spec = {{"endpoints", m_endpoints}};
    if (!m_user.empty()) spec["user"] = m_user;
    if (!m_password_env.empty()) spec["password_env"] = m_password_env;
    if (!m_password_file.empty()) spec["password_file"] = m_password_file;
    if (!m_ca.empty()) spec["ca"] = m_ca;
    if (!m_cert.empty()) spec["cert"] = m_cert;
    if (!m_tls_key.empty()) spec["key"] = m_tls_key;
    auto timeout =
        m_timeout.empty() ? std::optional<Millis>(Millis(60'000)) : parse_duration(m_timeout);
    if (!timeout) return usage(fmt::format("--timeout: not a duration: '{}'", m_timeout));
    auto deadline = std::chrono::steady_clock::now() + *timeout;
    auto session = etcd_connect(Spec(spec), deadline, "diff");
    if (!session) return error(session.error().message);
    // etcd is the reference: "missing" is in etcd only, "extra" in the snapshot only.
    PrefixCursor live(**session, prefix, 0);
    std::uint64_t index = *first;
    std::string problem;  // the snapshot's, not etcd's
    KeySource snapshot = [&]() -> EtcdResult<std::optional<KeyAndValue>> {
      auto entry = reader->at(index);
      if (!entry) {
        problem = entry.error();
        return tl::unexpected(
            EtcdError{EtcdError::Class::invalid_answer, 0, problem, reader->name()});
      }
      if (!*entry || (*entry)->key.substr(0, prefix.size()) != prefix) return std::nullopt;
      ++index;
      return KeyAndValue{std::string((*entry)->key), std::string((*entry)->value)};
    };
    auto diff = diff_sources(cursor_source(live, deadline), prefix, snapshot, prefix);
    if (!problem.empty()) return corrupt(*reader, problem);
    if (!diff) return error(diff.error().to_string());
    const auto& missing = diff->missing_keys;
    const auto& extra = diff->extra_keys;
    const auto& changed = diff->different_keys;
    std::int64_t counts[3] = {diff->missing, diff->extra, diff->different};
    bool same = counts[0] + counts[1] + counts[2] == 0;
    if (m_json) {
      std::puts(dump_json(nlohmann::json{{"prefix", prefix},
                                         {"snapshot_revision", reader->header().revision},
                                         {"live_revision", live.revision()},
                                         {"missing", counts[0]},
                                         {"extra", counts[1]},
                                         {"changed", counts[2]},
                                         {"missing_keys", missing},
                                         {"extra_keys", extra},
                                         {"changed_keys", changed},
                                         {"same", same}},
                          2)
                    .c_str());
    } else {
      print_to(stdout,
               "{}: snapshot at revision {} against etcd at revision {}: {} missing, {} extra, {} "
               "changed\n",
               prefix, reader->header().revision, live.revision(), counts[0], counts[1], counts[2]);
      for (const auto& key : missing) print_to(stdout, "  missing {}\n", key);
      for (const auto& key : extra) print_to(stdout, "  extra   {}\n", key);
      for (const auto& key : changed) print_to(stdout, "  changed {}\n", key);
    }
    return same ? 0 : k_cache_bad;
  }

  static int error(const std::string& message) {
    print_error(redact(message));
    return k_cache_bad;
  }
  // A snapshot that could not be opened: unreadable (1), or corrupt and refused (65).
  static int refused(const SnapshotOpenError& why) {
    if (why.kind == OpenKind::unreadable) return error(why.message);
    print_error(redact(why.message) + " (corrupt snapshot: refused)");
    return k_cache_corrupt;
  }
  // A corrupt entry met while reading: nothing after it is answered.
  static int corrupt(const SnapshotReader& reader, const std::string& problem) {
    print_error(fmt::format("{}: {} (corrupt snapshot: refused)", reader.name(), redact(problem)));
    return k_cache_corrupt;
  }
  static int usage(const std::string& message) {
    print_error(message);
    return k_exit_usage;
  }

  CLI::App *m_info = nullptr, *m_verify = nullptr, *m_get = nullptr, *m_list = nullptr,
           *m_diff = nullptr;
  bool m_json = false;
  std::string m_path, m_key, m_prefix, m_user, m_password_env, m_password_file, m_ca, m_cert,
      m_tls_key, m_timeout;
  std::vector<std::string> m_endpoints;
};

}  // namespace

std::unique_ptr<Command> make_cache_command() {
  return std::make_unique<CacheCommand>();
}

}  // namespace drctl::cli
