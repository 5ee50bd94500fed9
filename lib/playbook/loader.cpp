#include "playbook/loader.hpp"

#include <fmt/format.h>
#include <xxhash.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <fstream>
#include <regex>
#include <sstream>
#include <tl/expected.hpp>

#include "core/spec.hpp"
#include "playbook/field_validator.hpp"
#include "playbook/format.hpp"
#include "playbook/interpolate.hpp"
#include "playbook/yaml_tree.hpp"
#include "util/json_fields.hpp"
#include "util/strings.hpp"

namespace drctl {
namespace {

// The node at a dotted path inside a spec ("verify.expect", "hooks[0].url"), or the deepest
// one found on the way (so a problem is reported as close to its cause as the YAML allows).
const YamlNode* find_path(const YamlNode& spec, const std::string& path) {
  const YamlNode* node = &spec;
  std::size_t start = 0;
  while (start < path.size() && node != nullptr) {
    std::size_t end = path.find_first_of(".[", start);
    std::string key =
        path.substr(start, end == std::string::npos ? std::string::npos : end - start);
    const YamlNode* next = key.empty() ? node : node->get(key);
    if (next == nullptr) return node == &spec ? nullptr : node;
    node = next;
    if (end == std::string::npos) break;
    if (path[end] == '[') {
      std::size_t close = path.find(']', end);
      if (close == std::string::npos) break;
      std::size_t index = std::stoul(path.substr(end + 1, close - end - 1));
      if (!node->is_sequence() || index >= node->items.size()) return node;
      node = node->items[index];
      start = close + 1;
      if (start < path.size() && path[start] == '.') ++start;
    } else {
      start = end + 1;
    }
  }
  return node;
}

// lock.journal_retention: "20" (finished runs to keep) or an age ("30d", "12h").
tl::expected<JournalRetention, std::string> parse_journal_retention(const std::string& text) {
  const bool digits = !text.empty() && std::all_of(text.begin(), text.end(), [](unsigned char c) {
    return std::isdigit(c) != 0;
  });
  if (digits) {
    if (text.size() > 7 || std::stoll(text) < 1)
      return tl::unexpected(
          fmt::format("expected a number of runs from 1 to 9999999, got {}", text));
    return JournalRetention{std::stoll(text), std::nullopt};
  }
  auto age = parse_age(text);
  if (!age || age->count() <= 0)
    return tl::unexpected(fmt::format(
        "expected a number of finished runs to keep (e.g. 20) or an age (e.g. 30d, 12h), got '{}'",
        text));
  return JournalRetention{std::nullopt, *age};
}

std::string hash_of(std::string_view text) {
  XXH128_hash_t h = XXH3_128bits(text.data(), text.size());
  return fmt::format("xxh3-128:{:016x}{:016x}", h.high64, h.low64);
}

bool valid_entry_name(const std::string& name) {
  static const std::regex k_name(R"(^[A-Za-z0-9][A-Za-z0-9_-]*$)");
  return std::regex_match(name, k_name);
}

// Where a ${...} reference is written: it decides which outputs are known by then.
struct RefSite {
  Role role = Role::step;
  std::size_t index = 0;  // position among the steps
  bool in_rollback = false;
};

// What the first pass learns of each entry: enough to check references to it.
struct EntryHeader {
  Role role;
  std::size_t index;
  const Kind* kind;
};

class PlaybookReader {
 public:
  PlaybookReader(std::string_view text, std::string file, const LoadOptions& options)
      : m_text(text),
        m_kinds(options.kinds != nullptr ? *options.kinds : builtin_kinds()),
        m_overrides(options.var_overrides),
        m_diag(std::move(file)) {}

  LoadResult read();

 private:
  void read_vars(const YamlNode& root);
  void scan_headers(const YamlNode& list, Role role);
  std::vector<Entry> read_entries(const YamlNode& root, const char* key, Role role);
  std::optional<Entry> read_entry(const YamlNode& node, Role role, std::size_t index);
  // Finds the kind key of an entry or rollback mapping, reporting none / two / unknown.
  std::string find_kind_key(const YamlNode& node, const std::string& path, SourcePos pos, Role role,
                            const std::set<std::string>& ordinary_keys,
                            std::set<std::string>& handled);
  std::optional<Action> read_action(const YamlNode& owner, const std::string& kind_key,
                                    const std::string& path, Role role, const RefSite& site);
  std::optional<Rollback> read_rollback(const YamlNode& node, const std::string& path,
                                        std::size_t index);
  Timing read_timing(const nlohmann::json& values, Timing base);
  // Keys the engine needs before the run starts (timeouts, budgets): a ${steps.*} or ${run.*}
  // left in one is an error (reported when `report`), and the key is dropped.
  void require_known_now(nlohmann::json& values, const YamlNode& node, const std::string& path,
                         std::initializer_list<const char*> keys, bool report);
  ProbeSpec read_probe(const Spec& values, const YamlNode& root);
  WriteProbeSpec read_write_probe(const Spec& values, const YamlNode& root);
  std::string check_string(const std::string& value, SourcePos pos, const std::string& path,
                           const RefSite* site);
  void check_step_reference(const Reference& ref, SourcePos pos, const std::string& path,
                            const RefSite& site);

  std::string_view m_text;
  const KindRegistry& m_kinds;
  std::map<std::string, std::string> m_overrides;
  Diagnostics m_diag;
  Playbook m_playbook;
  std::map<std::string, EntryHeader> m_headers;
};

LoadResult PlaybookReader::read() {
  LoadResult result;
  auto parsed = parse_yaml(m_text);
  if (!parsed) {
    m_diag.error(parsed.error().pos, "", parsed.error().message);
    result.diagnostics = m_diag.sorted();
    return result;
  }
  const auto& documents = parsed->documents;
  if (documents.empty() || documents.front()->is_null()) {
    m_diag.error({1, 1}, "", "the playbook is empty");
  } else if (documents.size() > 1) {
    m_diag.error(pos_of(*documents[1]), "",
                 fmt::format("expected one YAML document, found {}", documents.size()));
  } else if (!documents.front()->is_map()) {
    m_diag.error(
        pos_of(*documents.front()), "",
        fmt::format("expected a map at the top level, got {}", describe_node(*documents.front())));
  } else {
    const YamlNode& root = *documents.front();
    m_playbook.hash = hash_of(m_text);
    m_playbook.source = std::string(m_text);
    m_playbook.var_overrides = m_overrides;
    read_vars(root);
    FieldValidator top(m_diag,
                       [this](const std::string& value, SourcePos pos, const std::string& path) {
                         return check_string(value, pos, path, nullptr);
                       });
    auto values =
        top.validate_map(root, top_level_fields(), "", {1, 1}, {"checks", "steps", "vars"});
    m_playbook.version = static_cast<int>(json_int(values, "version", k_playbook_version));
    m_playbook.name = json_text(values, "name");
    m_playbook.description = json_text(values, "description");
    // Here a ${steps.*} or ${run.*} was already reported (top-level keys cannot use them).
    if (const YamlNode* defaults = root.get("defaults");
        defaults != nullptr && values.contains("defaults")) {
      require_known_now(values["defaults"], *defaults, "defaults",
                        {"timeout", "retries", "retry_delay"}, false);
    }
    if (const YamlNode* sla = root.get("sla"); sla != nullptr && values.contains("sla"))
      require_known_now(values["sla"], *sla, "sla", {"total"}, false);
    if (values.contains("defaults"))
      m_playbook.defaults = read_timing(values["defaults"], m_playbook.defaults);
    if (values.contains("sla")) {
      const auto& sla = values["sla"];
      if (sla.contains("total")) m_playbook.sla.total = Millis(sla["total"].get<long long>());
      if (sla.value("on_breach", "fail") == "warn") m_playbook.sla.on_breach = OnBreach::warn;
      m_playbook.sla.exclude_approvals = sla.value("exclude_approvals", false);
      if (sla.contains("probe")) m_playbook.sla.probe = read_probe(Spec(sla["probe"]), root);
      if (sla.contains("write_probe"))
        m_playbook.sla.write_probe = read_write_probe(Spec(sla["write_probe"]), root);
    }
    if (values.contains("lock")) {
      Spec lock(values["lock"]);
      m_playbook.lock = LockSpec{lock.json().value("etcd", nlohmann::json::object()),
                                 lock.str("key"), lock.duration("ttl").value_or(Millis(30'000))};
      if (m_playbook.lock->ttl < Millis(1000)) {
        const YamlNode* node = root.get("lock") ? root.get("lock")->get("ttl") : nullptr;
        m_diag.error(node ? pos_of(*node) : SourcePos{1, 1}, "lock.ttl",
                     "expected at least 1s (etcd leases count whole seconds)");
      }
      if (lock.json().contains("journal_retention")) {
        const YamlNode* node =
            root.get("lock") ? root.get("lock")->get("journal_retention") : nullptr;
        auto retention = parse_journal_retention(lock.str("journal_retention"));
        if (retention)
          m_playbook.lock->journal_retention = *retention;
        else
          m_diag.error(node ? pos_of(*node) : SourcePos{1, 1}, "lock.journal_retention",
                       retention.error());
      }
    }
    if (const YamlNode* checks = root.get("checks")) scan_headers(*checks, Role::check);
    if (const YamlNode* steps = root.get("steps")) scan_headers(*steps, Role::step);
    m_playbook.checks = read_entries(root, "checks", Role::check);
    m_playbook.steps = read_entries(root, "steps", Role::step);
    if (root.get("checks") == nullptr && root.get("steps") == nullptr) {
      m_diag.error({1, 1}, "", "nothing to do: the playbook has neither checks nor steps");
    }
  }
  result.diagnostics = m_diag.sorted();
  if (!m_diag.has_errors()) result.playbook = std::move(m_playbook);
  return result;
}

void PlaybookReader::read_vars(const YamlNode& root) {
  if (const YamlNode* vars = root.get("vars")) {
    // Vars may use ${env.X}, never other vars: one level keeps the order of evaluation obvious.
    FieldValidator validator(
        m_diag, [this](const std::string& value, SourcePos pos, const std::string& path) {
          auto refs = find_references(value);
          if (refs) {
            for (const auto& ref : *refs) {
              if (ref.scope != "env") {
                m_diag.error(pos, path,
                             fmt::format("vars may only refer to ${{env.NAME}}, not {}", ref.text));
                return value;
              }
            }
          }
          return check_string(value, pos, path, nullptr);
        });
    auto values =
        validator.validate_value(*vars, top_level_fields()[3], "vars", root.key_pos("vars"));
    if (values.is_object()) m_playbook.vars = values.get<std::map<std::string, std::string>>();
  }
  for (const auto& [name, value] : m_overrides) m_playbook.vars[name] = value;
}

void PlaybookReader::scan_headers(const YamlNode& list, Role role) {
  if (!list.is_sequence()) return;  // reported by read_entries
  std::size_t index = 0;
  for (const auto& node_ptr : list.items) {
    const YamlNode& node = *node_ptr;
    std::size_t this_index = index++;
    const YamlNode* name_node = node.get("name");
    if (!node.is_map() || name_node == nullptr || !name_node->is_scalar()) continue;
    const std::string name(name_node->scalar);
    const Kind* kind = nullptr;
    for (const auto& [key_ptr, value_ptr] : node.pairs) {
      if (key_ptr->is_scalar() && kind == nullptr) kind = m_kinds.find(key_ptr->scalar);
    }
    auto [existing, fresh] = m_headers.emplace(name, EntryHeader{role, this_index, kind});
    if (!fresh) {
      m_diag.error(
          pos_of(*name_node),
          fmt::format("{}[{}].name", role == Role::check ? "checks" : "steps", this_index),
          fmt::format("duplicate name '{}': names are unique across checks and steps", name));
    }
  }
}

std::vector<Entry> PlaybookReader::read_entries(const YamlNode& root, const char* key, Role role) {
  std::vector<Entry> entries;
  const YamlNode* list_node = root.get(key);
  if (list_node == nullptr) return entries;
  const YamlNode& list = *list_node;
  if (!list.is_sequence()) {
    SourcePos where = list.is_null() ? key_pos(root, key) : pos_of(list);
    m_diag.error(where, key,
                 fmt::format("expected a list of entries, got {}", describe_node(list)));
    return entries;
  }
  std::size_t index = 0;
  for (const auto& node_ptr : list.items) {
    const YamlNode& node = *node_ptr;
    if (auto entry = read_entry(node, role, index)) entries.push_back(std::move(*entry));
    ++index;
  }
  return entries;
}

std::string PlaybookReader::find_kind_key(const YamlNode& node, const std::string& path,
                                          SourcePos pos, Role role,
                                          const std::set<std::string>& ordinary_keys,
                                          std::set<std::string>& handled) {
  std::string kind_key;
  for (const auto& [key_ptr, value_ptr] : node.pairs) {
    if (!key_ptr->is_scalar()) continue;
    const std::string key(key_ptr->scalar);
    if (ordinary_keys.count(key) != 0) continue;
    if (m_kinds.find(key) != nullptr) {
      handled.insert(key);
      if (kind_key.empty()) {
        kind_key = key;
      } else if (key != kind_key) {
        m_diag.error(key_ptr->pos, join_path(path, key),
                     fmt::format("two kinds in one entry ('{}' and '{}'): an entry has exactly one",
                                 kind_key, key));
      }
    } else if (value_ptr->is_map()) {
      // A mapping under an unknown key is almost always a misspelt or missing kind.
      handled.insert(key);
      std::string hint = closest_match(key, m_kinds.names());
      m_diag.error(key_ptr->pos, join_path(path, key),
                   hint.empty() ? fmt::format("unknown kind '{}' (known kinds: {})", key,
                                              join(m_kinds.names(), ", "))
                                : fmt::format("unknown kind '{}' (did you mean '{}'?)", key, hint));
      if (kind_key.empty()) kind_key = "?";
    }
  }
  if (kind_key.empty()) {
    std::vector<std::string> usable;
    for (const auto& kind : m_kinds.all()) {
      if (kind->allowed_as(role)) usable.emplace_back(kind->name());
    }
    m_diag.error(pos, path,
                 fmt::format("no kind: {} needs exactly one of {}",
                             role == Role::check ? "a check" : "a step", join(usable, ", ")));
  }
  return kind_key == "?" ? "" : kind_key;
}

std::optional<Entry> PlaybookReader::read_entry(const YamlNode& node, Role role,
                                                std::size_t index) {
  const std::string path = fmt::format("{}[{}]", role == Role::check ? "checks" : "steps", index);
  if (!node.is_map()) {
    m_diag.error(pos_of(node), path,
                 fmt::format("expected a map with a name and a kind, got {}", describe_node(node)));
    return std::nullopt;
  }
  Entry entry;
  entry.role = role;
  entry.path = path;
  entry.pos = pos_of(node);
  const Fields& fields = entry_fields(role);
  std::set<std::string> ordinary;
  for (const auto& f : fields) ordinary.insert(f.name);
  ordinary.insert("rollback");
  ordinary.insert("budget");
  ordinary.insert("read_only");
  ordinary.insert("on_resume");
  ordinary.insert("interval");
  ordinary.insert("min_interval");
  std::set<std::string> handled;
  std::string kind_key = find_kind_key(node, path, entry.pos, role, ordinary, handled);
  handled.insert("rollback");
  if (role == Role::step && node.get("on_resume") != nullptr) {
    handled.insert("on_resume");
    m_diag.error(key_pos(node, "on_resume"), join_path(path, "on_resume"),
                 "on_resume belongs to checks: a resumed run never repeats a completed step");
  }
  for (const char* key : {"interval", "min_interval"}) {
    if (role != Role::step || node.get(key) == nullptr) continue;
    handled.insert(key);
    m_diag.error(key_pos(node, key), join_path(path, key),
                 fmt::format("{} belongs to checks: it is drctl serve's schedule, and steps "
                             "never run under serve",
                             key));
  }
  if (role == Role::check) {
    // Say why, rather than "unknown key": these belong to steps only.
    for (const char* key : {"rollback", "budget", "read_only"}) {
      if (node.get(key) == nullptr) continue;
      handled.insert(key);
      m_diag.error(key_pos(node, key), join_path(path, key),
                   std::string(key) == "rollback"
                       ? "a check has no rollback: checks observe and change nothing"
                   : std::string(key) == "budget"
                       ? "a check has no budget: budgets are shares of the steps' SLA"
                       : "checks are always read-only");
    }
  }

  RefSite site{role, index, false};
  FieldValidator validator(
      m_diag, [this, site](const std::string& value, SourcePos pos, const std::string& p) {
        return check_string(value, pos, p, &site);
      });
  auto values = validator.validate_map(node, fields, path, entry.pos, handled);
  require_known_now(
      values, node, path,
      {"timeout", "retries", "retry_delay", "budget", "read_only", "interval", "min_interval"},
      true);
  entry.name = values.value("name", "");
  if (!entry.name.empty() && !valid_entry_name(entry.name)) {
    m_diag.error(
        pos_of(*node.get("name")), path + ".name",
        fmt::format(
            "invalid name '{}': use letters, digits, '-' and '_', starting with a letter or digit",
            entry.name));
  }
  entry.timing = read_timing(values, m_playbook.defaults);
  if (values.contains("budget")) entry.budget = Millis(values["budget"].get<long long>());
  entry.read_only = values.value("read_only", false);
  if (const std::string on_resume = values.value("on_resume", "skip");
      on_resume != "skip" && on_resume != "run") {
    m_diag.error(key_pos(node, "on_resume"), path + ".on_resume",
                 "'on_resume' is needed before the run starts: ${steps.*} and ${run.*} belong "
                 "in a kind's spec");
  }
  entry.run_on_resume = values.value("on_resume", "skip") == "run";
  for (const char* key : {"interval", "min_interval"}) {
    if (!values.contains(key)) continue;
    const Millis value(values[key].get<long long>());
    if (value <= Millis(0))
      m_diag.error(pos_of(*node.get(key)), join_path(path, key), "expected a duration above 0");
    (std::string(key) == "interval" ? entry.interval : entry.min_interval) = value;
  }

  std::optional<Action> action;
  if (!kind_key.empty()) action = read_action(node, kind_key, path, role, site);
  if (const YamlNode* rollback = node.get("rollback"); role == Role::step && rollback != nullptr) {
    entry.rollback = read_rollback(*rollback, path + ".rollback", index);
    if (entry.read_only) {
      m_diag.error(key_pos(node, "rollback"), path + ".rollback",
                   "a read_only step has nothing to roll back");
    }
  }
  if (!action) return std::nullopt;
  if (const Kind* kind = m_kinds.find(kind_key);
      kind != nullptr && kind->waits_for_an_operator() && !values.contains("timeout")) {
    m_diag.warning(pos_of(node), path,
                   fmt::format("'{}' waits for an operator with the default timeout ({}): give "
                               "it its own (timeout: 15m), or a slow answer rolls the run back",
                               kind_key, format_duration(entry.timing.timeout)));
  }
  if (const Kind* kind = m_kinds.find(kind_key);
      kind != nullptr && entry.min_interval && !kind->writes(action->spec)) {
    m_diag.warning(key_pos(node, "min_interval"), join_path(path, "min_interval"),
                   "min_interval is for checks that write (a heartbeat with write: true, a "
                   "canary); this check only reads, so drctl serve ignores it: use interval");
  }
  entry.action = std::move(*action);
  return entry;
}

std::optional<Action> PlaybookReader::read_action(const YamlNode& owner,
                                                  const std::string& kind_key,
                                                  const std::string& path, Role role,
                                                  const RefSite& site) {
  const Kind* kind = m_kinds.find(kind_key);
  const std::string kind_path = join_path(path, kind_key);
  const YamlNode& node = *owner.get(kind_key);
  SourcePos kind_pos = key_pos(owner, kind_key);
  if (!kind->allowed_as(role)) {
    m_diag.error(kind_pos, kind_path,
                 fmt::format("kind '{}' cannot be used as a {}", kind_key,
                             role == Role::check ? "check" : "step"));
    return std::nullopt;
  }
  FieldValidator validator(
      m_diag, [this, site](const std::string& value, SourcePos pos, const std::string& p) {
        return check_string(value, pos, p, &site);
      });
  std::size_t errors_before = m_diag.error_count();
  auto values = validator.validate_map(node, kind->fields(), kind_path, kind_pos);
  Action action{kind_key, Spec(values), kind_pos};
  // Cross-field rules only make sense once every field on its own is valid.
  if (m_diag.error_count() == errors_before) {
    for (const auto& problem : kind->check_spec(action.spec)) {
      SourcePos where = kind_pos;
      if (const YamlNode* bad = find_path(node, problem.key);
          !problem.key.empty() && bad != nullptr)
        where = pos_of(*bad);
      m_diag.error(where, problem.key.empty() ? kind_path : join_path(kind_path, problem.key),
                   problem.message);
    }
  }
  return action;
}

std::optional<Rollback> PlaybookReader::read_rollback(const YamlNode& node, const std::string& path,
                                                      std::size_t index) {
  if (!node.is_map()) {
    m_diag.error(pos_of(node), path,
                 fmt::format("expected a map with one kind (e.g. exec: {{...}}), got {}",
                             describe_node(node)));
    return std::nullopt;
  }
  std::set<std::string> ordinary;
  for (const auto& f : rollback_fields()) ordinary.insert(f.name);
  std::set<std::string> handled;
  std::string kind_key = find_kind_key(node, path, pos_of(node), Role::step, ordinary, handled);
  RefSite site{Role::step, index, true};
  FieldValidator validator(
      m_diag, [this, site](const std::string& value, SourcePos pos, const std::string& p) {
        return check_string(value, pos, p, &site);
      });
  auto values = validator.validate_map(node, rollback_fields(), path, pos_of(node), handled);
  require_known_now(values, node, path, {"timeout", "retries", "retry_delay"}, true);
  if (kind_key.empty()) return std::nullopt;
  auto action = read_action(node, kind_key, path, Role::step, site);
  if (!action) return std::nullopt;
  return Rollback{std::move(*action), read_timing(values, m_playbook.defaults)};
}

ProbeSpec PlaybookReader::read_probe(const Spec& values, const YamlNode& root) {
  ProbeSpec probe;
  probe.url = values.str("url");
  probe.interval = values.duration("interval").value_or(probe.interval);
  probe.timeout = values.duration("timeout").value_or(probe.timeout);
  probe.expect_status = values.integers("expect_status");
  probe.p99 = values.duration("p99");
  if (values.has("max_error_rate")) {
    // "1%", "0.5%" or a plain fraction "0.01".
    std::string text = values.str("max_error_rate");
    bool percent = !text.empty() && text.back() == '%';
    double rate = -1;
    try {
      std::size_t used = 0;
      rate = std::stod(percent ? text.substr(0, text.size() - 1) : text, &used);
      if (used != text.size() - (percent ? 1 : 0)) rate = -1;
    } catch (const std::exception&) {
    }
    if (percent) rate /= 100.0;
    if (rate < 0 || rate > 1) {
      const YamlNode* node = root.get("sla") ? root.get("sla")->get("probe") : nullptr;
      node = node ? node->get("max_error_rate") : nullptr;
      m_diag.error(node ? pos_of(*node) : SourcePos{1, 1}, "sla.probe.max_error_rate",
                   fmt::format("expected a share such as \"1%\" or \"0.01\", got '{}'", text));
    } else {
      probe.max_error_rate = rate;
    }
  }
  if (probe.url.rfind("http://", 0) != 0 && probe.url.rfind("https://", 0) != 0) {
    const YamlNode* node = root.get("sla") ? root.get("sla")->get("probe") : nullptr;
    node = node ? node->get("url") : nullptr;
    m_diag.error(node ? pos_of(*node) : SourcePos{1, 1}, "sla.probe.url",
                 fmt::format("expected an http:// or https:// URL, got '{}'", probe.url));
  }
  return probe;
}

WriteProbeSpec PlaybookReader::read_write_probe(const Spec& values, const YamlNode& root) {
  WriteProbeSpec probe;
  probe.url = values.str("url");
  probe.method = values.opt_str("method").value_or(probe.method);
  probe.interval = values.duration("interval").value_or(probe.interval);
  probe.timeout = values.duration("timeout").value_or(probe.timeout);
  probe.body = values.opt_str("body").value_or(probe.body);
  probe.content_type = values.opt_str("content_type").value_or(probe.content_type);
  probe.ack_status = values.integers("ack_status");
  probe.unknown_status = values.integers("unknown_status");
  probe.verify_url = values.str("verify_url");
  if (values.has("verify_sql")) probe.verify_sql = values.object("verify_sql").json();
  probe.verify_timeout = values.duration("verify_timeout").value_or(probe.verify_timeout);
  probe.max_lost = values.integer("max_lost", 0);
  probe.max_write_gap = values.duration("max_write_gap");

  const YamlNode* sla = root.get("sla");
  const YamlNode* node = sla ? sla->get("write_probe") : nullptr;
  // A key's own value, or else the `write_probe:` key itself (not its first entry).
  auto error_at = [&](const char* key, const std::string& message) {
    const YamlNode* at = node && key ? node->get(key) : nullptr;
    const SourcePos where = at ? pos_of(*at) : sla ? sla->key_pos("write_probe") : SourcePos{1, 1};
    m_diag.error(where, key ? fmt::format("sla.write_probe.{}", key) : "sla.write_probe", message);
  };
  auto is_http = [](const std::string& url) {
    return url.rfind("http://", 0) == 0 || url.rfind("https://", 0) == 0;
  };
  if (!is_http(probe.url))
    error_at("url", fmt::format("expected an http:// or https:// URL, got '{}'", probe.url));
  // A probe that cannot read its writes back could only ever say "0 lost" unverified.
  if (probe.verify_url.empty() == probe.verify_sql.is_null()) {
    error_at(nullptr, probe.verify_url.empty()
                          ? "needs verify_url or verify_sql: acknowledged writes must be read "
                            "back to say none was lost"
                          : "has both verify_url and verify_sql: give one");
  } else if (!probe.verify_url.empty()) {
    if (!is_http(probe.verify_url)) {
      error_at("verify_url",
               fmt::format("expected an http:// or https:// URL, got '{}'", probe.verify_url));
    } else if (probe.verify_url.find("{key}") == std::string::npos) {
      error_at("verify_url", "must contain {key}: the write it reads back");
    }
  } else if (probe.verify_sql.value("query", "").find("{key}") == std::string::npos) {
    error_at("verify_sql", "query must contain {key}: the write it counts");
  } else if (probe.verify_sql.contains("password_env") &&
             probe.verify_sql.contains("password_file")) {
    error_at("verify_sql", "has both password_env and password_file: give one");
  }
  if (probe.interval < Millis(1)) error_at("interval", "expected at least 1ms");
  return probe;
}

void PlaybookReader::require_known_now(nlohmann::json& values, const YamlNode& node,
                                       const std::string& path,
                                       std::initializer_list<const char*> keys, bool report) {
  if (!values.is_object()) return;
  for (const char* key : keys) {
    auto it = values.find(key);
    if (it == values.end() || !(it->is_string() || it->is_null())) continue;
    if (report && it->is_string()) {
      m_diag.error(key_pos(node, key), path.empty() ? key : path + "." + key,
                   fmt::format("'{}' is needed before the run starts: ${{steps.*}} and ${{run.*}} "
                               "belong in a kind's spec",
                               key));
    }
    values.erase(it);
  }
}

Timing PlaybookReader::read_timing(const nlohmann::json& values, Timing base) {
  if (values.contains("timeout")) base.timeout = Millis(values["timeout"].get<long long>());
  if (values.contains("retries")) base.retries = values["retries"].get<int>();
  if (values.contains("retry_delay"))
    base.retry_delay = Millis(values["retry_delay"].get<long long>());
  return base;
}

std::string PlaybookReader::check_string(const std::string& value, SourcePos pos,
                                         const std::string& path, const RefSite* site) {
  auto refs = find_references(value);
  if (!refs) {
    m_diag.error(pos, path, refs.error());
    return value;
  }
  for (const auto& ref : *refs) {
    if (ref.scope == "vars" && m_playbook.vars.count(ref.names[0]) == 0) {
      m_diag.error(pos, path,
                   fmt::format("unknown variable '{}' (define it under vars: or pass --var {}=...)",
                               ref.names[0], ref.names[0]));
    } else if (ref.scope == "env" && std::getenv(ref.names[0].c_str()) == nullptr) {
      m_diag.error(pos, path, fmt::format("environment variable {} is not set", ref.names[0]));
    } else if (ref.scope == "run" && ref.names[0] != "id" && ref.names[0] != "playbook" &&
               ref.names[0] != "fencing_token") {
      m_diag.error(pos, path,
                   fmt::format("unknown run field '{}' in {} (known: id, playbook, fencing_token)",
                               ref.names[0], ref.text));
    } else if (ref.scope == "steps") {
      if (site == nullptr) {
        m_diag.error(pos, path,
                     fmt::format("{} can only be used inside a check or step", ref.text));
      } else {
        check_step_reference(ref, pos, path, *site);
      }
    }
  }
  // vars and env are known now; steps and run are filled in just before the entry runs.
  return substitute(
      value,
      [this](const Reference& ref) -> std::optional<std::string> {
        if (ref.scope == "vars") {
          auto it = m_playbook.vars.find(ref.names[0]);
          if (it != m_playbook.vars.end()) return it->second;
        }
        if (ref.scope == "env") {
          if (const char* env = std::getenv(ref.names[0].c_str())) return std::string(env);
        }
        return std::nullopt;
      },
      false);
}

void PlaybookReader::check_step_reference(const Reference& ref, SourcePos pos,
                                          const std::string& path, const RefSite& site) {
  const std::string& target = ref.names[0];
  const std::string& output = ref.names[1];
  auto it = m_headers.find(target);
  if (it == m_headers.end()) {
    m_diag.error(pos, path,
                 fmt::format("{} refers to no check or step named '{}'", ref.text, target));
    return;
  }
  const EntryHeader& header = it->second;
  if (site.role == Role::check) {
    m_diag.error(
        pos, path,
        header.role == Role::check
            ? fmt::format(
                  "{}: a check cannot use another check's outputs (checks run concurrently)",
                  ref.text)
            : fmt::format("{}: checks run before steps, so step '{}' has no outputs yet", ref.text,
                          target));
    return;
  }
  if (header.role == Role::step) {
    bool earlier = header.index < site.index || (site.in_rollback && header.index == site.index);
    if (!earlier) {
      m_diag.error(pos, path,
                   fmt::format("{}: step '{}' has not run yet at this point", ref.text, target));
      return;
    }
  }
  if (header.kind == nullptr) return;  // its own kind error is reported where it stands
  auto outputs = header.kind->outputs();
  if (std::find(outputs.begin(), outputs.end(), output) == outputs.end()) {
    m_diag.error(
        pos, path,
        fmt::format("{}: '{}' ({}) has no output '{}' (it has: {})", ref.text, target,
                    header.kind->name(), output, outputs.empty() ? "none" : join(outputs, ", ")));
  }
}

}  // namespace

LoadResult parse_playbook(std::string_view text, const std::string& display_name,
                          const LoadOptions& options) {
  PlaybookReader reader(text, display_name, options);
  return reader.read();
}

LoadResult load_playbook(const std::string& path, const LoadOptions& options) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    LoadResult result;
    result.unreadable = true;
    result.diagnostics.push_back(
        {Diagnostic::Severity::error, path, {}, "", "cannot read the playbook file"});
    return result;
  }
  std::ostringstream buffer;
  buffer << in.rdbuf();
  std::string text = buffer.str();
  auto result = parse_playbook(text, path, options);
  if (result.playbook) result.playbook->source_path = path;
  return result;
}

}  // namespace drctl
