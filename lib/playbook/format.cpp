#include "playbook/format.hpp"

#include "clients/etcd_connection.hpp"

namespace drctl {
namespace {

Fields timing_fields() {
  return {
      Field::duration("timeout",
                      "Hard limit of one attempt; the action is stopped when it passes."),
      Field::integer("retries", "Further attempts after a failed one.").range(0, 100),
      Field::duration("retry_delay", "Pause between attempts."),
  };
}

}  // namespace

const Fields& top_level_fields() {
  static const Fields fields = {
      Field::integer("version", "Format version; this drctl reads 1.").mandatory().range(1, 1),
      Field::string("name", "Name of the playbook, shown in reports.").mandatory(),
      Field::string("description", "What the playbook switches, for humans."),
      Field::string_map("vars", "Values for ${vars.NAME}; --var NAME=VALUE overrides them."),
      Field::object("defaults", "Timing every check and step inherits.", timing_fields()),
      Field::object(
          "sla", "The service-level budget of the whole switch.",
          {
              Field::duration("total",
                              "Budget from the first step's start to the last step's end."),
              Field::string(
                  "on_breach",
                  "fail: a breach makes the run fail (exit 4); warn: it is reported only.")
                  .one_of({"fail", "warn"}),
              Field::boolean("exclude_approvals",
                             "Leave the time approval steps wait for an operator out of total "
                             "(it is reported apart either way).")
                  .defaults_to(false),
              Field::object(
                  "probe",
                  "Availability probe: from the first step to the end (rollbacks included), "
                  "request url every interval; judged by p99 and max_error_rate.",
                  {
                      Field::string("url", "What users reach (the entry point, e.g. the router).")
                          .mandatory(),
                      Field::duration("interval", "Between requests.").defaults_to("20ms"),
                      Field::duration("timeout", "Per request.").defaults_to("1s"),
                      Field::integer_list("expect_status",
                                          "Statuses that count as success (default 200-399)."),
                      Field::duration("p99", "Largest acceptable P99 latency."),
                      Field::string("max_error_rate",
                                    "Largest acceptable share of failed requests, e.g. \"1%\"."),
                  }),
              Field::object(
                  "write_probe",
                  "Write probe: from the first step to the end (rollbacks included), send a "
                  "write every interval; after the run, read every acknowledged write back. "
                  "Judged by max_lost and max_write_gap.",
                  {
                      Field::string("url", "Where users write (the entry point).").mandatory(),
                      Field::string("method", "HTTP method of a write.")
                          .one_of({"POST", "PUT", "PATCH"})
                          .defaults_to("POST"),
                      Field::duration("interval", "Between writes (a fixed rate).")
                          .defaults_to("100ms"),
                      Field::duration("timeout",
                                      "Per write; no answer by then is an unknown outcome.")
                          .defaults_to("1s"),
                      Field::string("body",
                                    "The write's body; {key} (unique per write) and {seq} (1, "
                                    "2, ...) are replaced.")
                          .defaults_to(R"({"key": "{key}", "seq": {seq}})"),
                      Field::string("content_type", "The body's Content-Type.")
                          .defaults_to("application/json"),
                      Field::integer_list("ack_status",
                                          "Statuses that acknowledge a write (default 200, 201)."),
                      Field::integer_list(
                          "unknown_status",
                          "Statuses whose outcome is unknown (default 502, 504: a proxy lost its "
                          "upstream mid-request); every other status is a failed write."),
                      Field::string("verify_url",
                                    "GET, {key} replaced: a JSON object's whole-number `count` "
                                    "(with 200, or 404 and 0) is the number of copies (0: "
                                    "absent); anything else is not read back."),
                      Field::object(
                          "verify_sql",
                          "Instead of verify_url: a query on the database that should hold "
                          "the writes (the new primary).",
                          {
                              Field::string("host", "Server host.").defaults_to("127.0.0.1"),
                              Field::integer("port", "Server port.")
                                  .range(1, 65535)
                                  .defaults_to(3306),
                              Field::string("socket", "Unix socket, instead of host and port."),
                              Field::string("user", "User name.").mandatory(),
                              Field::string("password_env",
                                            "Environment variable holding the password."),
                              Field::string("password_file", "File holding the password."),
                              Field::string("query",
                                            "Returns the number of copies of the write {key} "
                                            "(quoted for you), e.g. SELECT COUNT(*) FROM "
                                            "shop.orders WHERE idem_key = {key}.")
                                  .mandatory(),
                          }),
                      Field::duration("verify_timeout", "For the whole verification.")
                          .defaults_to("60s"),
                      Field::integer("max_lost", "Most acknowledged writes that may be lost.")
                          .range(0, 1'000'000'000)
                          .defaults_to(0),
                      Field::duration("max_write_gap",
                                      "Longest acceptable time from a failed write to the next "
                                      "acknowledged one."),
                  }),
          }),
      Field::object(
          "lock", "The run lock: an etcd key held with a lease while the run lasts.",
          {
              etcd_connection_field(
                  "etcd", "The etcd that holds the lock (reachable from every operator)."),
              Field::string("key", "The lock key, e.g. /drctl/locks/order-svc.").mandatory(),
              Field::duration("ttl",
                              "Lease time-to-live: a killed run's lock frees itself after it.")
                  .defaults_to("30s"),
              Field::string("journal_retention",
                            "The journals kept (local files and the etcd copy) after each run: "
                            "the number of finished runs of this playbook (e.g. 20), or an age "
                            "(30d, 12h). Unfinished and partial runs, and their chains, are "
                            "never pruned. Default: 100 runs."),
          }),
  };
  return fields;
}

const Fields& entry_fields(Role role) {
  static const Fields check_fields = [] {
    Fields f = {
        Field::string("name", "Unique name across checks and steps ([A-Za-z0-9_-]).").mandatory()};
    for (auto& t : timing_fields()) f.push_back(t);
    return f;
  }();
  static const Fields gate_fields = [] {
    Fields f = check_fields;
    f.push_back(Field::string("on_resume",
                              "skip: a resumed run that already changed the system does not run "
                              "this check again (its premise may be what the run changed); run: "
                              "it does.")
                    .one_of({"skip", "run"}));
    f.push_back(Field::duration("interval",
                                "drctl serve: this check's evaluation interval (default: serve's "
                                "--interval). Ignored by check and run."));
    f.push_back(Field::duration("min_interval",
                                "drctl serve: for a check that writes (a heartbeat, a canary), "
                                "the least time between two evaluations (default: serve's "
                                "--min-write-interval)."));
    return f;
  }();
  static const Fields step_fields = [] {
    Fields f = check_fields;
    f.push_back(Field::duration(
        "budget", "This step's share of the SLA; exceeding it is a recorded breach."));
    f.push_back(Field::boolean(
        "read_only",
        "The step changes nothing (e.g. an exec that only reads), so it needs no rollback."));
    return f;
  }();
  return role == Role::check ? gate_fields : step_fields;
}

const Fields& rollback_fields() {
  static const Fields fields = timing_fields();
  return fields;
}

}  // namespace drctl
