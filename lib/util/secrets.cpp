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

}  // namespace drctl
