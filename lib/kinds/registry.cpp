#include "kinds/registry.hpp"

#include "kinds/approval.hpp"
#include "kinds/cache_warmup.hpp"
#include "kinds/consul.hpp"
#include "kinds/etcd_health.hpp"
#include "kinds/etcd_put.hpp"
#include "kinds/etcd_watch_handoff.hpp"
#include "kinds/etcd_watch_latency.hpp"
#include "kinds/exec.hpp"
#include "kinds/grpc_health.hpp"
#include "kinds/http.hpp"
#include "kinds/mysql_replication.hpp"
#include "kinds/mysql_switchover.hpp"
#include "kinds/prewarm.hpp"
#include "kinds/routing_reload.hpp"
#include "kinds/warmup_hooks.hpp"

namespace drctl {

void KindRegistry::add(std::unique_ptr<Kind> kind) {
  m_kinds.push_back(std::move(kind));
}

const Kind* KindRegistry::find(std::string_view name) const {
  for (const auto& kind : m_kinds) {
    if (kind->name() == name) return kind.get();
  }
  return nullptr;
}

std::vector<std::string> KindRegistry::names() const {
  std::vector<std::string> out;
  for (const auto& kind : m_kinds) out.emplace_back(kind->name());
  return out;
}

const KindRegistry& builtin_kinds() {
  static const KindRegistry registry = [] {
    KindRegistry r;
    r.add(make_exec_kind());
    r.add(make_http_kind());
    r.add(make_consul_kind());
    r.add(make_grpc_health_kind());
    r.add(make_mysql_kind());
    r.add(make_etcd_health_kind());
    r.add(make_etcd_watch_latency_kind());
    r.add(make_etcd_put_kind());
    r.add(make_etcd_watch_handoff_kind());
    r.add(make_cache_warmup_kind());
    r.add(make_warmup_hooks_kind());
    r.add(make_routing_reload_kind());
    r.add(make_prewarm_kind());
    r.add(make_mysql_switchover_kind());
    r.add(make_approval_kind());
    return r;
  }();
  return registry;
}

}  // namespace drctl
