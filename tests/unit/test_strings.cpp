// valid_utf8: what a step's output becomes before it reaches a report or a journal.
#include <doctest/doctest.h>

#include "util/json_dump.hpp"
#include "util/strings.hpp"

using namespace drctl;

namespace {
const std::string k_replacement = "\xEF\xBF\xBD";
}

TEST_CASE("valid UTF-8 passes unchanged") {
  CHECK(valid_utf8("plain ascii") == "plain ascii");
  CHECK(valid_utf8("\xE5\x88\x87\xE6\x8D\xA2 to site B") ==
        "\xE5\x88\x87\xE6\x8D\xA2 to site B");                  // 切换, 3-byte sequences
  CHECK(valid_utf8("\xF0\x9F\x9A\x80") == "\xF0\x9F\x9A\x80");  // 4 bytes
  CHECK(valid_utf8(std::string("a\0b", 3)) == std::string("a\0b", 3));
}

TEST_CASE("each byte outside a well-formed UTF-8 sequence becomes U+FFFD") {
  // 切换 in GBK: C7 starts no sequence D0 can continue; D0 BB happens to be well-formed ("л").
  CHECK(valid_utf8("\xC7\xD0\xBB\xBB") == k_replacement + "\xD0\xBB" + k_replacement);
  CHECK(valid_utf8("ok \xFF") == "ok " + k_replacement);
  CHECK(valid_utf8("\xE5\x88") == k_replacement + k_replacement);  // cut short at the end
  CHECK(valid_utf8("\xC0\xAF") == k_replacement + k_replacement);  // overlong '/'
  CHECK(valid_utf8("\xED\xA0\x80") ==
        k_replacement + k_replacement + k_replacement);                      // a surrogate
  CHECK(valid_utf8("\xF4\x90\x80\x80").size() == 4 * k_replacement.size());  // above U+10FFFF
  CHECK(valid_utf8("\xE5\x88x") == k_replacement + k_replacement + "x");     // resynchronises
}

TEST_CASE("dump_json never throws on bytes that are not UTF-8") {
  nlohmann::json value = {{"stdout", "\xC7\xD0\xBB\xBB"}};
  CHECK_THROWS(value.dump());
  CHECK(dump_json(value) ==
        "{\"stdout\":\"" + valid_utf8("\xC7\xD0\xBB\xBB") + "\"}");  // the same replacement
}
