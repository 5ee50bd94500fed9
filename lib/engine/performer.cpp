#include "engine/performer.hpp"

#include <fmt/format.h>

#include "kinds/registry.hpp"
#include "playbook/field_validator.hpp"
#include "playbook/interpolate.hpp"
#include "util/secrets.hpp"
#include "util/strings.hpp"

namespace drctl {
namespace {

// The kind's preview; one that throws (a spec a late reference left untyped) says so instead.
Preview safe_preview(const Kind& kind, const Spec& spec, const AttemptContext& ctx,
                     PreviewOverlay& overlay) {
  register_spec_secrets(spec.json());
  overlay.set_step(ctx.entry_name);
  try {
    return kind.preview(spec, ctx, overlay);
  } catch (const std::exception& error) {
    Preview preview;
    preview.unreadable.push_back(fmt::format("{}: no preview: {}", kind.name(), error.what()));
    return preview;
  }
}

class PreviewOperation : public Operation {
 public:
  PreviewOperation(const Kind& kind, Spec spec, std::shared_ptr<PreviewOverlay> overlay)
      : m_kind(kind), m_spec(std::move(spec)), m_overlay(std::move(overlay)) {}

  Outcome run(const AttemptContext& ctx) override {
    Preview preview = safe_preview(m_kind, m_spec, ctx, *m_overlay);
    Outcome outcome = Outcome::fail(
        Status::skipped, "dry run: would " + redact(m_kind.describe(m_spec)), Changed::no);
    outcome.evidence["preview"] = preview.to_json();
    if (!preview.refusals.empty()) {
      outcome.evidence["error"] = "would_refuse";
      outcome.message = redact("would refuse: " + join(preview.refusals, "; "));
    }
    return outcome;
  }

 private:
  const Kind& m_kind;
  Spec m_spec;
  std::shared_ptr<PreviewOverlay> m_overlay;
};

// ${steps.*} and ${run.*} as a dry run shows them: placeholders, since no step really ran.
nlohmann::json placeholders(const nlohmann::json& value) {
  if (value.is_string()) {
    return substitute(
        value.get<std::string>(),
        [](const Reference& ref) -> std::optional<std::string> {
          if (ref.scope != "steps" && ref.scope != "run") return std::nullopt;
          return fmt::format("<{}.{}>", ref.scope, join(ref.names, "."));
        },
        true);
  }
  if (value.is_array() || value.is_object()) {
    nlohmann::json out = value;
    for (auto& item : out) item = placeholders(item);
    return out;
  }
  return value;
}

}  // namespace

std::unique_ptr<Operation> DryRunPerformer::prepare(const Kind& kind, const Spec& spec) const {
  return std::make_unique<PreviewOperation>(kind, spec, m_overlay);
}

void register_spec_secrets(const nlohmann::json& spec) {
  if (spec.is_array()) {
    for (const auto& item : spec) register_spec_secrets(item);
    return;
  }
  if (!spec.is_object()) return;
  for (const auto& [key, value] : spec.items()) {
    const bool env = key.ends_with("_env"), file = key.ends_with("_file");
    const std::string base = key.substr(0, key.size() - (env ? 4 : file ? 5 : 0));
    const bool secret = (env || file) && (base == "password" || base == "token" ||
                                          base == "secret" || base == "headers");
    if (!secret) {
      register_spec_secrets(value);
      continue;
    }
    auto read = [&](const nlohmann::json& name) {
      if (!name.is_string()) return;
      if (env) (void)secret_from_env(name.get<std::string>());
      if (file) (void)secret_from_file(name.get<std::string>());
    };
    if (value.is_object()) {
      for (const auto& item : value) read(item);
    } else {
      read(value);
    }
  }
}

std::vector<nlohmann::json> preview_steps(const Playbook& playbook, const KindRegistry& kinds,
                                          const CancelToken& cancel) {
  PreviewOverlay overlay;
  std::vector<nlohmann::json> out;
  for (const auto& entry : playbook.steps) register_spec_secrets(entry.action.spec.json());
  for (const auto& entry : playbook.steps) {
    if (cancel.stop_requested()) break;  // interrupted: no further step is previewed
    const Kind& kind = *kinds.find(entry.action.kind);
    nlohmann::json values = placeholders(entry.action.spec.json());
    auto problems = coerce_late_values(values, kind.fields());
    if (!problems.empty()) {
      Preview preview;
      preview.unreadable.push_back(
          redact(fmt::format("{}: not previewed: {}", kind.name(), join(problems, "; "))));
      out.push_back(preview.to_json());
      continue;
    }
    AttemptContext ctx{entry.name, std::chrono::steady_clock::now() + entry.timing.timeout,
                       &cancel};
    Preview preview =
        entry.read_only ? Preview{true} : safe_preview(kind, Spec(std::move(values)), ctx, overlay);
    out.push_back(redact_json(preview.to_json()));
  }
  return out;
}

}  // namespace drctl
