#pragma once
// The etcd copy of the journal, beside the run lock: each line is a key
// <lock key>/journal/<run id>/<line number, 6 digits>, committed (by a quorum) when the local
// file is fsync'd, several lines in one transaction. Not bound to the lock's lease: it outlives a
// killed run, so the run can be resumed or rolled back from another machine.
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <tl/expected.hpp>
#include <vector>

#include "clients/etcd.hpp"
#include "core/model.hpp"
#include "engine/journal.hpp"
#include "engine/journal_chain.hpp"

namespace drctl {

std::string etcd_journal_prefix(const LockSpec& lock, const std::string& run_id);

std::unique_ptr<JournalSink> etcd_journal_sink(const LockSpec& lock);

// The lines of one run's journal from etcd; an error names the endpoint or says it is absent.
tl::expected<std::vector<nlohmann::json>, std::string> read_etcd_journal(const LockSpec& lock,
                                                                         const std::string& run_id);
// The same through a session the caller holds, every read within `deadline`.
tl::expected<std::vector<nlohmann::json>, std::string> read_etcd_journal(EtcdSession& session,
                                                                         const LockSpec& lock,
                                                                         const std::string& run_id,
                                                                         Deadline deadline);

// The chain links (journal_chain.hpp) of the runs journaled under the lock, from their first
// lines.
tl::expected<std::vector<ChainLink>, std::string> list_etcd_journal_links(const LockSpec& lock);

// Each run journaled under the lock as `drctl runs` lists it (from its first and last lines;
// path: its prefix), in key order, in one pass over the keys.
tl::expected<std::vector<JournalEntry>, std::string> list_etcd_journal_runs(const LockSpec& lock);

// The run ids journaled under the lock, oldest first.
tl::expected<std::vector<std::string>, std::string> list_etcd_journals(const LockSpec& lock);

}  // namespace drctl
