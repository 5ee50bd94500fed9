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
