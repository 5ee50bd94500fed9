#include "core/outcome.hpp"

namespace drctl {

std::string_view status_name(Status status) {
  switch (status) {
    case Status::ok:
      return "ok";
    case Status::failed:
      return "failed";
    case Status::timeout:
      return "timeout";
    case Status::unreachable:
      return "unreachable";
    case Status::invalid_answer:
      return "invalid_answer";
    case Status::skipped:
      return "skipped";
    case Status::unknown:
      return "unknown";
  }
  return "?";
}

}  // namespace drctl
