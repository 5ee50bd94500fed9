#!/usr/bin/env bash
# The http kind against a real local HTTP server, and the demo switchover end to end.
. "$(dirname "$0")/lib.sh"
start_fixture a a
start_fixture b b
start_fixture flaky b --fail-first 2
A="http://127.0.0.1:$PORT_a"; B="http://127.0.0.1:$PORT_b"; F="http://127.0.0.1:$PORT_flaky"
refused="http://127.0.0.1:$(closed_port)"

probe() {  # probe NAME EXIT SPEC [ENTRY KEYS]
  printf 'version: 1\nname: http\nchecks:\n  - name: %s\n%s    http: %s\n' "$1" "${4:-}" "$3" > "$WORK/$1.yaml"
  check "$1" "$2" check --output json "$WORK/$1.yaml"
}
status_of() { /usr/bin/python3 -c 'import json,sys; c=json.load(open(sys.argv[1]))["checks"][0]; print(c["status"]+"|"+c["message"])' "$WORK/$1.out"; }
expect_status() {  # expect_status NAME STATUS MESSAGE-PART
  local got; got=$(status_of "$1")
  if [[ $got == "$2|"*"$3"* ]]; then pass "$1 is $2"; else fail "$1: got '$got', expected $2 with '$3'"; fi
}

probe get-ok 0 "{url: \"$B/site\", expect_body_contains: site=b}"
expect_status get-ok ok "GET $B/site: status 200"
probe wrong-status 1 "{url: \"$B/status/503\"}"
expect_status wrong-status failed "status 503 (expected 2xx)"
probe listed-status 0 "{url: \"$B/status/404\", expect_status: [200, 404]}"
probe wrong-body 1 "{url: \"$A/site\", expect_body_contains: site=b}"
expect_status wrong-body failed "does not contain 'site=b'"
probe refused 1 "{url: \"$refused/health\"}"
expect_status refused unreachable "GET $refused/health: connection failed"
probe slow 1 "{url: \"$B/delay/3000\"}" "    timeout: 300ms
"
expect_status slow timeout "timed out after"
probe post 0 "{method: POST, url: \"$B/echo\", body: ping-body, expect_body_contains: ping-body}"
probe retried 0 "{url: \"$F/counter\"}" "    retries: 3
    retry_delay: 10ms
"
attempts=$(/usr/bin/python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["checks"][0]["attempts"])' "$WORK/retried.out")
[ "$attempts" = "3" ] && pass "503, 503, then 200: ok on attempt 3" || fail "attempts: $attempts"
probe unresolvable 1 "{url: \"http://no-such-host.invalid/\"}"
expect_status unresolvable unreachable "cannot resolve host"

# The demo switchover: A -> B against two real servers, then a failed verify rolls back.
state="$WORK/demo-state"
check demo 0 run --yes --var primary="$A" --var backup="$B" --var state="$state" "$SOURCE_DIR/playbooks/examples/demo.yaml"
[ "$(cat "$state/route")" = "$B" ] && pass "demo: the route points at site B" || fail "demo route: $(cat "$state/route" 2>/dev/null)"
[ -e "$state/frozen" ] && fail "demo: writes still frozen" || pass "demo: writes unfrozen"
contains "demo: SLA verdict" "$WORK/demo.out" "of 23s"

state2="$WORK/demo-state2"
mkdir -p "$state2" && echo "$A" > "$state2/route"
# "backup" that passes the checks (site=b) but verify points at site A: verify fails, rollback restores.
cp "$SOURCE_DIR/playbooks/examples/demo.yaml" "$WORK/demo-broken.yaml"
sed -i 's#url: ${vars.backup}/site\n      expect_body_contains: site=b#&#' "$WORK/demo-broken.yaml"
/usr/bin/python3 - "$WORK/demo-broken.yaml" "$A" <<'PY'
import sys
p, a = sys.argv[1], sys.argv[2]
s = open(p).read()
i = s.index("- name: verify-traffic-on-backup")
s = s[:i] + s[i:].replace("url: ${vars.backup}/site", "url: " + a + "/site", 1).replace("retries: 5", "retries: 1", 1)
open(p, "w").write(s)
PY
check demo-rollback 2 run --yes --var primary="$A" --var backup="$B" --var state="$state2" "$WORK/demo-broken.yaml"
[ "$(cat "$state2/route")" = "$A" ] && pass "rollback restored the route to site A" || fail "route after rollback: $(cat "$state2/route")"
[ -e "$state2/frozen" ] && fail "rollback left writes frozen" || pass "rollback unfroze writes"
finish
