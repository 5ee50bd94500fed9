#include <doctest/doctest.h>
#include <stdlib.h>

#include <fstream>

#include "util/secrets.hpp"

using namespace drctl;

TEST_CASE("secrets read from env and files are masked everywhere") {
  ::setenv("DRCTL_UNIT_SECRET", "s3cr3t-from-env-91f", 1);
  auto from_env = secret_from_env("DRCTL_UNIT_SECRET");
  REQUIRE(from_env.has_value());
  CHECK(redact("password=s3cr3t-from-env-91f;") == "password=***;");

  std::string path = "/tmp/drctl-unit-secret-file";
  std::ofstream(path) << "file-secret-77ab\n";
  auto from_file = secret_from_file(path);
  REQUIRE(from_file.has_value());
  CHECK(*from_file == "file-secret-77ab");  // the trailing newline is not part of it
  CHECK(redact("x file-secret-77ab file-secret-77ab") == "x *** ***");
  std::remove(path.c_str());
}

TEST_CASE("missing secrets are errors that name the source, not a value") {
  ::unsetenv("DRCTL_UNIT_MISSING");
  auto missing = secret_from_env("DRCTL_UNIT_MISSING");
  REQUIRE_FALSE(missing.has_value());
  CHECK(missing.error() == "environment variable DRCTL_UNIT_MISSING is not set");
  CHECK_FALSE(secret_from_file("/nonexistent/drctl").has_value());
}

TEST_CASE("a numeric secret is masked value by value: the JSON stays valid") {
  register_secret("90817");
  nlohmann::json in = {{"pid", 9081766}, {"ok", 42}, {"list", {"x90817y", 1.5}}, {"90817", true}};
  auto out = redact_json(in);
  CHECK(out["pid"] == "***66");  // a number that held it is its masked text (was `"pid":***66`)
  CHECK(out["ok"] == 42);        // other numbers keep their type
  CHECK(out["list"][0] == "x***y");
  CHECK(out["list"][1] == 1.5);
  CHECK(out.contains("***"));  // keys too
  CHECK_NOTHROW(nlohmann::json::parse(out.dump()));
  CHECK(out.dump().find("90817") == std::string::npos);
}
