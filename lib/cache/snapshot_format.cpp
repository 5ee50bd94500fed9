#include "cache/snapshot_format.hpp"

#define XXH_STATIC_LINKING_ONLY  // XXH3_state_t on the stack
#include <xxhash.h>

namespace drctl::snapshot {

std::uint64_t entry_checksum(std::string_view key, std::string_view value,
                             std::int64_t mod_revision) {
  XXH3_state_t state;
  XXH3_64bits_reset(&state);
  XXH3_64bits_update(&state, key.data(), key.size());
  XXH3_64bits_update(&state, value.data(), value.size());
  XXH3_64bits_update(&state, &mod_revision, sizeof mod_revision);
  return XXH3_64bits_digest(&state);
}

}  // namespace drctl::snapshot
