// MariaDB GTID positions (the mysql kind's `method: gtid`): parsing and the "behind" verdict.
#include <doctest/doctest.h>

#include "kinds/gtid.hpp"

using namespace drctl;

namespace {

// gtid_behind's answer as "domain:have<want" lines, for whole-value comparisons.
std::vector<std::string> lines(const std::vector<GtidLag>& behind) {
  std::vector<std::string> out;
  for (const auto& lag : behind)
    out.push_back(lag.domain + ":" + std::to_string(lag.have) + "<" + std::to_string(lag.want));
  return out;
}

// A position that must parse.
GtidPosition parsed(const std::string& position) {
  auto value = parse_mariadb_gtid(position);
  REQUIRE(value.has_value());
  return *value;
}

std::vector<std::string> behind(const std::string& primary, const std::string& replica) {
  return lines(gtid_behind(parsed(primary), parsed(replica)));
}

}  // namespace

TEST_CASE("a multi-domain position gives each domain's seq") {
  CHECK(parsed("0-1-15,1-2-7") == GtidPosition{{"0", 15}, {"1", 7}});
  CHECK(parsed("0-1-15") == GtidPosition{{"0", 15}});
  CHECK(parsed("0-1-18446744073709551615") == GtidPosition{{"0", 18446744073709551615ULL}});
}

TEST_CASE("an empty position has no domains") {
  CHECK(parsed("").empty());
  CHECK(parsed(" \n").empty());
  CHECK(parsed(",").empty());
}

TEST_CASE("spaces and newlines around entries are ignored, as MariaDB prints long positions") {
  const GtidPosition want{{"0", 15}, {"1", 7}, {"2", 3}};
  CHECK(parsed("0-1-15,\n1-2-7,\n2-3-3") == want);
  CHECK(parsed(" 0-1-15 , 1-2-7\t,\r\n2-3-3\n") == want);
  CHECK(parsed("0-1-15,1-2-7,2-3-3,") == want);  // a trailing comma
}

TEST_CASE("a domain given twice keeps its highest seq, in any order") {
  CHECK(parsed("0-1-15,0-2-9") == GtidPosition{{"0", 15}});
  CHECK(parsed("0-2-9,0-1-15") == GtidPosition{{"0", 15}});
  CHECK(parsed("0-1-5,1-1-4,0-3-20") == GtidPosition{{"0", 20}, {"1", 4}});
}

TEST_CASE("a position drctl cannot read is refused whole, never read as caught up") {
  for (const char* bad : {"garbage", "0-15", "0-1-15,garbage,1-2-7", "0-1-abc", "0-1-", "-1-15",
                          "0-x-15", "0-1-99999999999999999999", "0-1-15abc", "0-1-2-3"}) {
    CAPTURE(bad);
    CHECK_FALSE(parse_mariadb_gtid(bad).has_value());
  }
}

TEST_CASE("a replica missing one of the primary's domains is behind in it, from 0") {
  CHECK(behind("0-1-15,1-2-7", "0-1-15") == std::vector<std::string>{"1:0<7"});
  CHECK(behind("0-1-15,1-2-7", "") == std::vector<std::string>{"0:0<15", "1:0<7"});
}

TEST_CASE("a replica behind in one domain is reported for that domain only") {
  auto lag = gtid_behind(parsed("0-1-15,1-2-7"), parsed("0-1-10,1-2-7"));
  REQUIRE(lag.size() == 1);
  CHECK(lag[0].domain == "0");
  CHECK(lag[0].have == 10);
  CHECK(lag[0].want == 15);
}

TEST_CASE("a replica equal to or ahead of the primary is not behind") {
  CHECK(behind("0-1-15,1-2-7", "0-1-15,1-2-7").empty());
  CHECK(behind("0-1-15,1-2-7", "0-1-20,1-2-9").empty());
  CHECK(behind("0-1-15", "0-1-15,1-2-7").empty());  // a domain only the replica has
  CHECK(behind("", "0-1-15").empty());
  // Ahead in one domain does not make up for behind in another.
  CHECK(behind("0-1-15,1-2-7", "0-1-99,1-2-6") == std::vector<std::string>{"1:6<7"});
}

TEST_CASE("the seq is compared per domain, whatever server wrote it") {
  // A failover changes the server id; only the seq orders a domain's transactions.
  CHECK(behind("0-2-15", "0-1-15").empty());
  CHECK(behind("0-1-15", "0-2-14") == std::vector<std::string>{"0:14<15"});
}

namespace {

// gtids_missing as describe() names it: a server at `position` with binlog state `state`,
// against a reference's state.
std::string missing(const std::string& position, const std::string& state,
                    const std::string& reference) {
  auto p = parse_gtid_list(position);
  auto h = parse_gtid_list(state);
  auto r = parse_gtid_list(reference);
  REQUIRE(p.has_value());
  REQUIRE(h.has_value());
  REQUIRE(r.has_value());
  return describe(gtids_missing(last_per_domain(*p), *h, *r));
}

}  // namespace

TEST_CASE("a candidate's own write above the primary's position is errant, named exactly") {
  // The lab notes' case: the replica wrote 0-2-16 while the primary is at 0-1-15.
  CHECK(missing("0-2-16", "0-1-15,0-2-16", "0-1-15") == "0-2-16");
  CHECK(missing("0-1-15", "0-1-15", "0-1-15") == "");
  // Behind is not errant: the candidate lacks transactions, it has none extra.
  CHECK(missing("0-1-12", "0-1-12", "0-1-15") == "");
}

TEST_CASE("a lost primary's transactions are the seqs above its successor's") {
  CHECK(missing("0-1-17", "0-1-17", "0-1-12") == "0-1-13..0-1-17");
  // The successor took its own writes since (0-2-13..): the old primary's 13..17 are still lost.
  CHECK(missing("0-1-17", "0-1-17", "0-1-12,0-2-20") == "0-1-13..0-1-17");
  CHECK(missing("0-1-17,1-1-4", "0-1-17,1-1-4", "0-1-17") == "1-1-1..1-1-4");
}

TEST_CASE("a fork is named from where the histories part, on both sides") {
  // Both wrote after 0-1-15: A three (0-1-16..18), B ten (0-2-16..25).
  CHECK(missing("0-2-25", "0-1-15,0-2-25", "0-1-18") == "0-2-16..0-2-25");
  CHECK(missing("0-1-18", "0-1-18", "0-1-15,0-2-25") == "0-1-16..0-1-18");
}

TEST_CASE(
    "old history in a state is not a missing write; without common history only the last "
    "is certain") {
  // A replayed a RESET MASTER'd replica's errant 0-2-20 once; both are at 0-1-29 now.
  CHECK(missing("0-1-29", "0-2-20,0-1-29", "0-1-29") == "");
  // The candidate was the primary once (server 2 wrote 1..5) and the primary has those.
  CHECK(missing("0-1-15", "0-2-5,0-1-15", "0-2-5,0-1-15") == "");
  CHECK(missing("0-2-10", "0-2-10", "0-1-15") == "up to 0-2-10");
  CHECK(missing("0-2-10", "0-2-10", "0-2-5,0-1-15") == "0-2-6..0-2-10");
}

TEST_CASE("the last GTID per domain is the highest seq of the binlog and slave positions") {
  auto list = parse_gtid_list("0-1-15,1-1-3,0-2-18,1-2-2");
  REQUIRE(list.has_value());
  auto last = last_per_domain(*list);
  REQUIRE(last.size() == 2);
  CHECK(to_string(last[0]) == "0-2-18");
  CHECK(to_string(last[1]) == "1-1-3");
}

TEST_CASE("a replica holds a frozen primary's position only with the same GTID in every domain") {
  auto list = [](const std::string& text) {
    auto value = parse_gtid_list(text);
    REQUIRE(value.has_value());
    return *value;
  };
  CHECK(gtid_position_differences(list("0-1-15,1-1-3"), list("1-1-3,0-1-15")).empty());
  CHECK(gtid_position_differences(list("0-1-15"), list("0-1-14")) ==
        std::vector<std::string>{"0: 0-1-15 vs 0-1-14"});
  CHECK(gtid_position_differences(list("0-1-15"), list("0-2-15")) ==
        std::vector<std::string>{"0: 0-1-15 vs 0-2-15"});
  CHECK(gtid_position_differences(list("0-1-15,1-1-3"), list("0-1-15")) ==
        std::vector<std::string>{"1: 1-1-3 vs none"});
  CHECK(!parse_gtid_list("0-1").has_value());
  CHECK(!parse_gtid_list("0-1-x").has_value());
}
