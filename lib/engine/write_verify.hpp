#pragma once
// Reads a write probe's writes back after the run: by URL (GET, {key} replaced; 200 with a
// JSON body is present, its `count` the number of copies; 404 absent) or by SQL (a query that
// counts the key's copies). An answer that says neither is "could not be read back", never
// "absent": only a clear absence counts as lost.
#include <string>
#include <tl/expected.hpp>
#include <vector>

#include "clients/sql.hpp"
#include "core/cancel.hpp"
#include "core/model.hpp"
#include "util/duration.hpp"

namespace drctl {

struct KeyPresence {
  long long copies = -1;  // -1: could not be read back
  std::string error;      // why not, in one line
};

// Where the writes are read back from, resolved before the first step: a wrong password file
// or a missing MySQL module is found before the switch, not after it.
struct ReadBackTarget {
  SqlClient* sql = nullptr;  // null: by verify_url
  SqlEndpoint endpoint;
};
tl::expected<ReadBackTarget, std::string> prepare_read_back(const WriteProbeSpec& spec);

// One presence per key, in order; a few keys at once; what could not be read is tried again.
std::vector<KeyPresence> read_back(const WriteProbeSpec& spec, const ReadBackTarget& target,
                                   const std::vector<std::string>& keys, Deadline deadline,
                                   const CancelToken& cancel);

}  // namespace drctl
