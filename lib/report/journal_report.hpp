#pragma once
// A run's report rebuilt from its journal, so `drctl show` renders any run (finished, killed,
// or read from the etcd copy) through the same reporters as a live one.
#include <nlohmann/json.hpp>
#include <vector>

#include "engine/record.hpp"

namespace drctl {

// Entries the journal saw start but never finish appear as failed ("no end in the journal").
RunReport journal_report(const std::vector<nlohmann::json>& lines);

}  // namespace drctl
