// libFuzzer target: the journal reader and what recovery does with it. `drctl show`, `run
// --resume` and `rollback` read a journal that may be torn, corrupted or written by another
// version, and a chain's journals one after the other. For any input this must return (no
// crash, no exception, no sanitizer report):
//  - journal_state and the rebuilt report (JUnit) of the lines as given;
//  - the chain: the lines are split into journals at each run_started line, linked with
//    chain_link, ordered with chain_of from the newest, and read as one (load_chain_state);
//  - on a state that reads, the engine's own recovery: the journaled playbook (with its
//    journaled --var values) is run by run_playbook as `drctl rollback` (roll_back_journaled:
//    the done and cut-short steps undone newest first, from their journaled undo states) and
//    as `drctl run --resume` (done steps reused with their outputs for ${steps.*}, cut-short
//    ones run again keeping their first undo state; the first step run fails, so the journaled
//    steps are rolled back too). The kinds are the real ones for everything but acting: each
//    operation only records what it is given and answers at once, so nothing runs, connects
//    or waits.
//  - the reports made from a journal: each run_finished line's report and the one rebuilt
//    from the lines, as the HTML drill report (report_to_html) and as `drctl runs --since`'s
//    figures and trend (drill_figures, drill_figures_json, drill_trend_text).
#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "core/cancel.hpp"
#include "engine/journal_chain.hpp"
#include "engine/journal_state.hpp"
#include "engine/record_json.hpp"
#include "engine/reporter.hpp"
#include "engine/runner.hpp"
#include "kinds/registry.hpp"
#include "playbook/loader.hpp"
#include "report/drill_trend.hpp"
#include "report/html_report.hpp"
#include "report/journal_report.hpp"
#include "report/junit_report.hpp"
#include "util/json_dump.hpp"
#include "util/json_fields.hpp"

namespace {

using namespace drctl;

// The step that fails in a resumed run: its first attempt only (a later run() with its name
// is its own rollback action, which succeeds).
std::string g_failing;
std::atomic<bool> g_failed{false};

// Answers at once; keeps the undo state it adopts, as a real operation would.
class RecordingOperation : public Operation {
 public:
  explicit RecordingOperation(bool can_undo) : m_can_undo(can_undo) {}
  Outcome run(const AttemptContext& ctx) override {
    if (!ctx.save_undo_state()) return Outcome::journal_refused();
    if (!g_failing.empty() && ctx.entry_name == g_failing && !g_failed.exchange(true))
      return Outcome::fail(Status::failed, "fuzz: the first step run fails", Changed::unknown);
    return Outcome::ok("fuzz: done");
  }
  bool can_undo() const override { return m_can_undo; }
  Outcome undo(const AttemptContext&) override { return Outcome::ok("fuzz: undone"); }
  nlohmann::json undo_state() const override { return m_state; }
  void adopt_undo_state(const nlohmann::json& state) override {
    (void)state.dump();
    m_state = state;
  }

 private:
  bool m_can_undo;
  nlohmann::json m_state = nullptr;
};

// A real kind (fields, outputs, describe, mutates, undo) whose operations only record.
class RecordingKind : public Kind {
 public:
  explicit RecordingKind(const Kind& real) : m_real(real) {}
  std::string_view name() const override { return m_real.name(); }
  std::string_view summary() const override { return m_real.summary(); }
  bool allowed_as(Role role) const override { return m_real.allowed_as(role); }
  const Fields& fields() const override { return m_real.fields(); }
  std::vector<std::string> outputs() const override { return m_real.outputs(); }
  std::string target(const Spec& spec) const override { return m_real.target(spec); }
  std::string describe(const Spec& spec) const override { return m_real.describe(spec); }
  bool mutates(const Spec& spec) const override { return m_real.mutates(spec); }
  bool writes(const Spec& spec) const override { return m_real.writes(spec); }
  std::vector<SpecProblem> check_spec(const Spec& spec) const override {
    return m_real.check_spec(spec);
  }
  bool undo_state_before_changes(const Spec& spec) const override {
    return m_real.undo_state_before_changes(spec);
  }
  std::string undo_description(const Spec& spec) const override {
    return m_real.undo_description(spec);
  }
  std::unique_ptr<Operation> prepare(const Spec& spec) const override {
    return std::make_unique<RecordingOperation>(!m_real.undo_description(spec).empty());
  }

 private:
  const Kind& m_real;
};

const KindRegistry& recording_kinds() {
  static const KindRegistry registry = [] {
    KindRegistry r;
    for (const auto& kind : builtin_kinds().all()) r.add(std::make_unique<RecordingKind>(*kind));
    return r;
  }();
  return registry;
}

void no_waiting(Timing& timing) {
  timing.retry_delay = Millis(0);
  timing.timeout = Millis(5'000);
}

void recover(const JournalState& state) {
  for (const auto& step : state.done) {
    if (state.find_done(step.name) == nullptr) std::abort();
    (void)step.undo.dump();
  }
  for (const auto& step : state.cut_short) {
    if (state.find_cut_short(step.name) == nullptr) std::abort();
  }
  if (state.playbook_source.empty()) return;
  LoadOptions options;
  options.var_overrides = state.vars;  // as journaled_playbook() loads it
  auto loaded = parse_playbook(state.playbook_source, "<playbook of run>", options);
  if (!loaded.playbook) return;
  Playbook playbook = std::move(*loaded.playbook);
  playbook.lock.reset();             // takes no lock in etcd
  playbook.sla.probe.reset();        // sends no request
  playbook.sla.write_probe.reset();  // sends no write, reads nothing back
  for (auto& entry : playbook.checks) no_waiting(entry.timing);
  for (auto& entry : playbook.steps) {
    no_waiting(entry.timing);
    if (entry.rollback) no_waiting(entry.rollback->timing);
  }
  CancelToken cancel;
  Reporter reporter;  // every event ignored, every checkpoint recorded

  RunOptions rollback;
  rollback.mode = Mode::rollback;
  rollback.parallel = 1;
  rollback.run_id = "fuzz-rollback";
  rollback.rollback = &state;
  g_failing.clear();
  (void)run_playbook(playbook, recording_kinds(), reporter, rollback, cancel);

  RunOptions resume;
  resume.mode = Mode::run;
  resume.parallel = 1;
  resume.run_id = "fuzz-resume";
  resume.resume = &state;
  g_failing.clear();
  g_failed = false;
  for (const auto& entry : playbook.steps) {
    if (state.find_done(entry.name) == nullptr) {
      g_failing = entry.name;
      break;
    }
  }
  (void)run_playbook(playbook, recording_kinds(), reporter, resume, cancel);
}

// What `drctl report`/`show --html` and `drctl runs --since` make of a journal's reports: a
// tampered number (1e300, 1e999) or a field of the wrong type must never crash them.
void reports(const std::vector<nlohmann::json>& lines, const RunReport& rebuilt) {
  std::vector<nlohmann::json> documents;
  for (const auto& line : lines) {
    const auto& report = json_member(line, "report");
    if (json_text(line, "type") == "run_finished" && report.is_object())
      documents.push_back(report);
  }
  documents.push_back(report_to_json(rebuilt));
  std::vector<DrillFigures> figures;
  for (const auto& document : documents) {
    (void)report_to_html(document);
    figures.push_back(drill_figures(json_text(document, "run_id"), document));
    (void)dump_json(drill_figures_json(figures.back()), 2);  // as `runs --output json` prints it
  }
  (void)drill_trend_text(figures);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  std::vector<nlohmann::json> lines;
  std::size_t start = 0;
  while (start <= text.size()) {
    std::size_t end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    auto line = nlohmann::json::parse(text.substr(start, end - start), nullptr, false);
    if (line.is_object()) lines.push_back(std::move(line));  // as read_journal keeps them
    start = end + 1;
  }
  auto state = journal_state(lines);
  if (state) recover(*state);
  const RunReport rebuilt = journal_report(lines);
  (void)report_to_junit(rebuilt);
  reports(lines, rebuilt);

  // The same lines as a chain: one journal per run_started line.
  std::vector<std::vector<nlohmann::json>> journals;
  for (auto& line : lines) {
    if (journals.empty() || !chain_link(line).run_id.empty()) journals.emplace_back();
    journals.back().push_back(line);
  }
  std::vector<ChainLink> links;
  for (const auto& journal : journals) links.push_back(chain_link(journal.front()));
  if (links.empty()) return 0;
  auto chain = chain_of(links, links.back().run_id);
  if (chain.empty()) std::abort();
  std::set<std::string> members;
  for (const auto& link : chain) {
    if (!members.insert(link.run_id).second) std::abort();  // a run twice in its own chain
    (void)chain_fate(chain, link.run_id);
  }
  std::vector<nlohmann::json> chained;  // each member's journal, root first (load_chain_state)
  for (const auto& link : chain) {
    for (std::size_t i = 0; i < journals.size(); ++i) {
      if (links[i].run_id != link.run_id) continue;
      chained.insert(chained.end(), journals[i].begin(), journals[i].end());
      break;
    }
  }
  auto chain_state = journal_state(chained);
  if (chain_state) {
    chain_state->chain = chain;
    recover(*chain_state);
  }
  return 0;
}
