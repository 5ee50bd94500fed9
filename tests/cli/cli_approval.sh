#!/usr/bin/env bash
# The operator's flow (issue 18): on a terminal the checks' table comes before the question, a
# "no" changes nothing and a failed gate never asks; approval steps wait for a decision typed
# on the run's terminal, posted by `drctl approve` from a second process, or from another
# state dir through the journal's etcd copy (as another machine would); reject and timeout roll
# back; a run killed while waiting waits again when resumed; approve refuses what does not wait.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/etcd.sh"
require_tool etcd
require_tool etcdctl
PTY="$SOURCE_DIR/tests/support/pty_drive.py"

# playbook NAME CHECK-COMMAND [APPROVAL-TIMEOUT] [LOCK-KEY] [SLA]: touch a, wait for approval
# at `gate`, touch c. `a` has a rollback (rm), so a rejected approval shows it undone.
playbook() {
  local lock="" sla=""
  [ -n "${4:-}" ] && lock="lock: {etcd: {endpoints: [$ETCD_K]}, key: $4, ttl: 3s}"
  [ -n "${5:-}" ] && sla="sla: $5"
  cat > "$WORK/$1.yaml" <<YAML
version: 1
name: $1
$lock
$sla
checks:
  - name: ready
    exec: {shell: true, command: '$2'}
steps:
  - name: first
    exec: {argv: [touch, $WORK/$1.a]}
    rollback:
      exec: {argv: [rm, -f, $WORK/$1.a]}
  - name: gate
    timeout: ${3:-60s}
    approval: {message: "DBA: the order service is drained"}
  - name: last
    exec: {argv: [touch, $WORK/$1.c]}
    rollback:
      exec: {argv: [rm, -f, $WORK/$1.c]}
YAML
}
run_id_of() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["run_id"])' "$1"; }
# wait_waiting NAME [ARGS]: until `drctl runs` (with ARGS) lists a run waiting for approval;
# sets WAITING to its run id.
wait_waiting() {
  local name=$1; shift
  WAITING=""
  for _ in $(seq 200); do
    WAITING=$("$DRCTL" runs --output json "$@" 2>/dev/null | python3 -c '
import json,sys
for r in json.load(sys.stdin):
    if r.get("waiting_for_approval"): print(r["run_id"]); break' 2>/dev/null)
    [ -n "$WAITING" ] && break
    sleep 0.05
  done
  [ -n "$WAITING" ] && pass "$name: drctl runs lists the run as waiting for approval" || fail "$name: no run waits"
}

start_etcd K 1

# --- Bad input: one line naming where, and its own exit code ---------------------------------
cat > "$WORK/no-message.yaml" <<YAML
version: 1
name: bad
sla: {exclude_approvals: maybe}
steps:
  - name: gate
    timeout: 1m
    approval: {}
YAML
check no-message 65 validate "$WORK/no-message.yaml"
contains "no-message: the missing message, at its line and column" "$WORK/no-message.err" "no-message.yaml:7:"
contains "no-message: names the key" "$WORK/no-message.err" "message"
contains "exclude_approvals: not a boolean, at its line" "$WORK/no-message.err" "no-message.yaml:3:"
check approve-no-step 64 approve 20990101T000000Z-000000
check approve-bad-id 64 approve ../runs/x gate
contains "approve-bad-id: says it is no run id" "$WORK/approve-bad-id.err" "not a run id"

# --- Gate, then confirm, on a pseudo-terminal ----------------------------------------------
playbook tty 'echo replica lag 0.2s of 5s'
python3 "$PTY" --transcript "$WORK/tty-no.txt" --expect "Type 'yes'" --send no -- "$DRCTL" run "$WORK/tty.yaml"
RC=$?; LAST=tty-no
expect_rc "tty-no: answering no ends the run declined" 8
got=$(python3 - "$WORK/tty-no.txt" <<'PY'
import sys
t = open(sys.argv[1], errors="replace").read()
table, prompt = t.find("replica lag 0.2s of 5s"), t.find("Type 'yes'")
print("table first" if 0 <= table < prompt else f"table at {table}, prompt at {prompt}")
PY
)
[ "$got" = "table first" ] && pass "tty-no: the checks' table (with what they measured) comes before the prompt" || fail "tty-no: $got" "$(cat "$WORK/tty-no.txt")"
contains "tty-no: the prompt lists the steps" "$WORK/tty-no.txt" "approval"
contains "tty-no: the prompt says when the SLA clock starts" "$WORK/tty-no.txt" "The SLA clock starts at the first step"
[ ! -e "$WORK/tty.a" ] && pass "tty-no: no step ran" || fail "tty-no: step first ran"
contains "tty-no: the result says why" "$WORK/tty-no.txt" "result: declined (exit 8)"
"$DRCTL" runs --output json > "$WORK/runs-declined.json"
python3 -c 'import json,sys; r=json.load(open(sys.argv[1]))[0]; sys.exit(r["result"] != "declined")' "$WORK/runs-declined.json" \
  && pass "tty-no: the declined run is journaled" || fail "tty-no: runs says $(head -c 300 "$WORK/runs-declined.json")"

playbook tty-fail 'echo replica lag 9s over 5s; exit 1'
python3 "$PTY" --transcript "$WORK/tty-fail.txt" --timeout 20 -- "$DRCTL" run "$WORK/tty-fail.yaml"
RC=$?; LAST=tty-fail
expect_rc "tty-fail: a failed check exits 1" 1
lacks "tty-fail: without asking" "$WORK/tty-fail.txt" "Type 'yes'"
contains "tty-fail: the check's failure is shown" "$WORK/tty-fail.txt" "result: checks_failed (exit 1): check 'ready' failed"

# Typed before the question was shown, "yes" is no answer: the question still waits.
playbook tty-ahead 'sleep 1; echo ready'
python3 "$PTY" --transcript "$WORK/tty-ahead.txt" --send yes --expect "Type 'yes'" --send no -- "$DRCTL" run "$WORK/tty-ahead.yaml"
RC=$?; LAST=tty-ahead
expect_rc "tty-ahead: a yes typed during the checks is no answer" 8
[ ! -e "$WORK/tty-ahead.a" ] && pass "tty-ahead: no step ran" || fail "tty-ahead: a step ran on a typed-ahead yes"

# Ctrl-C at the prompt: interrupted (130), journaled with its end (not killed by the signal).
playbook tty-int 'true'
python3 "$PTY" --transcript "$WORK/tty-int.txt" --expect "Type 'yes'" --key $'\x03' -- "$DRCTL" run "$WORK/tty-int.yaml"
RC=$?; LAST=tty-int
expect_rc "tty-int: Ctrl-C at the prompt" 130
contains "tty-int: the run ends interrupted" "$WORK/tty-int.txt" "result: interrupted (exit 130)"

# yes at the prompt, then the approval typed on the same terminal: by the operator, via it.
playbook tty-yes 'true'
python3 "$PTY" --transcript "$WORK/tty-yes.txt" --expect "Type 'yes'" --send yes \
  --expect "the order service is drained" --send nope \
  --expect "type 'gate' to approve" --send "gate: lag 0 on b, checked" -- "$DRCTL" run "$WORK/tty-yes.yaml" --junit "$WORK/tty-yes.xml"
RC=$?; LAST=tty-yes
expect_rc "tty-yes: yes, then the step's name typed at the approval" 0
[ -e "$WORK/tty-yes.a" ] && [ -e "$WORK/tty-yes.c" ] && pass "tty-yes: every step ran" || fail "tty-yes: steps missing"
contains "tty-yes: the terminal shows how to approve from elsewhere" "$WORK/tty-yes.txt" "drctl approve "
contains "tty-yes: the confirmation is in the report, apart from the SLA" "$WORK/tty-yes.txt" "confirmed at the prompt after"
contains "tty-yes: the wait says until when" "$WORK/tty-yes.txt" "waits for approval until 20"
lacks "tty-yes: a wrong word typed at the wait is no decision" "$WORK/tty-yes.txt" "approved by nope"
run=$("$DRCTL" runs --output json | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["run_id"])')
"$DRCTL" show "$run" --output json > "$WORK/tty-yes.out"
report_is tty-yes '(s["gate"]["evidence"]["via"], s["gate"]["evidence"]["decided_by"] == r["operator"]["user"], s["gate"]["evidence"]["comment"])' "('terminal', True, 'lag 0 on b, checked')"
report_is tty-yes 'r["confirmation"]["answer"], r["confirmation"]["waited_ms"] > 0' "('yes', True)"
contains "tty-yes: JUnit names who approved" "$WORK/tty-yes.xml" 'name="approval.via" value="terminal"'
# 'reject: why' on the terminal: rejected, the comment in the message, the first step undone.
playbook tty-reject 'true'
python3 "$PTY" --transcript "$WORK/tty-reject.txt" --expect "Type 'yes'" --send yes \
  --expect "records a comment" --send "reject: wrong window" -- "$DRCTL" run "$WORK/tty-reject.yaml"
RC=$?; LAST=tty-reject
expect_rc "tty-reject: 'reject: why' typed at the approval rolls back" 2
contains "tty-reject: the result says why" "$WORK/tty-reject.txt" "(wrong window)); 1 rollback(s) succeeded"
[ ! -e "$WORK/tty-reject.a" ] && [ ! -e "$WORK/tty-reject.c" ] && pass "tty-reject: first undone, last never ran" || fail "tty-reject: files left"

# --- drctl approve from a second process (no lock: through the state dir) ---------------------
playbook local 'true'
"$DRCTL" run --yes --output json "$WORK/local.yaml" --junit "$WORK/local.xml" > "$WORK/local.out" 2> "$WORK/local.err" &
pid=$!
wait_waiting local
check show-waiting 0 show "$WAITING"
contains "show: names the step and since when" "$WORK/show-waiting.out" "the run waits for approval at step 'gate' since 20"
check approve-wrong-step 1 approve "$WAITING" last
contains "approve-wrong-step: says where it waits" "$WORK/approve-wrong-step.err" "waits at step 'gate', not 'last'"
[ "$(wc -l < "$WORK/approve-wrong-step.err")" -eq 1 ] && pass "approve-wrong-step: one line" || fail "approve-wrong-step: $(cat "$WORK/approve-wrong-step.err")"
check approve 0 approve "$WAITING" gate --by ana --comment "orders drained at 10:02"
wait "$pid"; RC=$?; LAST=local
expect_rc "local: goes on after drctl approve" 0
report_is local '[s["gate"]["evidence"][k] for k in ("decided_by", "comment", "via")]' "['ana', 'orders drained at 10:02', 'state dir']"
report_is local 's["gate"]["outputs"]["approved_by"]' ana
report_is local 'r["sla"]["approval_wait_ms"] > 0 and r["sla"]["approval_wait_ms"] <= r["sla"]["steps_elapsed_ms"]' True
contains "local: JUnit names the approver" "$WORK/local.xml" 'name="approval.decided_by" value="ana"'
contains "local: JUnit keeps the comment" "$WORK/local.xml" 'value="orders drained at 10:02"'
grep -q '"type":"approval_waiting"' "$XDG_STATE_HOME/drctl/runs/$WAITING.jsonl" && pass "local: the wait is journaled" || fail "local: no approval_waiting line"
check approve-again 1 approve "$WAITING" gate
contains "approve-again: a second approve is a clear error" "$WORK/approve-again.err" "step 'gate' was already approved by ana at"
check approve-none 64 approve 20990101T000000Z-000000 gate
contains "approve-none: names the run" "$WORK/approve-none.err" "no run 20990101T000000Z-000000"

# --- From another state dir, through the etcd copy (another machine) -------------------------
playbook remote 'true' 60s /drctl/locks/approval
"$DRCTL" run --yes --output json "$WORK/remote.yaml" > "$WORK/remote.out" 2> "$WORK/remote.err" &
pid=$!
wait_waiting remote
check remote-runs 0 runs --state-dir "$WORK/elsewhere" --playbook "$WORK/remote.yaml"
contains "remote: runs through etcd shows the wait" "$WORK/remote-runs.out" "waiting for approval at step 'gate'"
# A second run (and its dry run) meets the lock: the refusal says the holder waits, and how to decide.
check remote-second 5 run --yes --state-dir "$WORK/elsewhere" "$WORK/remote.yaml"
contains "remote-second: the lock refusal says the holder waits for approval, and how to decide" "$WORK/remote-second.out" \
  "that run waits for approval at step 'gate' since 20"
contains "remote-second: ... naming the command" "$WORK/remote-second.out" "drctl approve $WAITING gate [--playbook FILE] (or drctl reject)"
check remote-second-dry 1 run --dry-run --state-dir "$WORK/elsewhere" "$WORK/remote.yaml"
contains "remote-second-dry: the dry run says so too" "$WORK/remote-second-dry.out" "drctl approve $WAITING gate"
check remote-approve 0 approve "$WAITING" gate --by risk-officer --state-dir "$WORK/elsewhere" --playbook "$WORK/remote.yaml"
contains "remote-approve: says it went through etcd" "$WORK/remote-approve.out" "through etcd"
wait "$pid"; RC=$?; LAST=remote
expect_rc "remote: goes on after the approval from another state dir" 0
report_is remote '[s["gate"]["evidence"][k] for k in ("decided_by", "via")]' "['risk-officer', 'etcd']"
[ "$(ectl K get "/drctl/locks/approval/approvals/$WAITING/gate" --print-value-only | python3 -c 'import json,sys; print(json.load(sys.stdin)["by"])')" = risk-officer ] \
  && pass "remote: the decision is in etcd beside the journal" || fail "remote: no decision key"
report_is remote '(s["gate"]["evidence"]["decided_on"] == "'"$(hostname)"'", s["gate"]["evidence"]["decided_by_login"] != "")' "(True, True)"
# Killed while waiting, then approved through etcd from elsewhere: refused, the decision would
# go to nobody.
setsid "$DRCTL" run --yes --output json "$WORK/remote.yaml" > "$WORK/remote2.out" 2> "$WORK/remote2.err" < /dev/null &
pid=$!
wait_waiting remote-killed
kill -KILL "$pid"; wait "$pid" 2>/dev/null
check remote-dead 1 approve "$WAITING" gate --state-dir "$WORK/elsewhere" --playbook "$WORK/remote.yaml"
contains "remote-dead: the killed run is not approved through etcd" "$WORK/remote-dead.err" "is not running"

# --- Reject: the step fails, the steps before it are rolled back (a rejection is final: no retry)
playbook rejected 'true'
sed -i 's/^    approval:/    retries: 2\n    approval:/' "$WORK/rejected.yaml"
"$DRCTL" run --yes --output json "$WORK/rejected.yaml" > "$WORK/rejected.out" 2> "$WORK/rejected.err" &
pid=$!
wait_waiting rejected
check reject 0 reject "$WAITING" gate --by ana --comment "risk says no"
wait "$pid"; RC=$?; LAST=rejected
expect_rc "rejected: rolled back" 2
report_is rejected '(s["gate"]["evidence"]["error"], s["gate"]["evidence"]["decided_by"], s["gate"]["message"])' "('rejected', 'ana', 'rejected by ana (risk says no)')"
report_is rejected '[(x["name"], x["status"]) for x in r["rollbacks"]]' "[('first', 'ok')]"
report_is rejected 's["gate"]["attempts"]' 1
contains "rejected: the result says who rejected and why" "$WORK/rejected.err" "step 'gate' failed (rejected by ana (risk says no)); 1 rollback(s) succeeded"
[ ! -e "$WORK/rejected.a" ] && [ ! -e "$WORK/rejected.c" ] && pass "rejected: first undone, last never ran" || fail "rejected: files left"

# --- Timeout: nobody decides ----------------------------------------------------------------
playbook timeout 'true' 1s
check timeout 2 run --yes --output json "$WORK/timeout.yaml"
report_is timeout '(s["gate"]["status"], s["gate"]["evidence"]["error"])' "('timeout', 'approval_timeout')"
report_is timeout '[(x["name"], x["status"]) for x in r["rollbacks"]]' "[('first', 'ok')]"

# --- Killed while waiting: --resume waits again at the same approval --------------------------
playbook killed 'true'
setsid "$DRCTL" run --yes --output json "$WORK/killed.yaml" > "$WORK/killed.out" 2> "$WORK/killed.err" < /dev/null &
pid=$!
wait_waiting killed
first_run=$WAITING
kill -KILL "$pid"; wait "$pid" 2>/dev/null
check approve-dead 1 approve "$first_run" gate
contains "approve-dead: the run is gone, says how to go on" "$WORK/approve-dead.err" "is not running"
"$DRCTL" runs --output json > "$WORK/runs-dead.json"
python3 -c 'import json,sys; r=[x for x in json.load(open(sys.argv[1])) if x["run_id"] == sys.argv[2]][0]; sys.exit(r["waiting_for_approval"] is not None or r["process"] != "killed")' "$WORK/runs-dead.json" "$first_run" \
  && pass "runs: a killed run is not listed as waiting" || fail "runs: $(head -c 400 "$WORK/runs-dead.json")"
"$DRCTL" run --yes --output json "$WORK/killed.yaml" --resume "$first_run" > "$WORK/resumed.out" 2> "$WORK/resumed.err" &
pid=$!
for _ in $(seq 200); do
  WAITING=$("$DRCTL" runs --output json | python3 -c '
import json,sys
for r in json.load(sys.stdin):
    if r.get("waiting_for_approval") and r["resumed_from"]: print(r["run_id"]); break')
  [ -n "$WAITING" ] && break; sleep 0.05
done
[ -n "$WAITING" ] && [ "$WAITING" != "$first_run" ] && pass "resumed: waits again at the approval, as a new run" || fail "resumed: no waiting resumed run"
check approve-resumed 0 approve "$WAITING" gate
wait "$pid"; RC=$?; LAST=resumed
expect_rc "resumed: completes" 0
report_is resumed '(s["first"]["evidence"]["done_in_run"], s["gate"]["evidence"]["via"])' "('$first_run', 'state dir')"

# --- A run that does not wait --------------------------------------------------------------
check approve-ended 1 approve "$WAITING" gate
contains "approve-ended: a finished run waits for nothing" "$WORK/approve-ended.err" "has ended (success)"
tty_run=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[0]["run_id"])' "$WORK/runs-declined.json")
check approve-declined 1 approve "$tty_run" gate
contains "approve-declined: one line naming the run" "$WORK/approve-declined.err" "run $tty_run has ended (declined)"

# --- The SLA can leave the wait out ---------------------------------------------------------
playbook sla-in 'true' 60s "" "{total: 1s}"
playbook sla-out 'true' 60s "" "{total: 1s, exclude_approvals: true}"
# A budget on the approval step is held against its time without the wait, when excluded.
sed -i 's/^    approval:/    budget: 1s\n    approval:/' "$WORK/sla-out.yaml"
for name in sla-in sla-out; do
  "$DRCTL" run --yes --output json "$WORK/$name.yaml" > "$WORK/$name.out" 2> "$WORK/$name.err" &
  pid=$!
  wait_waiting "$name"
  sleep 1.2  # the wait itself is what is measured: longer than sla.total
  "$DRCTL" approve "$WAITING" gate > /dev/null
  wait "$pid"; RC=$?; LAST=$name
  [ "$name" = sla-in ] && expect_rc "sla-in: the wait counts against sla.total" 4 || expect_rc "sla-out: exclude_approvals leaves it out" 0
  report_is "$name" 'r["sla"]["approval_wait_ms"] >= 1200' True
done
report_is sla-out '(r["sla"]["exclude_approvals"], r["sla"]["verdict"], r["sla"]["total_pct"] < 100)' "(True, 'met', True)"
report_is sla-in '(r["sla"]["exclude_approvals"], r["sla"]["verdict"], r["sla"]["total_pct"] > 100)' "(False, 'breached', True)"

finish
