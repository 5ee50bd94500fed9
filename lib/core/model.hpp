#pragma once
// A validated playbook: everything the engine needs, nothing it has to check again.
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/diagnostic.hpp"
#include "core/spec.hpp"
#include "util/duration.hpp"

namespace drctl {

enum class Role { check, step };

// One kind and its validated spec, e.g. `exec: {argv: [...]}`.
struct Action {
  std::string kind;
  Spec spec;
  SourcePos pos;
};

// Attempts and deadlines of one check, step or rollback.
struct Timing {
  Millis timeout{30'000};
  int retries = 0;
  Millis retry_delay{1'000};
};

struct Rollback {
  Action action;
  Timing timing;
};

// A check or a step.
struct Entry {
  std::string name;
  Role role = Role::step;
  std::string path;  // "steps[2]", for messages
  SourcePos pos;
  Action action;
  Timing timing;
  std::optional<Millis> budget;      // steps only: this step's share of the SLA
  std::optional<Rollback> rollback;  // steps only
  bool read_only = false;            // steps only: changes nothing, needs no rollback
  bool run_on_resume = false;        // checks only: on_resume: run
  // Checks only, for `drctl serve` (`drctl check` and `run` ignore them): this check's own
  // evaluation interval, and for a check that writes the least time between two evaluations.
  std::optional<Millis> interval;
  std::optional<Millis> min_interval;
};

enum class OnBreach { fail, warn };

// sla.probe: what users see while the switch runs.
struct ProbeSpec {
  std::string url;
  Millis interval{20};
  Millis timeout{1'000};                 // per request
  std::vector<long long> expect_status;  // default: 200-399
  std::optional<Millis> p99;
  std::optional<double> max_error_rate;  // a fraction (written as "1%")
};

// sla.write_probe: acknowledged writes, sent while the switch runs and read back after it.
struct WriteProbeSpec {
  std::string url;
  std::string method = "POST";
  Millis interval{100};
  Millis timeout{1'000};  // per write: no answer by then is an unknown outcome
  std::string body = R"({"key": "{key}", "seq": {seq}})";
  std::string content_type = "application/json";
  std::vector<long long> ack_status;      // default: 200 and 201
  std::vector<long long> unknown_status;  // default: 502 and 504 (a proxy lost its upstream)
  std::string verify_url;                 // GET, {key} replaced; or:
  nlohmann::json verify_sql;              // connection keys and `query`, read when verifying
  Millis verify_timeout{60'000};          // for the whole verification
  long long max_lost = 0;
  std::optional<Millis> max_write_gap;
};

struct Sla {
  std::optional<Millis> total;  // first step start to last step end
  OnBreach on_breach = OnBreach::fail;
  bool exclude_approvals = false;  // sla.total leaves out the time approval steps waited
  std::optional<ProbeSpec> probe;
  std::optional<WriteProbeSpec> write_probe;
};

// Which finished runs' journals (the local files and their etcd copies) are kept after a run
// ends (lock.journal_retention): the newest `runs`, or those younger than `age`; with both (as
// `drctl runs --prune` can ask), a run is pruned only when both would prune it.
struct JournalRetention {
  std::optional<long long> runs;
  std::optional<Millis> age;
};
// When a playbook says nothing: the newest 100 finished runs.
inline constexpr long long k_default_journal_retention = 100;

// lock: an etcd key held with a lease while the run lasts (the run lock).
struct LockSpec {
  nlohmann::json etcd;  // the etcd connection spec, as written
  std::string key;
  Millis ttl{30'000};
  JournalRetention journal_retention{k_default_journal_retention, std::nullopt};
};

struct Playbook {
  int version = 1;
  std::string name;
  std::string description;
  std::string source_path;
  std::string hash;    // "xxh3-128:<hex>" of the file's bytes
  std::string source;  // the file's text (journaled, so a run can be rolled back from anywhere)
  std::map<std::string, std::string> var_overrides;  // --var, as given
  std::map<std::string, std::string> vars;
  Timing defaults;
  Sla sla;
  std::optional<LockSpec> lock;
  std::vector<Entry> checks;
  std::vector<Entry> steps;
};

}  // namespace drctl
