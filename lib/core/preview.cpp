#include "core/preview.hpp"

#include <fmt/format.h>

#include "util/secrets.hpp"
#include "util/unified_diff.hpp"

namespace drctl {
namespace {

std::string text_of(const nlohmann::json& object, const char* key) {
  auto it = object.find(key);
  return it != object.end() && it->is_string() ? it->get<std::string>() : std::string();
}

nlohmann::json redacted(const std::vector<std::string>& lines) {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& line : lines) out.push_back(redact(line));
  return out;
}

std::string summary_text(const nlohmann::json& summary) {
  if (!summary.is_object()) return "absent";
  auto number = [&](const char* key) { return summary.value(key, std::uintmax_t{0}); };
  return fmt::format("{} bytes, {} line{}, sha256 {}", number("bytes"), number("lines"),
                     number("lines") == 1 ? "" : "s", text_of(summary, "sha256"));
}

}  // namespace

TextSummary TextSummary::of(std::string_view text) {
  TextSummarizer summarizer;
  summarizer.update(text);
  return summarizer.done();
}

nlohmann::json TextSummary::to_json() const {
  return {{"bytes", bytes}, {"lines", lines}, {"sha256", sha256}};
}

void TextSummarizer::update(std::string_view piece) {
  if (piece.empty()) return;
  m_hash.update(piece);
  m_summary.bytes += piece.size();
  for (char c : piece) m_summary.lines += c == '\n' ? 1 : 0;
  m_last = piece.back();
}

TextSummary TextSummarizer::done() {
  if (m_last != '\n') ++m_summary.lines;
  m_summary.sha256 = m_hash.hex_digest();
  return m_summary;
}

void Preview::hidden_text(const std::string& what, const std::optional<TextSummary>& before,
                          const TextSummary& after, const std::string& why,
                          const std::string& as_after) {
  PreviewChange change;
  change.form = PreviewChange::Form::text;
  change.what = redact(what);
  change.as_after = as_after;
  change.hidden = redact(why);
  change.before_summary = before;
  change.after_summary = after;
  changes.push_back(std::move(change));
}

void Preview::text(const std::string& what, const std::string& before, const std::string& after,
                   const std::string& as_after, bool before_exists) {
  if (before.size() > k_preview_text_max || after.size() > k_preview_text_max) {
    hidden_text(what, before_exists ? std::optional(TextSummary::of(before)) : std::nullopt,
                TextSummary::of(after),
                fmt::format("larger than {} MiB: not diffed", k_preview_text_max >> 20), as_after);
    return;
  }
  PreviewChange change;
  change.form = PreviewChange::Form::text;
  change.what = redact(what);
  change.before = redact(before);
  change.after = redact(after);
  change.as_after = as_after;
  std::string now = !as_after.empty() ? fmt::format("as after step '{}'", as_after)
                    : before_exists   ? std::string("now")
                                      : std::string("absent now");
  change.diff = unified_diff(change.before, change.after, fmt::format("{} ({})", change.what, now),
                             fmt::format("{} (after this step)", change.what));
  changes.push_back(std::move(change));
}

void Preview::state(const std::string& what, const std::string& before, const std::string& after,
                    const std::string& as_after) {
  PreviewChange change;
  change.form = PreviewChange::Form::state;
  change.what = redact(what);
  change.before = redact(before);
  change.after = redact(after);
  change.as_after = as_after;
  changes.push_back(std::move(change));
}

nlohmann::json Preview::to_json() const {
  nlohmann::json list = nlohmann::json::array();
  for (const auto& c : changes) {
    if (!c.hidden.empty()) {
      // Neither text, nor a diff: what there is and why it is not shown.
      list.push_back({{"form", "text"},
                      {"what", c.what},
                      {"before", nullptr},
                      {"after", nullptr},
                      {"hidden", c.hidden},
                      {"before_summary", c.before_summary ? c.before_summary->to_json() : nullptr},
                      {"after_summary", c.after_summary ? c.after_summary->to_json() : nullptr},
                      {"unchanged", c.before_summary && c.after_summary &&
                                        c.before_summary->sha256 == c.after_summary->sha256},
                      {"diff", ""},
                      {"as_after",
                       c.as_after.empty() ? nlohmann::json(nullptr) : nlohmann::json(c.as_after)}});
      continue;
    }
    nlohmann::json j = {
        {"form", c.form == PreviewChange::Form::text ? "text" : "state"},
        {"what", c.what},
        {"before", c.before},
        {"after", c.after},
        {"unchanged", c.before == c.after},
        {"as_after", c.as_after.empty() ? nlohmann::json(nullptr) : nlohmann::json(c.as_after)}};
    if (c.form == PreviewChange::Form::text) {
      j["diff"] = c.diff;
      // A large text stays in its (bounded) diff only: the whole texts are left out.
      if (c.before.size() > k_preview_json_text_max || c.after.size() > k_preview_json_text_max) {
        j["before"] = nullptr;
        j["after"] = nullptr;
        j["texts_left_out"] = fmt::format("larger than {} KiB", k_preview_json_text_max >> 10);
      }
    }
    list.push_back(std::move(j));
  }
  return {{"changes_nothing", changes_nothing},
          {"changes", list},
          {"refusals", redacted(refusals)},
          {"unreadable", redacted(unreadable)},
          {"notes", redacted(notes)}};
}

std::vector<std::string> preview_lines(const nlohmann::json& preview) {
  std::vector<std::string> out;
  if (!preview.is_object()) return out;
  auto each = [&](const char* key, auto&& f) {
    auto it = preview.find(key);
    if (it == preview.end() || !it->is_array()) return;
    for (const auto& item : *it) f(item);
  };
  if (preview.value("changes_nothing", false)) out.emplace_back("changes nothing");
  each("changes", [&](const nlohmann::json& c) {
    if (!c.is_object()) return;
    std::string as_after = text_of(c, "as_after");
    std::string note = as_after.empty() ? "" : fmt::format(" (as after step '{}')", as_after);
    if (text_of(c, "form") == "text" && !text_of(c, "hidden").empty()) {
      out.push_back(
          fmt::format("{}: not shown: {}{}", text_of(c, "what"), text_of(c, "hidden"), note));
      out.push_back(fmt::format("  {} -> {}{}",
                                summary_text(c.value("before_summary", nlohmann::json())),
                                summary_text(c.value("after_summary", nlohmann::json())),
                                c.value("unchanged", false) ? " (unchanged)" : ""));
      return;
    }
    if (text_of(c, "form") == "text") {
      std::string diff = text_of(c, "diff");
      if (diff.empty()) {
        out.push_back(fmt::format("{}: unchanged{}", text_of(c, "what"), note));
        return;
      }
      out.push_back(text_of(c, "what") + ":");
      std::size_t start = 0;
      while (start < diff.size()) {
        std::size_t end = diff.find('\n', start);
        if (end == std::string::npos) end = diff.size();
        out.push_back("  " + diff.substr(start, end - start));
        start = end + 1;
      }
      return;
    }
    std::string before = text_of(c, "before"), after = text_of(c, "after");
    out.push_back(before == after
                      ? fmt::format("{}: {} (unchanged){}", text_of(c, "what"), before, note)
                      : fmt::format("{}: {} -> {}{}", text_of(c, "what"), before, after, note));
  });
  each("refusals", [&](const nlohmann::json& r) {
    if (r.is_string()) out.push_back("would refuse: " + r.get<std::string>());
  });
  each("unreadable", [&](const nlohmann::json& r) {
    if (r.is_string()) out.push_back("cannot read: " + r.get<std::string>());
  });
  each("notes", [&](const nlohmann::json& r) {
    if (r.is_string()) out.push_back("note: " + r.get<std::string>());
  });
  return out;
}

const PreviewOverlay::Value* PreviewOverlay::find(const std::string& resource) const {
  auto it = m_values.find(resource);
  return it == m_values.end() ? nullptr : &it->second;
}

void PreviewOverlay::set(const std::string& resource, std::optional<std::string> value) {
  m_values[resource] = Value{std::move(value), m_step};
}

}  // namespace drctl
