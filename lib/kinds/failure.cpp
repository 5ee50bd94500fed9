#include "kinds/failure.hpp"

#include <fmt/format.h>

#include <algorithm>

#include "clients/etcd_connection.hpp"
#include "util/secrets.hpp"

namespace drctl {

Outcome failed(Status status, std::string error_class, const std::string& message,
               Changed changed) {
  return Outcome::failure(status, std::move(error_class), redact(message), changed);
}

Outcome failed(Outcome so_far, Status status, std::string error_class, const std::string& message) {
  so_far.status = status;
  so_far.message = redact(message);
  so_far.evidence["error"] = std::move(error_class);
  return so_far;
}

Status status_for(HttpError::Class kind) {
  switch (kind) {
    case HttpError::Class::refused:
    case HttpError::Class::resolve:
      return Status::unreachable;
    case HttpError::Class::timeout:
      return Status::timeout;
    case HttpError::Class::garbage:
      return Status::invalid_answer;
    default:
      return Status::failed;
  }
}

const char* error_name(HttpError::Class kind) {
  switch (kind) {
    case HttpError::Class::refused:
    case HttpError::Class::resolve:
      return "unreachable";
    case HttpError::Class::timeout:
      return "timeout";
    case HttpError::Class::garbage:
      return "bad_answer";
    case HttpError::Class::tls:
      return "tls";
    default:
      return "transport";
  }
}

Outcome http_failure(const HttpError& error, const std::string& what, Changed changed) {
  return failed(status_for(error.kind), error_name(error.kind),
                fmt::format("{}: {}", what, error.message), changed);
}

Outcome etcd_failure(const EtcdError& error, const std::string& what, Changed changed) {
  Status status = Status::failed;
  if (error.kind == EtcdError::Class::unreachable) status = Status::unreachable;
  if (error.kind == EtcdError::Class::timeout) status = Status::timeout;
  if (error.kind == EtcdError::Class::invalid_answer) status = Status::invalid_answer;
  return failed(status, std::string(etcd_error_class_name(error.kind)),
                fmt::format("{}: {}", what, error.to_string()), changed);
}

tl::expected<std::unique_ptr<EtcdSession>, Outcome> open_etcd(const Spec& spec, Deadline deadline,
                                                              const std::string& who) {
  auto session = etcd_connect(spec, deadline, who);
  if (session) return std::move(*session);
  const auto& why = session.error();
  switch (why.cause) {
    case EtcdConnectError::Cause::module:
      return tl::unexpected(failed(Status::failed, "module", why.message));
    case EtcdConnectError::Cause::config:
      return tl::unexpected(failed(Status::failed, "config", why.message));
    case EtcdConnectError::Cause::server:
      break;
  }
  Outcome outcome = etcd_failure(why.error, "", Changed::no);
  outcome.message = why.message;
  return tl::unexpected(std::move(outcome));
}

tl::expected<std::unique_ptr<EtcdSession>, Outcome> open_etcd_for_writes(const Spec& spec,
                                                                         const AttemptContext& ctx,
                                                                         const std::string& who) {
  auto session = open_etcd(spec, ctx.deadline, who);
  if (!session || ctx.fence == nullptr) return session;
  // A member address in common is the same cluster (no call); else compare the cluster ids.
  for (const auto& endpoint : spec.strings(k_etcd_endpoints)) {
    const auto& locked = ctx.fence->endpoints;
    if (std::find(locked.begin(), locked.end(), endpoint) != locked.end()) {
      (*session)->fence_writes(ctx.fence->key, ctx.fence->revision);
      return session;
    }
  }
  auto status = (*session)->status(ctx.deadline);
  if (!status) return tl::unexpected(etcd_failure(status.error(), who, Changed::no));
  if (status->header.cluster_id == ctx.fence->cluster_id)
    (*session)->fence_writes(ctx.fence->key, ctx.fence->revision);
  return session;
}

}  // namespace drctl
