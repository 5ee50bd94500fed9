#!/usr/bin/env bash
# sla.write_probe against a write target that misbehaves on request (tests/support/write_store.py):
# every outcome class, lost writes named exactly, duplicates, the write gap and its step, a
# verifier that is down or answers garbage ("not verified", exit 7, never "0 lost"), the
# thresholds, validation, and the reports (JSON schema, JUnit, a real Pushgateway).
. "$(dirname "$0")/lib.sh"
require_tool python3

setsid python3 "$SOURCE_DIR/tests/support/write_store.py" "$WORK/store.port" </dev/null >"$WORK/store.log" 2>&1 &
STARTED_PIDS+=($!)
for _ in $(seq 100); do [ -s "$WORK/store.port" ] && break; sleep 0.05; done
STORE="http://127.0.0.1:$(cat "$WORK/store.port")"
admin() { curl -s -o /dev/null -X POST "$STORE/admin/$1"; }
"$DRCTL" schema report > "$WORK/schema.json"

# playbook NAME STEPS [PROBE EXTRA LINES]: a playbook whose write probe writes to the store.
playbook() {
  cat > "$WORK/$1.yaml" <<YAML
version: 1
name: $1
sla:
  write_probe:
    url: $STORE/orders
    interval: 20ms
    timeout: 500ms
    verify_url: ${VERIFY_URL:-$STORE/orders/{key\}}
${3:-}
steps:
$2
YAML
}
# A step that runs a shell command (and changes nothing drctl must undo).
step() { printf '  - name: %s\n    read_only: true\n    exec: {command: "%s", shell: true}\n' "$1" "$2"; }
wait_step() { step "$1" "sleep $2"; }
admin_step() { step "$1" "curl -s -o /dev/null -X POST $STORE/admin/$2; sleep $3"; }
py() { python3 -c "import json,sys; r=json.load(open(sys.argv[1])); w=r['sla']['write_probe']; print($2)" "$WORK/$1.out"; }
valid() {
  if python3 -c 'import json,sys,jsonschema; jsonschema.validate(json.load(open(sys.argv[1])), json.load(open(sys.argv[2])))' "$WORK/$1.out" "$WORK/schema.json" 2>"$WORK/$1.schema"; then
    pass "$1: the JSON report validates against drctl schema report"
  else fail "$1: the JSON report does not validate" "$(tail -3 "$WORK/$1.schema")"; fi
}
same() {  # same DESCRIPTION GOT WANTED
  [ "$2" = "$3" ] && pass "$1" || fail "$1: got '$2', expected '$3'"
}

# --- validation: a probe that cannot read its writes back is refused, located
cat > "$WORK/noverify.yaml" <<YAML
version: 1
name: noverify
sla:
  write_probe:
    url: $STORE/orders
steps:
  - {name: s, read_only: true, exec: {argv: ["true"]}}
YAML
check "no verify_url nor verify_sql" 65 validate "$WORK/noverify.yaml"
contains "the error is located and says why" "$WORK/no verify_url nor verify_sql.err" "noverify.yaml:4:3: sla.write_probe: needs verify_url or verify_sql"
sed -i "s|    url: $STORE/orders|    url: $STORE/orders\n    verify_url: $STORE/orders/KEY|" "$WORK/noverify.yaml"
check "verify_url without {key}" 65 validate "$WORK/noverify.yaml"
contains "it names the key and the line" "$WORK/verify_url without {key}.err" "noverify.yaml:6:17: sla.write_probe.verify_url: must contain {key}"
sed -i "s|    verify_url: $STORE/orders/KEY|    verify_sql: {user: app, query: 'SELECT 1'}|" "$WORK/noverify.yaml"
check "verify_sql without {key}" 65 validate "$WORK/noverify.yaml"
contains "the query must count the key" "$WORK/verify_sql without {key}.err" "sla.write_probe.verify_sql: query must contain {key}"
sed -i "s|    verify_sql: {user: app, query: 'SELECT 1'}|    verify_sql: {user: app, query: 'SELECT {key}'}\n    verify_url: $STORE/orders/{key}|" "$WORK/noverify.yaml"
check "both verify_url and verify_sql" 65 validate "$WORK/noverify.yaml"
contains "one verifier only" "$WORK/both verify_url and verify_sql.err" "has both verify_url and verify_sql: give one"

sed -i "s|^    verify_sql: {user: app, query: 'SELECT {key}'}$|    method: PSOT|" "$WORK/noverify.yaml"
check "a write method that is not one" 65 validate "$WORK/noverify.yaml"
contains "the method is named, with the ones allowed" "$WORK/a write method that is not one.err" "sla.write_probe.method"

# --- a clean run: every write acknowledged and read back
playbook clean "$(wait_step a 0.3; wait_step b 0.3)"
check clean 0 run "$WORK/clean.yaml" --yes --output json
valid clean
same "clean: every write sent was acknowledged" "$(py clean 'w["attempts"] == w["acknowledged"] and w["attempts"] >= 25')" True
same "clean: 0 lost, verified by url, verdict met" "$(py clean '(w["lost"], w["verification"]["verified"], w["verification"]["checked"] == w["acknowledged"], w["verdict"])')" "(0, True, True, 'met')"
same "clean: the store holds every acknowledged key" "$(py clean 'w["acknowledged"]')" "$(curl -s "$STORE/admin/keys" | grep -c "$(py clean 'r["run_id"]')-")"
same "clean: the series has a point per 20 ms bucket, in order" "$(py clean 'w["series"]["bucket_ms"] == 20 and [p[0] for p in w["series"]["points"]] == sorted(p[0] for p in w["series"]["points"]) and sum(p[1] for p in w["series"]["points"]) == w["acknowledged"]')" True
contains "clean: the summary says nothing was lost" "$WORK/clean.out" "0 of $(py clean 'w["acknowledged"]') acknowledged writes lost"

# --- acknowledged, then lost: named exactly
playbook lose "$(wait_step before 0.2; admin_step lose write/lose 0.3; admin_step heal write/ok 0.2)"
check lose 4 run "$WORK/lose.yaml" --yes --output json
valid lose
curl -s "$STORE/admin/lost" | grep "$(py lose 'r["run_id"]')-" | sort > "$WORK/lost.expected"
py lose '"\n".join(sorted(w["lost_keys"]))' > "$WORK/lost.got"
same "lose: the lost keys are exactly the acknowledged writes the store dropped" "$(cat "$WORK/lost.got")" "$(cat "$WORK/lost.expected")"
same "lose: at least 5 of them, lost_exceeded, verdict breached" "$(py lose '(w["lost"] >= 5, w["lost"] == len(w["lost_keys"]), w["lost_exceeded"], w["verdict"], r["result"])')" "(True, True, True, 'breached', 'sla_breached')"
contains "lose: the summary names the first lost key" "$WORK/lose.out" "acknowledged write(s) lost, at most 0 allowed ($(head -1 "$WORK/lost.expected")"
check "lose text" 0 show "$(py lose 'r["run_id"]')"
contains "lose: show lists the lost keys" "$WORK/lose text.out" "lost keys: $(head -1 "$WORK/lost.expected")"
contains "lose: show says BREACHED" "$WORK/lose text.out" "BREACHED"

# --- refused, unknown and duplicated writes, each in its class, attributed to its step
playbook classes "$(wait_step before 0.2; admin_step refuse write/fail 0.6; admin_step heal write/ok 0.2; admin_step gateway write/bad_gateway 0.2; admin_step hang write/hang 0.15; admin_step dup write/dup 0.1; admin_step end write/ok 0.1)" \
  "    max_write_gap: 5s"
check classes 0 run "$WORK/classes.yaml" --yes --output json --junit "$WORK/classes.xml"
valid classes
same "classes: 503s are failed writes, during step refuse" "$(py classes 'w["errors_by_class"].get("failed: http 503", 0) >= 10 and w["failures_by_entry"]["step refuse"] >= 10')" True
same "classes: 502s are unknown outcomes (a proxy lost its upstream)" "$(py classes 'w["errors_by_class"].get("unknown: http 502", 0) >= 2')" True
same "classes: writes that timed out are unknown, and those that landed are counted" "$(py classes '(w["errors_by_class"].get("unknown: timeout", 0) >= 2, w["unknown_landed"] >= 2)')" "(True, True)"
same "classes: attempts add up" "$(py classes 'w["acknowledged"] + w["failed"] + w["unknown"] == w["attempts"]')" True
same "classes: duplicated writes are found and listed" "$(py classes '(w["duplicates"] >= 1, len(w["duplicate_keys"]) == w["duplicates"])')" "(True, True)"
same "classes: nothing acknowledged was lost" "$(py classes '(w["lost"], w["verdict"])')" "(0, 'met')"
# The longest gap: the refusal (>= 300 ms) began in step refuse, inside that step's own time.
same "classes: the longest write gap began in step refuse, inside its start and end" \
  "$(py classes '(w["longest_write_gap_during"], w["longest_write_gap_ms"] >= 580, [s for s in r["steps"] if s["name"] == "refuse"][0]["started_at"] <= w["longest_write_gap_started_at"] <= [s for s in r["steps"] if s["name"] == "refuse"][0]["finished_at"])')" \
  "('step refuse', True, True)"
contains "classes: JUnit has the write probe's test case" "$WORK/classes.xml" '<testcase name="write_probe" classname="classes.sla.write_probe"'
contains "classes: ... passed, with its figures" "$WORK/classes.xml" "lost 0; duplicates"

# --- how an answer is framed (drctl's own HTTP/1.1 client for plain http://): chunks, a
# Connection: close, a body to the close, and a kept-alive connection the server closes
# unannounced (the next write on it is sent again on a new connection: acknowledged, stored
# once); an answer that is not HTTP is an unknown outcome that landed. (A write sent as a step
# ends may be answered after the next step's mode is set: step settle keeps such a write of
# step idle_close out of the garbage.)
playbook wire "$(admin_step chunked write/chunked 0.3; admin_step close write/close 0.3; admin_step to_close write/to_close 0.3; admin_step idle_close write/idle_close 0.3; admin_step settle write/ok 0.2; admin_step garbage write/garbage 0.2; admin_step end write/ok 0.1)" \
  "    max_write_gap: 5s"
check wire 0 run "$WORK/wire.yaml" --yes --output json
for step_name in chunked close to_close idle_close; do
  same "wire: every write during $step_name acknowledged" "$(py wire 'w["failures_by_entry"].get("step '$step_name'", 0)')" 0
done
same "wire: a non-HTTP answer is an unknown outcome (garbage), found landed" \
  "$(py wire '(list(w["errors_by_class"]), w["errors_by_class"]["unknown: garbage"] >= 3, w["unknown_landed"] >= 3)')" "(['unknown: garbage'], True, True)"
same "wire: nothing lost, nothing sent twice" "$(py wire '(w["lost"], w["duplicates"], w["verdict"])')" "(0, 0, 'met')"
# A host name is resolved (localhost: ::1 refused, then 127.0.0.1); one that does not resolve
# is a failed write (it never left), not an unknown one.
admin write/ok
playbook by_name "$(wait_step before 0.3)" "    max_write_gap: 5s"
sed -i "s|url: http://127.0.0.1:|url: http://localhost:|" "$WORK/by_name.yaml"
check by_name 0 run "$WORK/by_name.yaml" --yes --output json
same "by name: localhost's writes acknowledged" "$(py by_name '(w["acknowledged"] > 5, w["failed"] + w["unknown"])')" "(True, 0)"
playbook no_name "$(wait_step before 0.2)" "    max_write_gap: 5s"
sed -i "s|url: http://127.0.0.1:[0-9]*/orders|url: http://no-such-host.invalid/orders|" "$WORK/no_name.yaml"
check no_name 4 run "$WORK/no_name.yaml" --yes --output json
same "no such host: failed writes (resolve), never unknown" "$(py no_name 'list(w["errors_by_class"])')" "['failed: resolve']"
# With a proxy in the environment the writes go through libcurl, which uses it: here a closed
# port, so every write is refused.
admin write/ok
playbook proxied "$(wait_step before 0.2)" "    max_write_gap: 5s"
http_proxy="http://127.0.0.1:$(closed_port)" check proxied 4 run "$WORK/proxied.yaml" --yes --output json
same "proxy: http_proxy is honoured (libcurl's path): refused at the proxy" "$(py proxied 'list(w["errors_by_class"])')" "['failed: refused']"

# --- the write gap over max_write_gap is a breach
playbook gap "$(admin_step refuse write/fail 0.6; admin_step heal write/ok 0.2)" "    max_write_gap: 200ms"
check gap 4 run "$WORK/gap.yaml" --yes --output json
same "gap: write_gap_exceeded, verdict breached" "$(py gap '(w["write_gap_exceeded"], w["verdict"], w["lost"])')" "(True, 'breached', 0)"
contains "gap: the summary says for how long and from which step" "$WORK/gap.out" "from step refuse), over 200ms"

# --- a gap still open when the steps end: waited on (up to max_write_gap); writes that never
# come back are a breach, writes that come back soon after are not
playbook open_gap "$(wait_step before 0.1; admin_step refuse write/fail 0.3)" "    max_write_gap: 1s"
check open_gap 4 run "$WORK/open_gap.yaml" --yes --output json
admin write/ok
same "open gap: never recovered, waited on for max_write_gap, a breach" \
  "$(py open_gap '(w["longest_write_gap_recovered"], w["longest_write_gap_during"], w["longest_write_gap_ms"] >= 1000, w["write_gap_exceeded"], w["verdict"])')" \
  "(False, 'step refuse', True, True, 'breached')"
contains "open gap: the summary says they never came back" "$WORK/open_gap.out" "they never came back"
# The last step leaves a mark; writes come back 0.3 s after it, within max_write_gap, however
# slowly the run started (a sanitizer build under load).
playbook late "$(wait_step before 0.1; admin_step refuse write/fail 0.2; step mark "touch $WORK/late.done")" "    max_write_gap: 5s"
(for _ in $(seq 200); do [ -e "$WORK/late.done" ] && break; sleep 0.05; done; sleep 0.3; admin write/ok) &
healer=$!
check late 0 run "$WORK/late.yaml" --yes --output json
wait "$healer"
same "late recovery: the probe kept writing after the steps until one was acknowledged" \
  "$(py late '(w["longest_write_gap_recovered"], w["verdict"], w["failures_by_entry"].get("after the run", 0) > 0)')" "(True, 'met', True)"

# --- nothing acknowledged proves nothing: never "0 lost"
playbook none_acked "$(wait_step refused 0.3)" "    max_write_gap: 200ms"
admin write/fail
check none_acked 4 run "$WORK/none_acked.yaml" --yes --output json
admin write/ok
same "nothing acknowledged: not verified, lost null (and writes never came back: a breach)" \
  "$(py none_acked '(w["acknowledged"], w["verification"]["verified"], w["lost"], w["verification"]["why_not"])')" \
  "(0, False, None, 'no write was acknowledged: there is nothing to read back')"

# --- on_breach: warn forgives slowness, not lost writes, and not writes left unverified
playbook warn_lost "$(wait_step before 0.1; admin_step lose write/lose 0.2; admin_step heal write/ok 0.1)"
sed -i 's/^sla:$/sla:\n  on_breach: warn/' "$WORK/warn_lost.yaml"
check warn_lost 4 run "$WORK/warn_lost.yaml" --yes --output json
same "warn: lost writes still end sla_breached" "$(py warn_lost '(r["result"], w["lost"] > 0)')" "('sla_breached', True)"
playbook warn_unverified "$(wait_step slow 0.3; admin_step "break" verify/garbage 0)" "    max_write_gap: 5s"
sed -i 's/^sla:$/sla:\n  on_breach: warn\n  total: 100ms/' "$WORK/warn_unverified.yaml"
check warn_unverified 7 run "$WORK/warn_unverified.yaml" --yes --output json
admin verify/ok
same "warn: over sla.total with writes not read back ends not_verified, not success" "$(py warn_unverified '(r["result"], r["sla"]["total_exceeded"])')" "('not_verified', True)"

# --- a verifier's 200 without a count is not "present"
playbook soft404 "$(wait_step before 0.2; admin_step "break" verify/soft404 0)"
check soft404 7 run "$WORK/soft404.yaml" --yes --output json
admin verify/ok
same "soft 404: 200 without a count is not read back" "$(py soft404 '(w["verdict"], w["lost"], "without a whole-number `count`" in w["verification"]["why_not"])')" "('not_verified', None, True)"

# --- what reading back needs is found before the first step
cat > "$WORK/badsql.yaml" <<YAML
version: 1
name: badsql
sla:
  write_probe:
    url: $STORE/orders
    verify_sql: {port: 9, user: app, password_file: $WORK/no-such-file, query: "SELECT COUNT(*) FROM t WHERE k = {key}"}
steps:
  - {name: s, exec: {argv: ["touch", "$WORK/badsql-ran"]}, rollback: {exec: {argv: ["true"]}}}
YAML
check badsql 1 run "$WORK/badsql.yaml" --yes
contains "verify_sql's unreadable password: named before any step" "$WORK/badsql.out" "result: checks_failed (exit 1): sla.write_probe: verify_sql: password: cannot read secret file"
[ ! -e "$WORK/badsql-ran" ] && pass "verify_sql's unreadable password: no step ran" || fail "verify_sql's unreadable password: a step ran"

# --- a verifier that answers garbage, errors, or is down: not verified, exit 7, lost null
for mode in garbage error; do
  playbook "verify_$mode" "$(wait_step before 0.2; admin_step "break" "verify/$mode" 0)"
  check "verify_$mode" 7 run "$WORK/verify_$mode.yaml" --yes --output json --junit "$WORK/verify_$mode.xml"
  admin verify/ok
  valid "verify_$mode"
  same "verify $mode: not_verified, lost is null (never 0), every write unverified" \
    "$(py "verify_$mode" '(r["result"], w["verdict"], w["lost"], w["verification"]["unverified"] == w["acknowledged"] > 0)')" \
    "('not_verified', 'not_verified', None, True)"
  contains "verify $mode: JUnit marks it an error, not a pass" "$WORK/verify_$mode.xml" '<error type="not_verified"'
done
contains "verify garbage: the reason names the answer" "$WORK/verify_garbage.out" "answered 200 with a body that is not JSON"
VERIFY_URL="http://127.0.0.1:$(closed_port)/orders/{key}" playbook verify_down "$(wait_step before 0.2)"
check verify_down 7 run "$WORK/verify_down.yaml" --yes
contains "verify down: the text says NOT VERIFIED and why" "$WORK/verify_down.out" "not verified: "
contains "verify down: ... the verifier could not be reached" "$WORK/verify_down.out" "connection failed"
lacks "verify down: never '0 of' lost" "$WORK/verify_down.out" "lost: 0 of"
contains "verify down: the result line says data loss is unknown" "$WORK/verify_down.out" "result: not_verified (exit 7): all 1 steps completed, but data loss is unknown"

# --- a verify_url with a wrong path (404 without a count) is not evidence of loss
VERIFY_URL="$STORE/order/{key}" playbook wrong_path "$(wait_step before 0.2)"
check wrong_path 7 run "$WORK/wrong_path.yaml" --yes --output json
same "wrong verify path: not verified, never 'all lost'" "$(py wrong_path '(w["verdict"], w["lost"], "without a `count` of 0 (a wrong path?)" in w["verification"]["why_not"])')" "('not_verified', None, True)"

# --- interrupted: nothing is read back, and nothing is claimed
playbook interrupted "$(wait_step long 5)"
"$DRCTL" run "$WORK/interrupted.yaml" --yes --output json >"$WORK/interrupted.out" 2>"$WORK/interrupted.err" </dev/null &
pid=$!
# Interrupt once the step runs (its child exists), not a fixed time after the start: under
# ASan, drctl may not have its handler yet, and a background job's SIGINT is ignored.
for _ in $(seq 600); do pgrep -P "$pid" >/dev/null && break; sleep 0.01; done
sleep 0.3; kill -INT "$pid"; wait "$pid"; RC=$?
LAST=interrupted; expect_rc "interrupted run" 130
same "interrupted: the writes are not verified, lost null" "$(py interrupted '(w["verdict"], w["lost"], w["verification"]["why_not"])')" \
  "('not_verified', None, 'the run was interrupted before the writes were read back')"

# --- interrupted while reading back, after every step: the switch is done, and says so
playbook late_interrupt "$(wait_step only 0.2; admin_step slow verify/slow 0; step mark "touch $WORK/late_interrupt.done")"
"$DRCTL" run "$WORK/late_interrupt.yaml" --yes --output json >"$WORK/late_interrupt.out" 2>"$WORK/late_interrupt.err" </dev/null &
pid=$!
# Once the last step is done the probe reads back, 1.5 s a key: interrupt it there.
for _ in $(seq 200); do [ -e "$WORK/late_interrupt.done" ] && break; sleep 0.05; done
sleep 0.5; kill -INT "$pid"; wait "$pid"; RC=$?
admin verify/ok
LAST=late_interrupt; expect_rc "interrupted while reading back" 130
same "interrupted while reading back: the steps are done, nothing rolled back, writes not verified" \
  "$(py late_interrupt '(r["summary"].startswith("interrupted, but all 3 steps completed"), w["verdict"], w["lost"])')" "(True, 'not_verified', None)"

# --- a real Pushgateway gets the write figures
if command -v prometheus-pushgateway >/dev/null; then
  pgw_port=$(closed_port)
  setsid prometheus-pushgateway --web.listen-address="127.0.0.1:$pgw_port" --persistence.file="$WORK/pgw.data" </dev/null >"$WORK/pgw.log" 2>&1 &
  STARTED_PIDS+=($!)
  for _ in $(seq 100); do curl -s -o /dev/null "http://127.0.0.1:$pgw_port/metrics" && break; sleep 0.05; done
  check "pushed" 0 run "$WORK/clean.yaml" --yes --push-metrics "http://127.0.0.1:$pgw_port"
  curl -s "http://127.0.0.1:$pgw_port/metrics" > "$WORK/pgw.metrics"
  contains "pushgateway: drctl_writes_lost 0" "$WORK/pgw.metrics" 'drctl_writes_lost{instance="",job="drctl",playbook="clean"} 0'
  contains "pushgateway: acknowledged writes by outcome" "$WORK/pgw.metrics" 'drctl_writes_total{instance="",job="drctl",outcome="acknowledged",playbook="clean"}'
  contains "pushgateway: verified" "$WORK/pgw.metrics" 'drctl_writes_verified{instance="",job="drctl",playbook="clean"} 1'
  check "pushed unverified" 7 run "$WORK/verify_down.yaml" --yes --push-metrics "http://127.0.0.1:$pgw_port"
  curl -s "http://127.0.0.1:$pgw_port/metrics" > "$WORK/pgw2.metrics"
  lacks "pushgateway: an unverified run pushes no drctl_writes_lost sample" "$WORK/pgw2.metrics" 'drctl_writes_lost{instance="",job="drctl",playbook="verify_down"}'
  contains "pushgateway: ... and drctl_writes_verified 0" "$WORK/pgw2.metrics" 'drctl_writes_verified{instance="",job="drctl",playbook="verify_down"} 0'
fi
finish
