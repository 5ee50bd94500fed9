#!/usr/bin/env bash
# What `drctl plan` shows before anything runs: the lock and `sla.probe` (text and JSON), columns
# that stay aligned with long kind names, targets and exec commands in full, a multi-line
# command on one line; and `drctl help` without a topic listing the topics.
. "$(dirname "$0")/lib.sh"
require_tool python3

long_target=/config/payments/a-very-long-prefix-that-used-to-be-cut-at-forty-characters/
cat > "$WORK/plan.yaml" <<YAML
version: 1
name: plan-shows-all
lock: {etcd: {endpoints: ["127.0.0.1:2379", "127.0.0.1:22379"]}, key: /drctl/locks/payments, ttl: 20s}
sla:
  total: 30s
  probe: {url: "http://127.0.0.1:8080/health", interval: 50ms, timeout: 1s, p99: 800ms, max_error_rate: "1%"}
checks:
  - {name: db-ok, exec: {argv: [mariadb, --host, db-b, -e, "SELECT 1"]}}
  - {name: tools, on_resume: run, exec: {argv: ["true"]}}
steps:
  - name: handoff
    budget: 3s
    etcd_watch_handoff:
      from: {endpoints: ["127.0.0.1:2379"]}
      to: {endpoints: ["127.0.0.1:22379"]}
      prefix: $long_target
  - name: promote
    budget: 2s
    exec:
      shell: true
      command: mariadb -e "STOP SLAVE; SET GLOBAL read_only = 0"
    rollback:
      exec:
        shell: true
        command: |
          mariadb -e "SET GLOBAL read_only = 1"
          mariadb -e "START SLAVE"
YAML
check plan 0 plan "$WORK/plan.yaml"
contains "plan: on_resume: run" "$WORK/plan.out" "on_resume: run (a resumed run that changed something runs it too)"
contains "plan: the lock" "$WORK/plan.out" "lock: /drctl/locks/payments on etcd 127.0.0.1:2379,127.0.0.1:22379, ttl 20s"
contains "plan: the availability probe" "$WORK/plan.out" "probe: GET http://127.0.0.1:8080/health every 50ms (timeout 1s), P99 budget 800ms, max error rate 1%"
contains "plan: the SLA" "$WORK/plan.out" "sla: total 30s, on breach fail"
contains "plan: a target in full" "$WORK/plan.out" "$long_target"
lacks "plan: nothing cut" "$WORK/plan.out" "~"
contains "plan: an exec check shows its command" "$WORK/plan.out" "run mariadb --host db-b -e 'SELECT 1'"
contains "plan: an exec step shows its command" "$WORK/plan.out" "run /bin/sh -c 'mariadb -e \"STOP SLAVE; SET GLOBAL read_only = 0\"'"
contains "plan: a multi-line rollback on one line" "$WORK/plan.out" \
  "rollback: run /bin/sh -c 'mariadb -e \"SET GLOBAL read_only = 1\"\\nmariadb -e \"START SLAVE\"\\n'"
# Every row's columns start where the header's do, whatever the length of the kind's name.
python3 - "$WORK/plan.out" <<'PY' 2>"$WORK/columns.err" && pass "plan: columns aligned under the header" || fail "plan: columns" "$(cat "$WORK/columns.err")"
import re, sys
lines = open(sys.argv[1]).read().splitlines()
header = next(l for l in lines if l.startswith("#"))
starts = [m.start() for m in re.finditer(r"\S+", header)]
rows = [l for l in lines if re.match(r"^\d+ ", l)]
assert len(rows) == 4, rows
for row in rows:
    for name, start in zip(["PHASE", "NAME", "KIND", "ACTION"], [starts[1], starts[2], starts[3], starts[7]]):
        assert row[start - 2:start] == "  " and row[start] != " ", (name, row)
PY
check plan-json 0 plan --output json "$WORK/plan.yaml"
python3 - "$WORK/plan-json.out" <<'PY' 2>"$WORK/plan-json.err" && pass "plan --output json: lock, sla and probe" || fail "plan json" "$(cat "$WORK/plan-json.err")"
import json, sys
d = json.load(open(sys.argv[1]))
assert d["lock"] == {"key": "/drctl/locks/payments", "endpoints": ["127.0.0.1:2379", "127.0.0.1:22379"], "ttl_ms": 20000}, d["lock"]
p = d["sla"]["probe"]
assert p["url"] == "http://127.0.0.1:8080/health" and p["interval_ms"] == 50 and p["timeout_ms"] == 1000, p
assert p["p99_ms"] == 800 and abs(p["max_error_rate"] - 0.01) < 1e-9, p
assert d["sla"]["total_ms"] == 30000 and d["sla"]["on_breach"] == "fail" and d["sla_total_ms"] == 30000
assert d["entries"][3]["rollback"].count("\n") == 2  # JSON keeps the command as it is
assert d["entries"][0]["on_resume"] == "skip" and d["entries"][1]["on_resume"] == "run"
PY
check plan-nolock 0 plan "$SOURCE_DIR/playbooks/examples/demo.yaml"
contains "plan: says when there is no lock" "$WORK/plan-nolock.out" "lock: none"
contains "plan: says when there is no probe" "$WORK/plan-nolock.out" "probe: none"
check plan-nolock-json 0 plan --output json "$SOURCE_DIR/playbooks/examples/demo.yaml"
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["lock"] is None and d["sla"]["probe"] is None' "$WORK/plan-nolock-json.out" \
  && pass "plan --output json: null lock and probe" || fail "plan json without lock"

check help 0 help
contains "help: lists the topics" "$WORK/help.out" "playbook [KIND]"
contains "help: lists exit-codes" "$WORK/help.out" "exit-codes"
contains "help: names the kinds" "$WORK/help.out" "prewarm"
check help-bad-topic 64 help nonsense
finish
