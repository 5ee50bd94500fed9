#include "engine/journal_chain.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <set>

#include "util/json_fields.hpp"
#include "util/strings.hpp"

namespace drctl {

ChainLink chain_link(const nlohmann::json& run_started) {
  if (json_text(run_started, "type") != "run_started") return {};
  ChainLink link{json_text(run_started, "run_id"), json_text(run_started, "resumed_from"),
                 json_text(run_started, "mode"), json_text(run_started, "started_at")};
  if (link.parent.empty()) link.parent = json_text(run_started, "rolls_back");
  link.host = json_text(run_started, "host");
  link.pid = json_int(run_started, "pid", 0);
  return link;
}

std::vector<ChainLink> chain_of(const std::vector<ChainLink>& links, const std::string& run_id) {
  std::map<std::string, const ChainLink*> by_id;
  for (const auto& link : links) {
    if (!link.run_id.empty()) by_id.emplace(link.run_id, &link);
  }
  // Up to the root; a cycle (a hand-edited journal) stops where it repeats.
  std::string root = run_id;
  std::set<std::string> seen{root};
  for (auto it = by_id.find(root); it != by_id.end() && !it->second->parent.empty();
       it = by_id.find(root)) {
    if (!seen.insert(it->second->parent).second) break;
    root = it->second->parent;
  }
  // Down from the root: every link whose parent is already in the chain.
  std::vector<ChainLink> chain;
  std::set<std::string> members{root};
  if (auto it = by_id.find(root); it != by_id.end()) {
    chain.push_back(*it->second);
  } else {
    chain.push_back(ChainLink{root, "", "", "", "", 0});
  }
  for (bool grew = true; grew;) {
    grew = false;
    for (const auto& link : links) {
      if (members.count(link.run_id) || !members.count(link.parent)) continue;
      members.insert(link.run_id);
      chain.push_back(link);
      grew = true;
    }
  }
  // Found parents first, so equal start times keep a run before the ones continuing it.
  std::stable_sort(chain.begin() + 1, chain.end(), [](const ChainLink& a, const ChainLink& b) {
    return a.started_at < b.started_at;
  });
  return chain;
}

std::string chain_fate(const std::vector<ChainLink>& chain, const std::string& run_id) {
  std::vector<std::string> after;
  for (const auto& link : chain) {
    if (link.parent != run_id) continue;
    after.push_back(
        fmt::format("{} by {}", link.mode == "rollback" ? "rolled back" : "resumed", link.run_id));
  }
  return join(after, ", ");
}

}  // namespace drctl
