#include "clients/etcd.hpp"

#include <fmt/format.h>

#include "clients/module.hpp"
#include "util/strings.hpp"

namespace drctl {

std::string EtcdConnection::describe() const {
  return join(endpoints, ",");
}

std::string_view etcd_error_class_name(EtcdError::Class kind) {
  switch (kind) {
    case EtcdError::Class::unreachable:
      return "unreachable";
    case EtcdError::Class::timeout:
      return "timeout";
    case EtcdError::Class::auth:
      return "auth";
    case EtcdError::Class::compacted:
      return "compacted";
    case EtcdError::Class::no_leader:
      return "no_leader";
    case EtcdError::Class::precondition:
      return "precondition";
    case EtcdError::Class::fenced:
      return "fenced";
    case EtcdError::Class::invalid_answer:
      return "invalid_answer";
    case EtcdError::Class::other:
      return "other";
  }
  return "other";
}

std::string EtcdError::to_string() const {
  return fmt::format("{}{}{}: {}", endpoint, endpoint.empty() ? "" : ": ",
                     etcd_error_class_name(kind), one_line(message));
}

tl::expected<EtcdClient*, std::string> etcd_client() {
  auto symbol = module_symbol("etcd", "drctl_etcd_client_v1");
  if (!symbol) return tl::unexpected(symbol.error());
  return reinterpret_cast<EtcdClient* (*)()>(*symbol)();
}

std::string etcd_prefix_end(const std::string& prefix) {
  std::string end = prefix;
  while (!end.empty()) {
    auto last = static_cast<unsigned char>(end.back());
    if (last < 0xff) {
      end.back() = static_cast<char>(last + 1);
      return end;
    }
    end.pop_back();
  }
  return std::string(1, '\0');  // an empty prefix (or all 0xff): every key
}

}  // namespace drctl
