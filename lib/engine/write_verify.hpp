#pragma once
// Reads a write probe's writes back after the run: by URL (GET, {key} replaced; 200 with a
// JSON body is present, its `count` the number of copies; 404 absent) or by SQL (a query that
// counts the key's copies). An answer that says neither is "could not be read back", never
// "absent": only a clear absence counts as lost.
#include <string>
#include <tl/expected.hpp>
#include <vector>

#include "core/cancel.hpp"
#include "core/model.hpp"
#include "util/duration.hpp"

namespace drctl {

struct KeyPresence {
  long long copies = -1;  // -1: could not be read back
  std::string error;      // why not, in one line
};

// One presence per key, in order; a few keys at once. The error: nothing could be read at all
// (the SQL module, the password, the server refused every session).
tl::expected<std::vector<KeyPresence>, std::string> read_back(const WriteProbeSpec& spec,
                                                              const std::vector<std::string>& keys,
                                                              Deadline deadline,
                                                              const CancelToken& cancel);

}  // namespace drctl
