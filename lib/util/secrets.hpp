#pragma once
// Secrets enter drctl only through *_env and *_file fields. Every value read that way is
// remembered here, and every output path (terminal, JSON, JUnit, evidence) passes its text
// through redact(), so a secret echoed back by a server or a child process is still masked.
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <tl/expected.hpp>

namespace drctl {

// Remembers a secret value for redaction. Values shorter than 4 characters are not
// registered: masking them would garble ordinary text and they are not credible secrets.
void register_secret(std::string value);

// The length of the longest registered secret (0: none). A text cut at its start may begin
// with the end of a secret: dropping this many bytes less one after the cut leaves none.
std::size_t longest_secret();

// Returns text with every registered secret replaced by "***".
std::string redact(std::string_view text);

// The same for a JSON value, value by value (never on its serialized text, where a numeric
// secret would cut a number in half): strings and keys are redacted; a number whose text holds
// a secret becomes the redacted text, a string.
nlohmann::json redact_json(const nlohmann::json& value);

// Reads a secret from the environment variable `name`; registers it. The error names the
// variable, never the value.
tl::expected<std::string, std::string> secret_from_env(const std::string& name);

// Reads a secret from a file (one trailing newline is stripped); registers it.
tl::expected<std::string, std::string> secret_from_file(const std::string& path);

}  // namespace drctl
