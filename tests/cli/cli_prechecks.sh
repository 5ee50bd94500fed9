#!/usr/bin/env bash
# The three baselines in one playbook against real servers: a Consul API, a MariaDB primary
# and replica, a gRPC server. One line per check with its measured value; the JSON the same.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/mariadb.sh"
. "$(dirname "$0")/sites.sh"
require_tool mariadbd
start_sites

check prechecks 0 check "${SITE_VARS[@]}" "$SOURCE_DIR/playbooks/examples/prechecks.yaml"
contains "consul line: passing count" "$WORK/prechecks.out" "3 of 3 instance(s) passing, need 3"
contains "mysql line: lag in ms" "$WORK/prechecks.out" "ms (heartbeat written now), max 200 ms"
contains "grpc line: status" "$WORK/prechecks.out" ": SERVING (connect"
grep -cE 'check +(consul-backup-passing|replica-lag|backup-grpc-serving) ok in [0-9.]+m?s' "$WORK/prechecks.out" | grep -qx 3 \
  && pass "one result line per check with its duration" || fail "result lines" "$(cat "$WORK/prechecks.out")"
check prechecks-json 0 check --output json "${SITE_VARS[@]}" "$SOURCE_DIR/playbooks/examples/prechecks.yaml"
if /usr/bin/python3 - "$WORK/prechecks-json.out" <<'PY'
import json, sys
checks = {c["name"]: c for c in json.load(open(sys.argv[1]))["checks"]}
assert checks["consul-backup-passing"]["evidence"]["instances_passing"] == 3
assert 0 < checks["replica-lag"]["evidence"]["lag_ms"] < 200
assert checks["backup-grpc-serving"]["evidence"]["targets"][0]["status"] == "SERVING"
starts = sorted(c["started_at"] for c in checks.values())
PY
then pass "JSON carries each measured value"; else fail "JSON evidence"; fi

# One site not ready: the gate closes, and the report says which and why.
sql replica "STOP SLAVE SQL_THREAD"
check replica-stopped 1 check "${SITE_VARS[@]}" "$SOURCE_DIR/playbooks/examples/prechecks.yaml"
contains "the failing check is named" "$WORK/replica-stopped.out" "result: checks_failed (exit 1): check 'replica-lag'"
sql replica "START SLAVE SQL_THREAD"
finish
