#pragma once
// JSON text that drctl writes (reports, journals, evidence, etcd values). Strings in it come
// from outside (a step's stdout, an HTTP body, an etcd key) and need not be UTF-8: a plain
// dump() throws on them, which would stop a switchover halfway. Invalid bytes become U+FFFD.
#include <nlohmann/json.hpp>
#include <string>

namespace drctl {

inline std::string dump_json(const nlohmann::json& value, int indent = -1) {
  return value.dump(indent, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace drctl
