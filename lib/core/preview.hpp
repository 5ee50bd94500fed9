#pragma once
// What one step would change, read from the live systems and changing nothing: `--dry-run` and
// `drctl plan --live`. A Preview lists the changes (a text shown as a unified diff: a config
// file, an etcd value; or a state before -> after: a database's role, a route's target, a
// cache's `current`), the conditions that would make the real step refuse, evaluated now, and
// what the kind could not read (said, never guessed). Kind::preview makes one.
#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "util/sha256.hpp"

namespace drctl {

// A text larger than this (either side) is never diffed: its summary is shown instead.
constexpr std::size_t k_preview_text_max = std::size_t{4} << 20;
// In JSON, a change's whole before/after texts are left out past this (the diff stays).
constexpr std::size_t k_preview_json_text_max = std::size_t{64} << 10;

// What a preview shows of a text it does not print: its size, lines and SHA-256.
struct TextSummary {
  std::uintmax_t bytes = 0;
  std::uintmax_t lines = 0;  // newlines, plus one for a last line without one
  std::string sha256;        // 64 hex digits, as `sha256sum` prints it
  static TextSummary of(std::string_view text);
  nlohmann::json to_json() const;
};

// A TextSummary of a text fed in pieces (a file read in chunks, never whole).
class TextSummarizer {
 public:
  void update(std::string_view piece);
  TextSummary done();

 private:
  Sha256 m_hash;
  TextSummary m_summary;
  char m_last = '\n';
};

struct PreviewChange {
  enum class Form { text, state };
  Form form = Form::state;
  std::string what;      // "etcd /routes/orders", "file /etc/nginx/upstream.conf"
  std::string before;    // text: the whole text now; state: the state now
  std::string after;     // text: the whole text it would write; state: the state after
  std::string diff;      // text: the unified diff ("" when unchanged)
  std::string as_after;  // "" or the earlier step whose preview `before` was read through
  // text only: why before/after are not shown ("" when they are: then before, after and diff
  // are empty and the summaries say what there is; nullopt before_summary: absent now).
  std::string hidden;
  std::optional<TextSummary> before_summary, after_summary;
};

struct Preview {
  bool changes_nothing = false;  // a kind that changes nothing (a check-like step)
  std::vector<PreviewChange> changes;
  std::vector<std::string> refusals;    // why the real step would refuse, evaluated now
  std::vector<std::string> unreadable;  // what could not be read, and why
  std::vector<std::string> notes;       // anything else worth saying (what was not evaluated)

  // Adds a text change, its diff labelled with `what` (redacted: secrets never leave). A side
  // larger than k_preview_text_max is summarized instead (hidden_text).
  void text(const std::string& what, const std::string& before, const std::string& after,
            const std::string& as_after = "", bool before_exists = true);
  // Adds a text change shown only as sizes, lines and SHA-256s, saying `why` (a file that is
  // not world-readable, a file too large to diff). `before` nullopt: absent now.
  void hidden_text(const std::string& what, const std::optional<TextSummary>& before,
                   const TextSummary& after, const std::string& why,
                   const std::string& as_after = "");
  void state(const std::string& what, const std::string& before, const std::string& after,
             const std::string& as_after = "");
  nlohmann::json to_json() const;
};

// The lines to print for a preview's JSON (the text report, `plan --live`), unindented:
// "etcd /k:" then the diff's lines, "mysql ...: writable -> read-only", "would refuse: ...".
std::vector<std::string> preview_lines(const nlohmann::json& preview);

// What earlier steps' previews would have written, so that a later step's preview reads "as
// after the earlier steps" (step 3 expects the etcd value step 1 writes). Keys name the
// resource: "etcd:<cluster id>:<key>", "file:<path>", "cache:<dir>", "mysql:<host:port>".
class PreviewOverlay {
 public:
  struct Value {
    std::optional<std::string> value;  // nullopt: absent (deleted, or not there)
    std::string step;                  // the step whose preview wrote it
  };
  const Value* find(const std::string& resource) const;
  // Recorded for the step now previewed (set_step).
  void set(const std::string& resource, std::optional<std::string> value);
  void set_step(std::string step) { m_step = std::move(step); }
  const std::string& step() const { return m_step; }

 private:
  std::map<std::string, Value> m_values;
  std::string m_step;
};

}  // namespace drctl
