// The write probe's pure parts: its series buckets, its verdict, and its report read back from
// a journal (what `show`, `report` and `runs` rely on).
#include <doctest/doctest.h>

#include "engine/probe_series.hpp"
#include "engine/write_probe.hpp"

using namespace drctl;

TEST_CASE("probe_series: buckets of the interval, counts by mask, the slowest answer") {
  std::vector<ProbeSample> samples = {{0, 1, 2.0}, {5, 3, 9.5}, {25, 1, 1.0}, {61, 2, 4.0}};
  auto series = probe_series(WallTime{}, Millis(20), 80, samples, {"requests", "errors"});
  CHECK(series["bucket_ms"] == 20);
  CHECK(series["columns"] == nlohmann::json({"requests", "errors"}));
  // [offset, requests, errors, max latency]; the empty bucket at 40 ms is left out.
  CHECK(series["points"] == nlohmann::json::parse("[[0,2,1,9.5],[20,1,0,1.0],[60,0,1,4.0]]"));
}

TEST_CASE("probe_series: a long run never has more than k_max_points points") {
  std::vector<ProbeSample> samples;
  for (int i = 0; i < 100'000; ++i) samples.push_back({i * 10.0, 1, 1.0});
  auto series = probe_series(WallTime{}, Millis(10), 1'000'000, samples, {"acknowledged"});
  CHECK(series["bucket_ms"] == 1000);
  CHECK(series["points"].size() <= k_max_points);
  long long total = 0;
  for (const auto& point : series["points"]) total += point[1].get<long long>();
  CHECK(total == 100'000);  // nothing dropped, only merged
}

TEST_CASE("write probe verdict: proven loss beats unknown; unknown never reads as met") {
  WriteProbeReport report;
  report.verified = true;
  CHECK(report.verdict() == WriteVerdict::met);
  report.gap_exceeded = true;
  CHECK(report.verdict() == WriteVerdict::breached);
  report.gap_exceeded = false;
  report.verified = false;
  CHECK(report.verdict() == WriteVerdict::not_verified);
  report.lost = 3;
  report.lost_exceeded = true;
  CHECK(report.verdict() == WriteVerdict::breached);
}

TEST_CASE("write probe report: lost is null until verified, and reads back from JSON") {
  WriteProbeSpec spec;
  spec.url = "http://entry/orders";
  spec.max_write_gap = Millis(3000);
  WriteProbeReport report;
  report.url = spec.url;
  report.attempts = 10;
  report.acknowledged = 7;
  report.failed = 2;
  report.unknown = 1;
  report.verify_method = "url";
  report.not_verified_why = "7 of 7 acknowledged writes could not be read back";
  report.unverified = 7;
  report.longest_gap_ms = 250;
  report.longest_gap_during = "step database-to-b";
  auto j = report.to_json(spec);
  CHECK(j["lost"].is_null());
  CHECK(j["verdict"] == "not_verified");
  CHECK(j["max_write_gap_ms"] == 3000);

  WriteProbeSpec read_spec;
  auto back = write_probe_report_of(j, read_spec);
  CHECK(back.acknowledged == 7);
  CHECK(back.unknown == 1);
  CHECK_FALSE(back.verified);
  CHECK(back.verdict() == WriteVerdict::not_verified);
  CHECK(back.longest_gap_during == "step database-to-b");
  CHECK(read_spec.max_write_gap == Millis(3000));

  // A corrupt journal line gives an empty report, never an exception.
  WriteProbeSpec garbage_spec;
  auto garbage = write_probe_report_of(
      nlohmann::json::parse(R"({"attempts": "x", "verification": 3})"), garbage_spec);
  CHECK(garbage.attempts == 0);
  CHECK_FALSE(garbage.verified);
}
