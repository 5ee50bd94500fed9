// The etcd module's entry point: drctl_etcd_client_v1() hands the core an EtcdClient.
#include "core.hpp"
#include "session.hpp"

namespace drctl::etcd {
namespace {

class Client : public EtcdClient {
 public:
  EtcdResult<std::unique_ptr<EtcdSession>> connect(const EtcdConnection& connection,
                                                   Deadline deadline) override {
    auto core = Core::create(connection);
    if (!core) return tl::unexpected(core.error());
    auto dialed = (*core)->dial(deadline);
    if (!dialed) return tl::unexpected(dialed.error());
    return std::unique_ptr<EtcdSession>(std::make_unique<Session>(*core));
  }
};

}  // namespace
}  // namespace drctl::etcd

extern "C" drctl::EtcdClient* drctl_etcd_client_v1() {
  static drctl::etcd::Client client;
  return &client;
}
