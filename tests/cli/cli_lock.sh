#!/usr/bin/env bash
# The run lock against real etcd: a second run exits 5 naming the holder; the fencing token
# reaches exec steps and the report; the lock is released at the end; a killed run's lock
# frees itself after its ttl; a lease revoked mid-run stops further steps.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/etcd.sh"
require_tool etcd
require_tool etcdctl

start_etcd K 1
lock_playbook() {  # lock_playbook NAME SECONDS-OF-FIRST-STEP [TTL]
  cat > "$WORK/$1.yaml" <<YAML
version: 1
name: $1
lock: {etcd: {endpoints: [$ETCD_K]}, key: /drctl/locks/order-svc, ttl: ${3:-2s}}
steps:
  - name: hold
    read_only: true
    exec: {shell: true, command: 'echo "\$DRCTL_FENCING_TOKEN" > $WORK/$1.token; sleep $2'}
  - name: after
    read_only: true
    exec: {argv: [echo, "token \${run.fencing_token}"]}
YAML
}

lock_playbook first 2
"$DRCTL" run --yes --output json "$WORK/first.yaml" > "$WORK/first.out" 2> "$WORK/first.err" &
first=$!
for _ in $(seq 600); do [ -n "$(ectl K get /drctl/locks/order-svc --print-value-only)" ] && break; sleep 0.05; done
lock_playbook second 0
check second 5 run --yes --output json "$WORK/second.yaml"
report_is second 'r["result"]' lock_held
contains second-names-holder "$WORK/second.out" "run lock /drctl/locks/order-svc is held by run "
contains second-names-host "$WORK/second.out" "on host $(hostname)"
report_is second 'len(r["steps"])' 0
wait "$first"; RC=$?; LAST=first
expect_rc "first: completes while holding the lock" 0
token=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["lock"]["fencing_token"])' "$WORK/first.out")
[ -n "$token" ] && [ "$(cat "$WORK/first.token")" = "$token" ] && pass "first: DRCTL_FENCING_TOKEN=$token in the exec step's environment" \
  || fail "first: token '$(cat "$WORK/first.token")' vs report '$token'"
report_is first 's["after"]["outputs"]["stdout"].strip()' "token $token"
[ -z "$(ectl K get /drctl/locks/order-svc --print-value-only)" ] && pass "first: the lock is released at the end" || fail "first: the lock key is still there"
# By etcd's own revisions: the journal's last line was committed before the lock's key was
# deleted, so whoever takes the lock next finds the run's journal complete.
run_id=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["run_id"])' "$WORK/first.out")
ectl K get "/drctl/locks/order-svc/journal/$run_id/" --prefix -w json > "$WORK/first.journal.json"
timeout 3 env ETCDCTL_API=3 etcdctl --endpoints "$ETCD_K" watch --rev "$token" /drctl/locks/order-svc -w json > "$WORK/first.watch.json"
got=$(python3 - "$WORK/first.journal.json" "$WORK/first.watch.json" <<'PY'
import base64, json, sys
kvs = json.load(open(sys.argv[1]))["kvs"]
last = max(kvs, key=lambda kv: base64.b64decode(kv["key"]))  # keys end in the line number (several lines share a revision)
events = [e for line in open(sys.argv[2]) if line.strip() for e in json.loads(line)["Events"]]
deleted = [e["kv"]["mod_revision"] for e in events if e.get("type") == 1]
ended = '"run_finished"' in base64.b64decode(last["value"]).decode()
print("ordered" if ended and deleted and last["create_revision"] < deleted[0] else f"journal end {last['create_revision']} (run_finished: {ended}), lock deleted {deleted}")
PY
)
[ "$got" = ordered ] && pass "first: the journal's run_finished is in etcd before the lock is released" || fail "first: $got"

# A killed run: its lock stays until the ttl, then a new run takes it (with a larger token).
# (A ttl of 8 s: the next run must surely come before it ends, even under ASan on a busy CI.)
lock_playbook killed 30 8s
setsid "$DRCTL" run --yes "$WORK/killed.yaml" > /dev/null 2>&1 &
killed=$!
for _ in $(seq 600); do [ -s "$WORK/killed.token" ] && break; sleep 0.05; done  # its step runs: it holds the lock
[ -s "$WORK/killed.token" ] || fail "killed: its step did not start within 30 s"
# drctl dies first, as in a crash (killing its step's child first would let it journal the step's
# end); then the orphaned child, in a process group of its own.
children=$(pgrep -P "$killed")
kill -KILL -- "-$killed"
for child in $children; do kill -KILL -- "-$child" 2>/dev/null; done
lock_playbook too-soon 0
check too-soon 5 run --yes --output json "$WORK/too-soon.yaml"
wait_key_gone K /drctl/locks/order-svc 30 && pass "killed: its lock frees itself after the ttl" \
  || fail "killed: the lock is still held 30 s after the kill"
lock_playbook after-ttl 0
check after-ttl 0 run --yes --output json "$WORK/after-ttl.yaml"
report_is after-ttl 'int(r["lock"]["fencing_token"]) > '"$(cat "$WORK/killed.token")" True

# The lease revoked mid-run (another operator broke the lock): no further step starts.
lock_playbook revoked 2
"$DRCTL" run --yes --output json "$WORK/revoked.yaml" > "$WORK/revoked.out" 2> "$WORK/revoked.err" &
run=$!
for _ in $(seq 600); do [ -s "$WORK/revoked.token" ] && break; sleep 0.05; done
lease=$(ectl K get /drctl/locks/order-svc -w json | python3 -c 'import json,sys; print("%x" % json.load(sys.stdin)["kvs"][0]["lease"])')
ectl K lease revoke "$lease" >/dev/null
wait "$run"; RC=$?; LAST=revoked
expect_rc "revoked: the run stops with the lock exit code" 5
report_is revoked 'r["result"]' lock_lost
report_is revoked '[x["name"] for x in r["steps"]]' "['hold']"
contains revoked-says-why "$WORK/revoked.out" "step 'after' and those after it were not started"

# The journals of these runs: the finished ones end with their report, the killed one stops
# after its first entry started; all mode 0600.
first_id=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["run_id"])' "$WORK/first.out")
check runs 0 runs --output json
python3 - "$WORK/runs.out" "$first_id" <<'PY' && pass "runs: lists the finished runs with their result and the killed one without" || fail "runs: $(head -c 400 "$WORK/runs.out")"
import json, sys
runs = json.load(open(sys.argv[1]))
by_id = {r["run_id"]: r for r in runs}
assert by_id[sys.argv[2]]["result"] == "success" and by_id[sys.argv[2]]["exit_code"] == 0
assert any(r["result"] is None for r in runs), "the killed run has no end"
assert len(runs) >= 5
PY
check show 0 show "$first_id"
contains show-steps "$WORK/show.out" "after"
contains show-result "$WORK/show.out" "result: success (exit 0)"
check show-json 0 show "$first_id" --output json
python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); assert r["lock"]["fencing_token"] > 0 and [s["name"] for s in r["steps"]] == ["hold", "after"]' "$WORK/show-json.out" \
  && pass "show --output json: the run's report, with its fencing token" || fail "show json: $(head -c 300 "$WORK/show-json.out")"
killed_id=$(python3 -c 'import json,sys; print([r["run_id"] for r in json.load(open(sys.argv[1])) if r["result"] is None][0])' "$WORK/runs.out")
check show-killed 0 show "$killed_id"
contains show-killed-says-so "$WORK/show-killed.out" "result: unfinished (no exit): the journal has no end: the run stopped in step 'hold'"
grep -q '"name":"hold".*"type":"entry_started"' "$XDG_STATE_HOME/drctl/runs/$killed_id.jsonl" && pass "show-killed: the step it died in was journaled as started" || fail "show-killed: no entry_started"
modes=$(stat -c %a "$XDG_STATE_HOME"/drctl/runs/*.jsonl | sort -u)
[ "$modes" = 600 ] && pass "journals are mode 0600" || fail "journal modes: $modes"
check show-unknown 64 show no-such-run

# Without etcd the lock cannot be taken: exit 5, nothing started.
closed=$(closed_port)
sed "s/$ETCD_K/127.0.0.1:$closed/" "$WORK/second.yaml" > "$WORK/no-etcd.yaml"
check no-etcd 5 run --yes --output json "$WORK/no-etcd.yaml"
contains no-etcd-says-why "$WORK/no-etcd.out" "run lock: etcd lock"

finish
