// The pure parts of the etcd work: prefix ranges, the continuity proof, latency summaries.
#include <doctest/doctest.h>

#include "clients/etcd.hpp"
#include "etcd/continuity.hpp"
#include "util/stats.hpp"

using namespace drctl;

namespace {
EtcdEvent put(const std::string& key, std::int64_t revision) {
  return {false, {key, "v", revision, revision, 1, 0}};
}
EtcdEvent del(const std::string& key, std::int64_t revision) {
  return {true, {key, "", 0, revision, 0, 0}};
}
EtcdKeyValue kv(const std::string& key, std::int64_t mod_revision) {
  return {key, "v", mod_revision, mod_revision, 1, 0};
}
}  // namespace

TEST_CASE("the range end of a prefix is the prefix with its last byte incremented") {
  CHECK(etcd_prefix_end("/cfg/") == "/cfg0");
  CHECK(etcd_prefix_end("a") == "b");
  CHECK(etcd_prefix_end(std::string("a\xff", 2)) == "b");
  CHECK(etcd_prefix_end("") == std::string(1, '\0'));
}

TEST_CASE("a continuous watch passes the proof") {
  ContinuityTracker t(10);
  t.observe(put("/a", 10));
  t.observe(put("/b", 11));
  t.observe(put("/a", 12));
  t.observe(del("/b", 13));
  t.expect(kv("/a", 12));
  t.expect(kv("/old", 3));  // unchanged since before the watch: nothing to see
  t.finish(13);
  CHECK(t.events() == 4);
  CHECK(t.lost() == 0);
  CHECK(t.duplicates() == 0);
  CHECK(t.out_of_order() == 0);
}

TEST_CASE("the proof catches a lost put, a lost delete, a duplicate and a reordering") {
  SUBCASE("lost put: the read has a newer mod_revision than the watch delivered") {
    ContinuityTracker t(10);
    t.observe(put("/a", 10));
    t.expect(kv("/a", 11));
    t.finish(11);
    CHECK(t.lost() == 1);
    CHECK(t.lost_keys() == std::vector<std::string>{"/a"});
  }
  SUBCASE("lost put of a key the watch never mentioned") {
    ContinuityTracker t(10);
    t.expect(kv("/new", 10));
    t.finish(10);
    CHECK(t.lost() == 1);
  }
  SUBCASE("lost delete: seen alive, absent from the read") {
    ContinuityTracker t(10);
    t.observe(put("/gone", 10));
    t.finish(12);
    CHECK(t.lost() == 1);
  }
  auto watched = [](std::vector<EtcdEvent> events) {
    ContinuityTracker t(10);
    for (const auto& event : events) t.observe(event);
    return t;
  };
  SUBCASE("duplicate") {
    CHECK(watched({put("/a", 10), put("/a", 10)}).duplicates() == 1);
  }
  SUBCASE("reordering, and an event before the start") {
    CHECK(watched({put("/a", 12), put("/b", 11), put("/c", 9)}).out_of_order() == 2);
  }
  SUBCASE("a re-list seeds keys: an unchanged seeded key is not lost, a deleted one is") {
    ContinuityTracker t(20);
    t.seed(kv("/kept", 5));
    t.seed(kv("/deleted", 6));
    t.expect(kv("/kept", 5));
    t.finish(25);
    CHECK(t.lost() == 1);
    CHECK(t.lost_keys() == std::vector<std::string>{"/deleted"});
  }
}

TEST_CASE("latency summaries use nearest-rank percentiles") {
  std::vector<double> values;
  for (int i = 100; i >= 1; --i) values.push_back(i);
  auto s = summarize(values);
  CHECK(s.samples == 100);
  CHECK(s.p50 == 50);
  CHECK(s.p90 == 90);
  CHECK(s.p99 == 99);
  CHECK(s.max == 100);
  CHECK(s.mean == doctest::Approx(50.5));
  std::vector<double> none;
  CHECK(summarize(none).samples == 0);
}
