#pragma once
// How an action is carried out. The live performer prepares the kind's real Operation; the
// dry-run performer prepares one that previews it instead: what it would change, read from the
// live systems and changing nothing (Kind::preview). Dry-run is this one substitution, not an
// `if` inside every kind.
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/cancel.hpp"
#include "core/kind.hpp"
#include "core/model.hpp"

namespace drctl {

class KindRegistry;

class Performer {
 public:
  virtual ~Performer() = default;
  virtual std::unique_ptr<Operation> prepare(const Kind& kind, const Spec& spec) const = 0;
  virtual bool live() const = 0;
};

class LivePerformer : public Performer {
 public:
  std::unique_ptr<Operation> prepare(const Kind& kind, const Spec& spec) const override {
    return kind.prepare(spec);
  }
  bool live() const override { return true; }
};

// Each operation it prepares changes nothing: its outcome is `skipped` ("dry run: would ..."),
// with the kind's preview in evidence.preview; when the preview finds a condition that would make
// the real step refuse, evidence.error is `would_refuse` and the message says why. The previews
// of one run share an overlay: a step reads what the steps before it would have written.
class DryRunPerformer : public Performer {
 public:
  std::unique_ptr<Operation> prepare(const Kind& kind, const Spec& spec) const override;
  bool live() const override { return false; }

 private:
  std::shared_ptr<PreviewOverlay> m_overlay = std::make_shared<PreviewOverlay>();
};

// Reads every secret a spec names (*_env, *_file of passwords, tokens, secret and header maps)
// so that redact() masks it in a preview before the kind itself has read it.
void register_spec_secrets(const nlohmann::json& spec);

// `drctl plan --live`: every step's preview in order (evidence.preview's form), as a dry run
// would make them (${steps.*} shown as <steps.NAME.OUTPUT>), each within its timeout; changes
// nothing and runs no check.
std::vector<nlohmann::json> preview_steps(const Playbook& playbook, const KindRegistry& kinds,
                                          const CancelToken& cancel);

}  // namespace drctl
