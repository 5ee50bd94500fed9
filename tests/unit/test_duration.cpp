#include <doctest/doctest.h>

#include "util/duration.hpp"

using namespace drctl;

TEST_CASE("durations parse Go-style units") {
  CHECK(parse_duration("250ms") == Millis(250));
  CHECK(parse_duration("5s") == Millis(5000));
  CHECK(parse_duration("1m30s") == Millis(90'000));
  CHECK(parse_duration("2h") == Millis(7'200'000));
  CHECK(parse_duration("1500us") == Millis(1));
  CHECK(parse_duration("0s") == Millis(0));
  CHECK(parse_duration("1.5s") == Millis(1500));
  CHECK(parse_duration("1h2m3.004s") == Millis(3'723'004));
}

TEST_CASE("durations without a unit or with junk are rejected") {
  for (const char* bad :
       {"", "5", "5 s", "s", "-1s", "1.s", ".5s", "5sec", "1m30", "ms", "9999999999s"}) {
    CAPTURE(bad);
    CHECK_FALSE(parse_duration(bad).has_value());
  }
}

TEST_CASE("durations format back to what parses") {
  for (long long ms :
       {0LL, 5LL, 999LL, 1000LL, 1500LL, 23'000LL, 90'000LL, 3'600'000LL, 3'723'004LL}) {
    CAPTURE(ms);
    auto text = format_duration(Millis(ms));
    REQUIRE(parse_duration(text).has_value());
    CHECK(parse_duration(text) == Millis(ms));
  }
  CHECK(format_duration(Millis(1500)) == "1.5s");
  CHECK(format_duration(Millis(90'000)) == "1m30s");
}
