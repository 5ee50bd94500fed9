#pragma once
// What `drctl serve` answers, made from the readiness monitor's view: /readiness as JSON or
// text, /checks/NAME as JSON, /metrics in Prometheus' text exposition format 0.0.4 (docs/serve.md).
// Every string is redacted.
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "engine/readiness_monitor.hpp"

namespace drctl {

// A label value as the text format wants it: backslash, quote and newline escaped.
std::string prometheus_label(std::string_view value);

// The checks' numeric evidence (top-level numbers; booleans as 1 and 0), by field name.
nlohmann::json measured_values(const nlohmann::json& evidence);

// Why the view is not ready, one line per check that is not ("" when ready).
std::vector<std::string> not_ready_reasons(const ReadinessView& view);

// /readiness: ready, the reasons, and each check's state, message, values, age and transition.
nlohmann::json readiness_json(const ReadinessView& view);
// The same for `Accept: text/plain`: a verdict line, then one line per check.
std::string readiness_text(const ReadinessView& view);
// /checks/NAME: that check's view and its latest record (evidence included).
nlohmann::json check_json(const CheckView& check);
// /metrics.
std::string readiness_metrics(const ReadinessView& view);

}  // namespace drctl
