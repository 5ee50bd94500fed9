#pragma once
// An etcd v3 client. The implementation (gRPC, etcd's protos) lives in the etcd module
// (lib/modules/etcd/), loaded on first use, so nothing else pays for gRPC's start-up.
// Every call takes a deadline on the steady clock and gives up by then.
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <tl/expected.hpp>
#include <utility>
#include <vector>

#include "util/duration.hpp"

namespace drctl {

// The one connection spec every etcd-facing kind takes.
struct EtcdConnection {
  std::vector<std::string> endpoints;  // host:port, or http(s)://host:port
  std::string ca, cert, key;           // TLS (PEM files); https:// endpoints use TLS too
  std::string user, password;          // password already read from its *_env / *_file
  Millis dial_timeout{2'000};

  std::string describe() const;  // "127.0.0.1:2379,127.0.0.1:2479"
};

struct EtcdError {
  enum class Class {
    unreachable,
    timeout,
    auth,
    compacted,
    no_leader,
    precondition,
    fenced,  // a write refused because the run lock's key no longer has the run's fencing token
    invalid_answer,
    other
  };
  Class kind = Class::other;
  int grpc_code = 0;
  std::string message;   // etcd's or gRPC's own words
  std::string endpoint;  // where it happened

  std::string to_string() const;  // "127.0.0.1:2379: unreachable: ..."
};
std::string_view etcd_error_class_name(EtcdError::Class kind);

template <class T>
using EtcdResult = tl::expected<T, EtcdError>;

struct EtcdHeader {
  std::uint64_t cluster_id = 0;
  std::uint64_t member_id = 0;
  std::int64_t revision = 0;
  std::uint64_t raft_term = 0;
};

struct EtcdKeyValue {
  std::string key, value;
  std::int64_t create_revision = 0, mod_revision = 0, version = 0, lease = 0;
};

struct EtcdRangeRequest {
  std::string key, range_end;  // [key, range_end); range_end "" means the key alone
  std::int64_t revision = 0;   // 0: the newest
  std::int64_t limit = 0;      // 0: no limit
  bool serializable = false;   // false: linearizable (needs quorum)
  bool keys_only = false, count_only = false;
};

struct EtcdRange {
  EtcdHeader header;
  std::vector<EtcdKeyValue> kvs;
  bool more = false;
  std::int64_t count = 0;
};

struct EtcdPutResult {
  EtcdHeader header;
  std::optional<EtcdKeyValue> previous;
};

// Compare-and-put: the put happens only when the key's value (or mod_revision) is as expected.
struct EtcdPutCondition {
  std::optional<std::string> value;          // the current value must equal this
  std::optional<std::int64_t> mod_revision;  // the current mod_revision must equal this (0: absent)
};

struct EtcdTxnPutResult {
  EtcdHeader header;
  bool succeeded = false;
  std::optional<EtcdKeyValue>
      previous;  // the value before the put, or the current one when the compare failed
};

struct EtcdStatus {
  EtcdHeader header;
  std::string version;
  std::int64_t db_size = 0, db_size_in_use = 0;
  std::uint64_t leader = 0, raft_index = 0, raft_term = 0, raft_applied_index = 0;
  std::vector<std::string> errors;
  bool is_learner = false;
};

struct EtcdMember {
  std::uint64_t id = 0;
  std::string name;
  std::vector<std::string> peer_urls, client_urls;
  bool is_learner = false;
};

struct EtcdAlarm {
  std::uint64_t member_id = 0;
  std::string type;  // NOSPACE, CORRUPT
};

struct EtcdLease {
  std::int64_t id = 0;
  std::int64_t ttl = 0;
};

struct EtcdEvent {
  bool is_delete = false;
  EtcdKeyValue kv;
};

struct EtcdWatchResponse {
  EtcdHeader header;
  std::vector<EtcdEvent> events;
  bool canceled = false;
  std::int64_t compact_revision = 0;  // set when the start revision was compacted
  std::string cancel_reason;
  std::chrono::steady_clock::time_point received_at;  // stamped by the reading thread
};

// One watch on one key range, over its own stream. Responses are read by a thread as they
// arrive (and stamped then), so a slow consumer never delays the measurement.
class EtcdWatch {
 public:
  virtual ~EtcdWatch() = default;
  // The next response, nullopt when none arrived by `deadline`. A stream broken by an
  // unreachable member, or stalled (silent, and no answer to a progress request), is reopened
  // on the next endpoint from the revision after the last event seen, so no event is lost or
  // repeated; other errors end the watch.
  virtual EtcdResult<std::optional<EtcdWatchResponse>> next(Deadline deadline) = 0;
  // Asks the server for a progress notification (a response whose header revision says
  // every event up to it has been sent).
  virtual void request_progress() = 0;
  virtual int reconnects() const = 0;
  virtual std::string endpoint() const = 0;
};

// A connection to one cluster through its endpoints, failing over between them: on an
// unreachable member, one without a leader, and one that does not answer within its slice of
// the call's deadline (a stalled member). A write repeated after a timeout is told from its
// earlier attempt's effect (docs/playbook.md, the etcd connection spec); a put or put_if taken
// as applied by that attempt has the key's revision and no previous value.
class EtcdSession {
 public:
  virtual ~EtcdSession() = default;
  virtual EtcdResult<EtcdRange> range(const EtcdRangeRequest& request, Deadline deadline) = 0;
  virtual EtcdResult<EtcdPutResult> put(const std::string& key, const std::string& value,
                                        std::int64_t lease, Deadline deadline) = 0;
  virtual EtcdResult<EtcdTxnPutResult> put_if(const std::string& key, const std::string& value,
                                              const EtcdPutCondition& condition, std::int64_t lease,
                                              Deadline deadline) = 0;
  // Puts every pair in one transaction (no lease): all are committed, or none. Keep it under
  // etcd's --max-txn-ops (128 by default) and its request size limit (1.5 MiB by default).
  virtual EtcdResult<EtcdHeader> put_all(
      const std::vector<std::pair<std::string, std::string>>& pairs, Deadline deadline) = 0;
  // Deletes the key only if its mod_revision is still `mod_revision`; false when it is not.
  virtual EtcdResult<bool> erase_if(const std::string& key, std::int64_t mod_revision,
                                    Deadline deadline) = 0;
  // Deletes [key, range_end) and returns the previous key-values.
  virtual EtcdResult<std::vector<EtcdKeyValue>> erase(const std::string& key,
                                                      const std::string& range_end,
                                                      Deadline deadline) = 0;
  // Deletes every range [key, range_end) of `ranges` in one transaction (all or none; keep it
  // under --max-txn-ops) and returns how many keys went. Unlike erase, the deleted values are
  // not sent back (a run's journal can be megabytes).
  virtual EtcdResult<std::int64_t> erase_ranges(
      const std::vector<std::pair<std::string, std::string>>& ranges, Deadline deadline) = 0;
  // Status of the member this session is talking to.
  virtual EtcdResult<EtcdStatus> status(Deadline deadline) = 0;
  virtual EtcdResult<std::vector<EtcdMember>> members(Deadline deadline) = 0;
  virtual EtcdResult<std::vector<EtcdAlarm>> alarms(Deadline deadline) = 0;
  // Must be sent to the leader.
  virtual EtcdResult<void> move_leader(std::uint64_t target_member, Deadline deadline) = 0;
  virtual EtcdResult<EtcdLease> grant_lease(std::int64_t ttl_seconds, Deadline deadline) = 0;
  virtual EtcdResult<EtcdLease> keep_alive(std::int64_t lease, Deadline deadline) = 0;
  virtual EtcdResult<void> revoke_lease(std::int64_t lease, Deadline deadline) = 0;
  // The lease's remaining ttl in seconds (-1: expired or unknown).
  virtual EtcdResult<EtcdLease> lease_ttl(std::int64_t lease, Deadline deadline) = 0;
  // From now on every write through this session (put, put_if, put_all, erase_if, erase,
  // erase_ranges) is a transaction that also requires `key` to still have `mod_revision`: the
  // run lock's key and fencing token. A write it refuses fails with Class::fenced and changes
  // nothing.
  virtual void fence_writes(const std::string& key, std::int64_t mod_revision) = 0;
  virtual EtcdResult<std::unique_ptr<EtcdWatch>> watch(const std::string& key,
                                                       const std::string& range_end,
                                                       std::int64_t start_revision,
                                                       Deadline deadline) = 0;
  virtual std::string endpoint() const = 0;  // the endpoint in use
};

class EtcdClient {
 public:
  virtual ~EtcdClient() = default;
  // Dials the endpoints in order (each within dial_timeout) and authenticates when a user is set.
  virtual EtcdResult<std::unique_ptr<EtcdSession>> connect(const EtcdConnection& connection,
                                                           Deadline deadline) = 0;
};

// The module's client; an error when the module cannot be loaded.
tl::expected<EtcdClient*, std::string> etcd_client();

// The range_end that selects every key starting with `prefix` (etcd's "prefix + 1").
std::string etcd_prefix_end(const std::string& prefix);

}  // namespace drctl
