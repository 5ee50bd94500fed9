#include "report/junit_report.hpp"

#include <fmt/format.h>

#include "util/json_dump.hpp"
#include "util/safe_files.hpp"
#include "util/strings.hpp"

namespace drctl {
namespace {

std::string xml_escape(std::string_view text) {
  std::string out;
  for (char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&apos;";
        break;
      default:
        // XML 1.0 forbids most control characters even when escaped.
        if (static_cast<unsigned char>(c) < 0x20 && c != '\n' && c != '\t' && c != '\r') {
          out += '?';
        } else {
          out += c;
        }
    }
  }
  return out;
}

double seconds(std::chrono::nanoseconds d) {
  return std::chrono::duration<double>(d).count();
}

// An approval step's decision: who, when, how, with what comment (an audit reads it here).
void write_approval(std::string& xml, const EntryRecord& r) {
  if (!r.evidence.is_object() || !r.evidence.contains("decided_by")) return;
  xml += "      <properties>\n";
  for (const char* key : {"decided_by", "decided_by_login", "decided_on", "decided_at", "comment",
                          "via", "waited_ms"}) {
    const nlohmann::json value = r.evidence.value(key, nlohmann::json(""));
    xml += fmt::format("        <property name=\"approval.{}\" value=\"{}\"/>\n", key,
                       xml_escape(value.is_string() ? value.get<std::string>() : dump_json(value)));
  }
  xml += "      </properties>\n";
  if (r.status == Status::ok)
    xml += fmt::format("      <system-out>{}</system-out>\n", xml_escape(r.message));
}

void write_suite(std::string& xml, const RunReport& report, std::string_view suite,
                 const std::vector<EntryRecord>& records) {
  std::size_t failures = 0, skipped = 0;
  std::chrono::nanoseconds total{0};
  for (const auto& r : records) {
    if (r.status == Status::skipped)
      ++skipped;
    else if (r.status != Status::ok || r.budget_exceeded)
      ++failures;
    total += r.duration;
  }
  xml += fmt::format(
      "  <testsuite name=\"{}.{}\" tests=\"{}\" failures=\"{}\" errors=\"0\" skipped=\"{}\" "
      "time=\"{:.6f}\" timestamp=\"{}\">\n",
      xml_escape(report.playbook_name), suite, records.size(), failures, skipped, seconds(total),
      rfc3339_utc(report.started.wall));
  for (const auto& r : records) {
    xml += fmt::format("    <testcase name=\"{}\" classname=\"{}.{}.{}\" time=\"{:.6f}\">\n",
                       xml_escape(r.name), xml_escape(report.playbook_name), suite,
                       xml_escape(r.kind), seconds(r.duration));
    write_approval(xml, r);
    if (r.status == Status::skipped) {
      xml += fmt::format("      <skipped message=\"{}\"/>\n", xml_escape(r.message));
    } else if (r.status != Status::ok) {
      xml += fmt::format("      <failure type=\"{}\" message=\"{}\">{}</failure>\n",
                         status_name(r.status), xml_escape(r.message),
                         xml_escape(dump_json(r.evidence, 2)));
    } else if (r.budget_exceeded) {
      xml += fmt::format(
          "      <failure type=\"budget_exceeded\" message=\"took {:.1f} ms, budget {} ms\"/>\n",
          to_ms(r.duration), r.budget->count());
    }
    xml += "    </testcase>\n";
  }
  xml += "  </testsuite>\n";
}

// The write probe as one test case: failed when writes were lost (or the gap was too long),
// an error when they could not be read back (the loss is unknown, which is not a pass).
void write_writes_suite(std::string& xml, const RunReport& report) {
  const auto& w = *report.sla.write_probe;
  const auto verdict = w.verdict();
  xml += fmt::format(
      "  <testsuite name=\"{}.sla\" tests=\"1\" failures=\"{}\" errors=\"{}\" skipped=\"0\" "
      "time=\"{:.6f}\" timestamp=\"{}\">\n",
      xml_escape(report.playbook_name), verdict == WriteVerdict::breached ? 1 : 0,
      verdict == WriteVerdict::not_verified ? 1 : 0, w.verify_ms / 1000.0,
      rfc3339_utc(report.started.wall));
  xml += fmt::format(
      "    <testcase name=\"write_probe\" classname=\"{}.sla.write_probe\" time=\"{:.6f}\">\n",
      xml_escape(report.playbook_name), w.verify_ms / 1000.0);
  const std::string facts = fmt::format(
      "{} sent, {} acknowledged, {} failed, {} unknown; lost {}; duplicates {}; longest write gap "
      "{:.0f} ms from {}",
      w.attempts, w.acknowledged, w.failed, w.unknown,
      w.verified || w.lost > 0 ? std::to_string(w.lost) : "unknown", w.duplicates, w.longest_gap_ms,
      w.longest_gap_during.empty() ? "-" : w.longest_gap_during);
  if (verdict == WriteVerdict::breached) {
    const std::string detail =
        w.lost_exceeded ? "lost keys: " + join(w.lost_keys, ", ")
                        : fmt::format("writes refused for {:.0f} ms from {}{}", w.longest_gap_ms,
                                      w.longest_gap_during,
                                      w.longest_gap_recovered ? "" : ": they never came back");
    xml += fmt::format("      <failure type=\"{}\" message=\"{}\">{}</failure>\n",
                       w.lost_exceeded ? "writes_lost" : "write_gap_exceeded", xml_escape(facts),
                       xml_escape(detail));
  } else if (verdict == WriteVerdict::not_verified) {
    xml += fmt::format("      <error type=\"not_verified\" message=\"{}\">{}</error>\n",
                       xml_escape(facts), xml_escape(w.not_verified_why));
  } else {
    xml += fmt::format("      <system-out>{}</system-out>\n", xml_escape(facts));
  }
  xml += "    </testcase>\n  </testsuite>\n";
}

}  // namespace

std::string report_to_junit(const RunReport& report) {
  std::string xml = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
  xml += fmt::format("<testsuites name=\"{}\" time=\"{:.6f}\">\n", xml_escape(report.playbook_name),
                     seconds(report.finished.steady - report.started.steady));
  write_suite(xml, report, "checks", report.checks);
  write_suite(xml, report, "steps", report.steps);
  if (!report.rollbacks.empty()) write_suite(xml, report, "rollbacks", report.rollbacks);
  if (report.sla.write_probe && report.sla.write_probe_spec) write_writes_suite(xml, report);
  xml += "</testsuites>\n";
  return xml;
}

void JunitReporter::run_finished(const RunReport& report) {
  // A new temp file beside it (0644 whatever the umask: a pipeline's report, secrets already
  // masked), renamed over it: a symlink planted at either name is never followed.
  if (auto written = replace_file(m_path, report_to_junit(report), 0644); !written)
    m_error = fmt::format("cannot write JUnit report {}: {}", m_path, written.error().message);
}

}  // namespace drctl
