#include "engine/journal_state.hpp"

#include <algorithm>

#include "util/json_fields.hpp"

namespace drctl {
namespace {

std::map<std::string, std::string> string_map(const nlohmann::json& j) {
  std::map<std::string, std::string> out;
  if (!j.is_object()) return out;
  for (const auto& [k, v] : j.items()) {
    if (v.is_string()) out[k] = v.get<std::string>();
  }
  return out;
}

void erase_named(std::vector<JournaledStep>& steps, const std::string& name) {
  steps.erase(std::remove_if(steps.begin(), steps.end(),
                             [&](const JournaledStep& s) { return s.name == name; }),
              steps.end());
}

}  // namespace

const JournaledStep* JournalState::find_done(const std::string& name) const {
  for (const auto& s : done) {
    if (s.name == name) return &s;
  }
  return nullptr;
}

const JournaledStep* JournalState::find_cut_short(const std::string& name) const {
  for (const auto& s : cut_short) {
    if (s.name == name) return &s;
  }
  return nullptr;
}

tl::expected<JournalState, std::string> journal_state(const std::vector<nlohmann::json>& lines) {
  if (lines.empty() || json_text(lines.front(), "type") != "run_started")
    return tl::unexpected(std::string("not a drctl journal (no run_started line)"));
  JournalState state;
  std::map<std::string, nlohmann::json> undo;  // latest journaled undo state per step
  std::string host;                            // of the run whose lines these are
  for (const auto& line : lines) {
    const std::string type = json_text(line, "type");
    const std::string phase = json_text(line, "phase");
    const std::string name = json_text(line, "name");
    if (type == "run_started") {
      // The first line of each journal of a chain: the newest one's run, mode and playbook.
      state.run_id = state.head_run_id = json_text(line, "run_id");
      state.mode = json_text(line, "mode");
      state.ended = false;
      state.result.clear();
      const nlohmann::json& playbook = json_member(line, "playbook");
      state.playbook_name = json_text(playbook, "name");
      state.playbook_hash = json_text(playbook, "hash");
      state.playbook_source = json_text(playbook, "source");
      state.vars = string_map(json_member(playbook, "vars"));
      host = json_text(line, "host");
      continue;
    }
    if (type == "entry_process") {
      state.open_processes.push_back(
          {state.run_id, host, phase + " " + name, json_int(line, "pgid", 0)});
      continue;
    }
    if (type == "entry_finished") {
      auto& open = state.open_processes;
      open.erase(std::remove_if(open.begin(), open.end(),
                                [&](const JournalState::OpenProcess& p) {
                                  return p.run_id == state.run_id && p.entry == phase + " " + name;
                                }),
                 open.end());
    }
    if (type == "run_finished") {
      state.ended = true;
      if (line.contains("report") && line["report"].is_object())
        state.result = json_text(line["report"], "result");
      continue;
    }
    if (phase == "step" && type == "entry_started") {
      erase_named(state.cut_short, name);
      state.cut_short.push_back(
          {name, state.run_id, {}, undo.count(name) ? undo[name] : nlohmann::json(nullptr), false});
    } else if (phase == "step" && type == "entry_undo") {
      undo[name] = json_member(line, "undo");
      for (auto& s : state.cut_short) {
        if (s.name == name) s.undo = undo[name];
      }
    } else if (phase == "step" && type == "entry_finished") {
      nlohmann::json step_undo = line.contains("undo")
                                     ? line["undo"]
                                     : (undo.count(name) ? undo[name] : nlohmann::json(nullptr));
      undo[name] = step_undo;
      erase_named(state.cut_short, name);
      erase_named(state.done, name);
      std::string status = json_text(line, "status");
      JournaledStep step{name, json_text(line, "done_in_run", state.run_id),
                         string_map(json_member(line, "outputs")), step_undo, true};
      if (status == "ok") {
        state.done.push_back(std::move(step));
      } else if (json_text(line, "changed") == "no") {
        // It failed having changed nothing (a program that does not exist, a step the journal
        // could not record the start of): there is nothing to undo.
      } else if (status != "skipped" || !step_undo.is_null()) {
        step.finished = false;
        state.cut_short.push_back(std::move(step));
      }
    } else if (phase == "rollback" && type == "entry_finished") {
      std::string status = json_text(line, "status");
      std::string message = json_text(line, "message");
      bool not_attempted = status == "skipped" && message.rfind("not attempted", 0) == 0;
      if (status == "ok" || (status == "skipped" && !not_attempted &&
                             message.rfind("no rollback declared", 0) != 0)) {
        erase_named(state.done, name);  // undone (or there was nothing to undo)
        erase_named(state.cut_short, name);
        state.failed_rollbacks.erase(
            std::remove(state.failed_rollbacks.begin(), state.failed_rollbacks.end(), name),
            state.failed_rollbacks.end());
      } else if (!not_attempted && status != "skipped") {
        state.failed_rollbacks.push_back(name);
      }
    }
  }
  // A step still open at the end (killed mid-step) is cut short; so is one left open by a crash.
  for (auto& s : state.cut_short) {
    if (undo.count(s.name) && s.undo.is_null()) s.undo = undo[s.name];
  }
  return state;
}

}  // namespace drctl
