#include "util/secrets.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <mutex>
#include <sstream>
#include <vector>

namespace drctl {
namespace {

struct SecretStore {
  std::mutex mutex;
  std::vector<std::string> values;  // longest first, so a secret containing another is masked whole
};

SecretStore& store() {
  static SecretStore instance;
  return instance;
}

}  // namespace

void register_secret(std::string value) {
  if (value.size() < 4) return;
  auto& s = store();
  std::lock_guard lock(s.mutex);
  if (std::find(s.values.begin(), s.values.end(), value) != s.values.end()) return;
  s.values.push_back(std::move(value));
  std::sort(s.values.begin(), s.values.end(),
            [](const std::string& a, const std::string& b) { return a.size() > b.size(); });
}

std::size_t longest_secret() {
  auto& s = store();
  std::lock_guard lock(s.mutex);
  return s.values.empty() ? 0 : s.values.front().size();  // sorted longest first
}

std::string redact(std::string_view text) {
  std::string out(text);
  auto& s = store();
  std::lock_guard lock(s.mutex);
  for (const auto& secret : s.values) {
    for (auto pos = out.find(secret); pos != std::string::npos; pos = out.find(secret, pos + 3)) {
      out.replace(pos, secret.size(), "***");
    }
  }
  return out;
}

tl::expected<std::string, std::string> secret_from_env(const std::string& name) {
  const char* value = std::getenv(name.c_str());
  if (value == nullptr)
    return tl::unexpected(fmt::format("environment variable {} is not set", name));
  if (*value == '\0') return tl::unexpected(fmt::format("environment variable {} is empty", name));
  register_secret(value);
  return std::string(value);
}

tl::expected<std::string, std::string> secret_from_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return tl::unexpected(fmt::format("cannot read secret file {}", path));
  std::ostringstream buffer;
  buffer << in.rdbuf();
  std::string value = buffer.str();
  if (!value.empty() && value.back() == '\n') value.pop_back();
  if (!value.empty() && value.back() == '\r') value.pop_back();
  if (value.empty()) return tl::unexpected(fmt::format("secret file {} is empty", path));
  register_secret(value);
  return value;
}

nlohmann::json redact_json(const nlohmann::json& value) {
  if (value.is_string()) return redact(value.get_ref<const std::string&>());
  if (value.is_number()) {
    std::string text = value.dump();
    std::string masked = redact(text);
    return masked == text ? value : nlohmann::json(masked);
  }
  if (value.is_array()) {
    nlohmann::json out = nlohmann::json::array();
    for (const auto& item : value) out.push_back(redact_json(item));
    return out;
  }
  if (value.is_object()) {
    nlohmann::json out = nlohmann::json::object();
    for (const auto& [key, item] : value.items()) out[redact(key)] = redact_json(item);
    return out;
  }
  return value;
}

}  // namespace drctl
