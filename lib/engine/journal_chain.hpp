#pragma once
// A run's chain: the run, the runs that resumed it and the rollbacks of any of them, each
// naming the one it continues (resumed_from, rolls_back). Each starts from the state the one
// before left, so what is still done is what the newest says: `run --resume` and `rollback`
// act on the newest, whichever id of the chain they are given.
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace drctl {

struct ChainLink {
  std::string run_id, parent, mode, started_at;  // parent: resumed_from or rolls_back, or ""
  std::string host;
  long long pid = 0;
};

// The link a journal's first (run_started) line describes; run_id empty when it is none.
ChainLink chain_link(const nlohmann::json& run_started);

// The runs of the chain `run_id` belongs to, oldest first: its root, then every run that
// descends from the root, in the order they started. Just `run_id` when no link names it.
std::vector<ChainLink> chain_of(const std::vector<ChainLink>& links, const std::string& run_id);

// "resumed by R2, rolled back by R3": what became of `run_id`, from the runs after it.
std::string chain_fate(const std::vector<ChainLink>& chain, const std::string& run_id);

}  // namespace drctl
