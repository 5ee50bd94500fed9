#!/usr/bin/env bash
# The fault suite: each fault made for real (a killed etcd leader, compaction, stopped replica
# threads, a Consul that errs, gRPC servers in every failing state, a broken proxy config, a
# route that never moves, signals, a concurrent run, a full journal) against a playbook that
# holds the run lock. For each: the exit code, the outcome class of the entry that met the
# fault (status and evidence.error), the journal (local and its etcd copy: started, the entry's
# end, the run's end, mode 0600) and the lock (released, or left to its ttl when killed).
. "$(dirname "$0")/../cli/lib.sh"
. "$(dirname "$0")/../cli/etcd.sh"
. "$(dirname "$0")/../cli/mariadb.sh"
. "$(dirname "$0")/../cli/nginx.sh"
for tool in etcd etcdctl nginx mariadbd mariadb-install-db; do require_tool "$tool"; done
: "${FIXTURE_CONSUL:?}" "${FIXTURE_GRPC:?}"
WRITER="$SOURCE_DIR/tests/support/etcd_writer.py"
LOCK_KEY=/drctl/locks/faults

# ------------------------------------------------------------------ the servers
start_etcd J 1   # holds the run lock and the etcd copy of the journals
start_etcd A 3   # the cluster the handoff faults happen to
export DRCTL_DB_PASSWORD="pw-$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')"
start_mariadb primary 1
start_mariadb replica 2
start_replication primary replica "$DRCTL_DB_PASSWORD"
export CONSUL_HTTP_TOKEN="acl-$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')"
consul_state() {  # consul_state MODE DELAY_MS
  printf '{"datacenter": "bantian", "token": "%s", "index": 9, "mode": "%s", "delay_ms": %s, "services": {"order-svc": [%s]}}\n' \
    "$CONSUL_HTTP_TOKEN" "$1" "$2" \
    '{"node": "n1", "id": "order-svc-1", "checks": {"serfHealth": "passing"}}' > "$WORK/consul.json.tmp"
  mv "$WORK/consul.json.tmp" "$WORK/consul.json"
}
consul_state normal 0
setsid "$FIXTURE_CONSUL" "$WORK/consul.json" "$WORK/consul.port" 900 </dev/null >/dev/null 2>&1 &
STARTED_PIDS+=($!)
printf -- '- SERVING\norder.Order NOT_SERVING\n' > "$WORK/grpc.status"
setsid "$FIXTURE_GRPC" --port-file "$WORK/grpc.port" --status-file "$WORK/grpc.status" --lifetime 900 </dev/null >/dev/null 2>&1 &
STARTED_PIDS+=($!)
setsid "$FIXTURE_GRPC" --port-file "$WORK/nohealth.port" --no-health --lifetime 900 </dev/null >/dev/null 2>&1 &
STARTED_PIDS+=($!)
setsid "$FIXTURE_GRPC" --port-file "$WORK/hang.port" --hang --lifetime 900 </dev/null >/dev/null 2>&1 &
STARTED_PIDS+=($!)
start_silent_listener
start_fixture primary futian
start_fixture backup bantian
start_nginx "$PORT_primary"
for _ in $(seq 100); do [ -s "$WORK/consul.port" ] && [ -s "$WORK/grpc.port" ] && [ -s "$WORK/nohealth.port" ] && [ -s "$WORK/hang.port" ] && break; sleep 0.05; done
CONSUL="http://127.0.0.1:$(cat "$WORK/consul.port")"
GRPC="127.0.0.1:$(cat "$WORK/grpc.port")"
NOHEALTH="127.0.0.1:$(cat "$WORK/nohealth.port")"
HANG="127.0.0.1:$(cat "$WORK/hang.port")"
REFUSED="127.0.0.1:$(closed_port)"

# ------------------------------------------------------------------ the assertions
# playbook NAME PHASE BODY [TIMEOUT [TTL]]: a playbook holding the run lock, with one check or step NAME.
playbook() {
  printf 'version: 1\nname: %s\nlock: {etcd: {endpoints: [%s]}, key: %s, ttl: %s}\n%s:\n  - name: %s\n    timeout: %s\n%s\n' \
    "$1" "$ETCD_J" "$LOCK_KEY" "${5:-3s}" "$2" "$1" "${4:-30s}" "$3" > "$WORK/$1.yaml"
}

# fault_run NAME EXIT ARGS...: drctl run with its own state dir (and a JUnit report).
fault_run() {
  local name=$1 rc=$2; shift 2
  check "$name" "$rc" --state-dir "$WORK/state-$name" run --yes --output json --junit "$WORK/$name.junit.xml" "$@" "$WORK/$name.yaml"
}

# verdict NAME ENTRY STATUS ERROR RESULT: the report's entry class and result, the journal
# (local and etcd copy) and the lock. ERROR "-" when the entry has no evidence.error; "a|b"
# when either is right.
verdict() {
  local name=$1 entry=$2 status=$3 error=$4 result=$5
  local got
  got=$(python3 - "$WORK/$name.out" "$entry" <<'PY'
import json, sys
try:
    r = json.load(open(sys.argv[1]))
except ValueError:
    print("no JSON report"); sys.exit()
e = [x for x in r["checks"] + r["steps"] if x["name"] == sys.argv[2]]
print(e[0]["status"] if e else "absent", e[0]["evidence"].get("error", "-") if e else "-", r["result"])
PY
)
  local got_error=${got#* }; got_error=${got_error%% *}
  [[ "|$error|" == *"|$got_error|"* ]] && got=${got/ $got_error / $error }
  [ "$got" = "$status $error $result" ] && pass "$name: $entry $status ($error), run $result" \
    || fail "$name: got '$got', expected '$status $error $result'" "$(grep -m1 '"message"' "$WORK/$name.out")"
  journal_says "$name" "$entry" "$status" "$result"
  [ -z "$(ectl J get "$LOCK_KEY" --print-value-only)" ] && pass "$name: the lock is released" || fail "$name: the lock is still held"
}

# journal_says NAME ENTRY STATUS RESULT: one journal in the state dir, 0600, from run_started to
# run_finished(RESULT), with ENTRY's end (STATUS); the etcd copy holds the same lines.
journal_says() {
  local name=$1 files
  files=("$WORK/state-$name"/runs/*.jsonl)
  [ "${#files[@]}" = 1 ] && [ -f "${files[0]}" ] || { fail "$name: expected one journal, found ${#files[@]}"; return; }
  [ "$(stat -c %a "${files[0]}")" = 600 ] || fail "$name: journal mode $(stat -c %a "${files[0]}")"
  local run_id etcd_lines
  run_id=$(basename "${files[0]}" .jsonl)
  etcd_lines=$(ectl J get "$LOCK_KEY/journal/$run_id/" --prefix --print-value-only | grep -c '"type"')
  local got
  got=$(python3 - "${files[0]}" "$2" "$3" "$4" "$etcd_lines" <<'PY'
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1])]
types = [l["type"] for l in lines]
ends = [l for l in lines if l["type"] == "entry_finished" and l["name"] == sys.argv[2]]
problems = []
if types[0] != "run_started": problems.append("first line " + types[0])
if types[-1] != "run_finished": problems.append("last line " + types[-1])
elif lines[-1]["report"]["result"] != sys.argv[4]: problems.append("journaled result " + lines[-1]["report"]["result"])
if sys.argv[3] != "absent" and (not ends or ends[0]["status"] != sys.argv[3]): problems.append("entry end " + (ends[0]["status"] if ends else "missing"))
if int(sys.argv[5]) != len(lines): problems.append(f"etcd copy has {sys.argv[5]} lines, local {len(lines)}")
print("; ".join(problems) or "ok")
PY
)
  [ "$got" = ok ] && pass "$name: journal (local and etcd copy) records it" || fail "$name: journal: $got"
}

# ------------------------------------------------------------------ etcd
conn_a="{endpoints: $ETCD_A_LIST}"
# The leader killed mid-handoff, under writes: the watch reconnects, nothing is lost.
leader=$(etcd_leader A)
others=()
for i in 1 2 3; do [ "$i" != "$leader" ] && others+=("$i"); done
o1="ETCD_A_${others[0]}"; o2="ETCD_A_${others[1]}"; lv="ETCD_A_$leader"
setsid python3 "$WRITER" "${!o1},${!o2}" /cfg/ 1000000 "$WORK/leader.writer" </dev/null &
writer=$!; STARTED_PIDS+=($writer)
sleep 0.5
playbook leader-killed steps "    etcd_watch_handoff: {prefix: /cfg/, from: {endpoints: [${!lv}, ${!o1}]}, to: {endpoints: [${!lv}, ${!o2}]}, watch_for: 3s}"
"$DRCTL" --state-dir "$WORK/state-leader-killed" run --yes --output json "$WORK/leader-killed.yaml" >"$WORK/leader-killed.out" 2>"$WORK/leader-killed.err" &
drctl_pid=$!
# Kill the leader once the step (its only entry) has begun: a slow start must not find it dead.
for _ in $(seq 200); do grep -qs entry_started "$WORK"/state-leader-killed/runs/*.jsonl && break; sleep 0.05; done
sleep 0.7
kill_member A "$leader"
wait "$drctl_pid"; RC=$?; LAST=leader-killed
kill "$writer" 2>/dev/null
expect_rc "leader-killed: the handoff completes" 0
verdict leader-killed leader-killed ok - success
report_is leader-killed 's["leader-killed"]["evidence"]["reconnects"] >= 1 and s["leader-killed"]["evidence"]["lost"] == 0' True

# Compaction: the revision to resume from is compacted away: re-list (or fail when not allowed).
conn_live="{endpoints: [${!o1}, ${!o2}]}"
old_rev=$(ETCDCTL_API=3 etcdctl --endpoints "${!o1}" get /x -w json | python3 -c 'import json,sys; print(json.load(sys.stdin)["header"]["revision"])')
ETCDCTL_API=3 etcdctl --endpoints "${!o1}" put /cfg/after 1 >/dev/null
ETCDCTL_API=3 etcdctl --endpoints "${!o1}" compact "$((old_rev + 1))" >/dev/null
playbook compacted steps "    etcd_watch_handoff: {prefix: /cfg/, from: $conn_live, to: $conn_live, from_revision: $old_rev}"
fault_run compacted 0
verdict compacted compacted ok - success
report_is compacted 's["compacted"]["evidence"]["compacted"]' True
playbook compacted-strict steps "    etcd_watch_handoff: {prefix: /cfg/, from: $conn_live, to: $conn_live, from_revision: $old_rev, allow_relist: false}"
fault_run compacted-strict 2
verdict compacted-strict compacted-strict failed compacted rolled_back

# ------------------------------------------------------------------ MariaDB replica
mysql_spec="    mysql: {port: $PORT_replica, user: monitor, password_env: DRCTL_DB_PASSWORD, max_lag: 1s}"
sql replica "STOP SLAVE SQL_THREAD"
playbook sql-stopped checks "$mysql_spec"
fault_run sql-stopped 1
verdict sql-stopped sql-stopped failed stopped checks_failed
contains sql-stopped-says "$WORK/sql-stopped.out" "replication stopped: IO=Yes SQL=No"
sql replica "START SLAVE SQL_THREAD; STOP SLAVE IO_THREAD"
playbook io-stopped checks "$mysql_spec"
fault_run io-stopped 1
verdict io-stopped io-stopped failed stopped checks_failed
contains io-stopped-says "$WORK/io-stopped.out" "replication stopped: IO=No SQL=Yes"
sql replica "START SLAVE"

# ------------------------------------------------------------------ Consul
consul_spec="    consul: {address: \"$CONSUL\", service: order-svc, token_env: CONSUL_HTTP_TOKEN}"
consul_fault() {  # consul_fault NAME MODE DELAY STATUS ERROR
  consul_state "$2" "$3"
  playbook "$1" checks "$consul_spec" 1s
  fault_run "$1" 1
  verdict "$1" "$1" "$4" "$5" checks_failed
}
consul_fault consul-500 error500 0 failed server_error
consul_fault consul-garbage notjson 0 invalid_answer bad_shape
consul_fault consul-slow normal 3000 timeout timeout
consul_state normal 0
playbook consul-403 checks "    consul: {address: \"$CONSUL\", service: order-svc}"
fault_run consul-403 1
verdict consul-403 consul-403 failed acl_denied checks_failed

# ------------------------------------------------------------------ gRPC
grpc_fault() {  # grpc_fault NAME ADDRESS SERVICE STATUS ERROR
  playbook "$1" checks "    grpc_health: {address: \"$2\", service: \"$3\", connect_timeout: 500ms, rpc_timeout: 500ms}"
  fault_run "$1" 1
  verdict "$1" "$1" "$4" "$5" checks_failed
}
grpc_fault grpc-not-serving "$GRPC" order.Order failed not_serving
grpc_fault grpc-unknown-service "$GRPC" nope.Nope failed not_found
# A server without the health service answers UNIMPLEMENTED and resets the stream at once;
# libcurl 7.88 sometimes drops that answer for the reset (stream_reset): both are right.
grpc_fault grpc-unimplemented "$NOHEALTH" "" invalid_answer "unimplemented|stream_reset"
grpc_fault grpc-refused "$REFUSED" "" unreachable connect_failed
grpc_fault grpc-deadline "$HANG" "" timeout deadline_exceeded
grpc_fault grpc-silent-peer "127.0.0.1:$SILENT_PORT" "" timeout connect_timeout

# ------------------------------------------------------------------ nginx
route_step() {  # route_step NAME UPSTREAM-PORT [EXTRA CONF]: a routing_reload step to bantian
  switch_playbook "$WORK/$1.tmp" "$2" bantian "${3:-}"
  playbook "$1" steps "$(sed -n '/^    routing_reload:/,$p' "$WORK/$1.tmp")"
}
cp "$NGINX_CONF" "$WORK/conf.before"
route_step precheck-fails "$PORT_backup" "not nginx syntax;"
fault_run precheck-fails 2
verdict precheck-fails precheck-fails failed precheck rolled_back
cmp -s "$NGINX_CONF" "$WORK/conf.before" && pass "precheck-fails: the config is untouched" || fail "precheck-fails: the config changed"
route_step never-moves "$(closed_port)"
fault_run never-moves 2
verdict never-moves never-moves failed not_moved rolled_back
report_is never-moves 'r["rollbacks"][0]["status"]' ok
[ "$(served_site)" = futian ] && pass "never-moves: futian serves again" || fail "never-moves: serves '$(served_site)'"

# ------------------------------------------------------------------ signals
slow_steps='    exec: {argv: [sleep, "20"]}
  - name: after
    exec: {argv: [touch, '"$WORK"'/after-ran]}'
playbook sigint steps "$slow_steps"
"$DRCTL" --state-dir "$WORK/state-sigint" --grace 200ms run --yes --output json "$WORK/sigint.yaml" >"$WORK/sigint.out" 2>"$WORK/sigint.err" &
drctl_pid=$!
# Interrupt once the step runs (its child exists): a slow start must not be interrupted earlier.
for _ in $(seq 600); do grep -qs entry_started "$WORK"/state-sigint/runs/*.jsonl && pgrep -P "$drctl_pid" >/dev/null && break; sleep 0.05; done
kill -INT "$drctl_pid"
wait "$drctl_pid"; RC=$?; LAST=sigint
expect_rc "sigint: exit 130" 130
verdict sigint sigint failed - interrupted
[ ! -e "$WORK/after-ran" ] && pass "sigint: no step started after it" || fail "sigint: a later step ran"

# SIGKILL mid-step: the journal ends at the step's start, the lock stays until its ttl for any
# other run; then --resume (from the etcd copy, in another state dir) runs the step again and
# the rest. (Taking the dead run's lock over at once: cli_recovery.)
# (A ttl of 8 s: the too-soon run must surely come before it ends, even under ASan on a busy CI.)
playbook sigkill steps '    exec: {argv: [sh, -c, "test -e '"$WORK"'/may-finish || sleep 30"]}
  - name: after
    exec: {argv: [touch, '"$WORK"'/after-ran]}' 30s 8s
setsid "$DRCTL" --state-dir "$WORK/state-sigkill" run --yes "$WORK/sigkill.yaml" >/dev/null 2>&1 &
drctl_pid=$!
for _ in $(seq 600); do grep -q entry_started "$WORK"/state-sigkill/runs/*.jsonl 2>/dev/null && grep -q '"phase":"step"' "$WORK"/state-sigkill/runs/*.jsonl && pgrep -P "$drctl_pid" >/dev/null && break; sleep 0.05; done
# drctl dies first, as in a crash (killing its step's child first would let it journal the step's
# end); then the orphaned child, in a process group of its own.
children=$(pgrep -P "$drctl_pid")
kill -KILL -- "-$drctl_pid"
for child in $children; do kill -KILL -- "-$child" 2>/dev/null; done; wait "$drctl_pid" 2>/dev/null
killed_id=$(basename "$(ls "$WORK"/state-sigkill/runs/*.jsonl)" .jsonl)
last=$(tail -2 "$WORK/state-sigkill/runs/$killed_id.jsonl" | python3 -c 'import json,sys; print(" / ".join(l["type"] + " " + l.get("name", "") for l in map(json.loads, sys.stdin)))')
[ "$last" = "entry_started sigkill / entry_process sigkill" ] && pass "sigkill: the journal ends with the step's start and its process group" || fail "sigkill: journal ends with '$last'"
[ -n "$(ectl J get "$LOCK_KEY" --print-value-only)" ] && pass "sigkill: the lock is held until its ttl" || fail "sigkill: the lock is gone at once"
# A new run (not a recovery of the killed one, which would take the lock over) must wait.
check sigkill-too-soon 5 --state-dir "$WORK/state-sigkill-too-soon" run --yes "$WORK/sigkill.yaml"
contains sigkill-too-soon-names-holder "$WORK/sigkill-too-soon.out" "is held by run $killed_id"
contains sigkill-too-soon-says-when "$WORK/sigkill-too-soon.out" "its lease expires in"
wait_key_gone J "$LOCK_KEY" 30 && pass "sigkill: the killed run's lock frees itself after its ttl" \
  || fail "sigkill: the lock is still held 30 s after the kill"
touch "$WORK/may-finish"
check sigkill-resumed 0 --state-dir "$WORK/state-sigkill-resumed" run --yes --output json --resume "$killed_id" "$WORK/sigkill.yaml"
[ -e "$WORK/after-ran" ] && pass "sigkill-resumed: the later step ran" || fail "sigkill-resumed: the later step did not run"
verdict sigkill-resumed sigkill ok - success
rm -f "$WORK/after-ran"

# ------------------------------------------------------------------ a concurrent second run
playbook first steps "    exec: {argv: [sleep, \"2\"]}"
"$DRCTL" --state-dir "$WORK/state-first" run --yes --output json "$WORK/first.yaml" >"$WORK/first.out" 2>"$WORK/first.err" &
first=$!
for _ in $(seq 600); do [ -n "$(ectl J get "$LOCK_KEY" --print-value-only)" ] && break; sleep 0.05; done
playbook second steps "    exec: {argv: [touch, $WORK/second-ran]}"
fault_run second 5
contains second-names-holder "$WORK/second.out" "$LOCK_KEY is held by run "
journal_says second absent absent lock_held
[ ! -e "$WORK/second-ran" ] && pass "second: its step did not run" || fail "second: its step ran"
wait "$first"; RC=$?; LAST=first
expect_rc "first: completes" 0
verdict first first ok - success

# ------------------------------------------------------------------ the journal's disk full
playbook disk-full steps '    read_only: true
    exec: {argv: [python3, -c, "print(\"x\" * 40000)"]}
  - name: after
    exec: {argv: [touch, '"$WORK"'/after-ran]}'
( ulimit -f 24; exec "$DRCTL" --state-dir "$WORK/state-disk-full" run --yes --output json "$WORK/disk-full.yaml" 2>"$WORK/disk-full.err" ) | cat > "$WORK/disk-full.out"
RC=${PIPESTATUS[0]}; LAST=disk-full
expect_rc "disk-full: exit 6" 6
report_is disk-full 'r["result"]' journal_failed
[ ! -e "$WORK/after-ran" ] && pass "disk-full: the next step did not start" || fail "disk-full: the next step ran"
[ -z "$(ectl J get "$LOCK_KEY" --print-value-only)" ] && pass "disk-full: the lock is released" || fail "disk-full: the lock is still held"

# ------------------------------------------------------------------ secrets
# An exec step gets only the secrets it declares: the DB password (in drctl's environment,
# undeclared) must not reach the child; the declared Consul token does, and is masked.
playbook child-env steps "    exec: {argv: [sh, -c, 'env > $WORK/child.env; echo \"token \$T\"'], secret_env: {T: CONSUL_HTTP_TOKEN}}"
fault_run child-env 0
grep -qF -- "$DRCTL_DB_PASSWORD" "$WORK/child.env" && fail "child-env: an undeclared secret reached the child" || pass "child-env: the undeclared DB password did not reach the child"
grep -qF -- "T=$CONSUL_HTTP_TOKEN" "$WORK/child.env" && pass "child-env: the declared token did" || fail "child-env: the declared token is missing"
report_is child-env 's["child-env"]["outputs"]["stdout"]' "token ***"

# The unique secret values of this run appear in no output, report, JUnit file, journal, or
# the etcd copy of the journals.
ectl J get "$LOCK_KEY/journal/" --prefix --print-value-only > "$WORK/etcd-journals.txt"
[ -s "$WORK/etcd-journals.txt" ] && pass "the etcd copy of the journals was read" || fail "no etcd journal copy"
files=("$WORK"/*.out "$WORK"/*.err "$WORK"/*.junit.xml "$WORK"/state-*/runs/*.jsonl "$WORK/etcd-journals.txt")
leaks=$(grep -lF -e "$DRCTL_DB_PASSWORD" -e "$CONSUL_HTTP_TOKEN" "${files[@]}" 2>/dev/null)
[ -z "$leaks" ] && pass "no secret in ${#files[@]} outputs, reports, JUnit files and journals" || fail "secrets found in: $leaks"
modes=$(stat -c %a "$WORK"/state-*/runs/*.jsonl | sort -u | tr '\n' ' ')
[ "$modes" = "600 " ] && pass "every journal is mode 0600" || fail "journal modes: $modes"

finish
