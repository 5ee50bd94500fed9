#!/usr/bin/env bash
# SIGINT mid-step: no further step; the running step gets --grace, then its child's whole
# group is killed; a second SIGINT stops it at once; exit 130, journaled either way.
. "$(dirname "$0")/lib.sh"

# run_signalled NAME SIGNAL COMMAND...: runs COMMAND (a drctl run) in the background, sends it
# SIGNAL once its first step's child runs, and waits; RC is its exit code, $WORK/NAME.out and
# .err its output. (Not a fixed delay: a slow start, under ASan, would still have the SIGINT a
# background job inherits ignored, and lose the signal.)
run_signalled() {
  local name=$1 sig=$2; shift 2
  "$@" >"$WORK/$name.out" 2>"$WORK/$name.err" </dev/null &
  local pid=$!
  for _ in $(seq 600); do pgrep -P "$pid" >/dev/null && break; sleep 0.01; done
  kill "-$sig" "$pid"
  wait "$pid"; RC=$?; LAST=$name
}

# group_gone WHAT GRANDCHILD: the step's grandchild (and so its process group) no longer runs.
group_gone() {
  sleep 0.3
  if [ -n "$2" ] && kill -0 "$2" 2>/dev/null && [ "$(awk '{print $3}' "/proc/$2/stat" 2>/dev/null)" != Z ]; then
    fail "$1: the step's grandchild $2 survived"; kill -9 "$2"
  else
    pass "$1: the step's process group is gone"
  fi
}

cat > "$WORK/long.yaml" <<YAML
version: 1
name: signals
steps:
  - name: first
    exec: {argv: ["true"]}
    rollback: {exec: {argv: [touch, "$WORK/rolled-back"]}}
  - name: long
    timeout: 60s
    exec:
      shell: true
      command: "sleep 120 & echo \$! > $WORK/grandchild.pid; wait"
  - name: never
    exec: {argv: [touch, "$WORK/never-ran"]}
YAML

"$DRCTL" run --yes --grace 1s "$WORK/long.yaml" >"$WORK/sig.out" 2>"$WORK/sig.err" </dev/null &
drctl_pid=$!
for _ in $(seq 600); do [ -s "$WORK/grandchild.pid" ] && break; sleep 0.05; done
grandchild=$(cat "$WORK/grandchild.pid" 2>/dev/null)
[ -n "$grandchild" ] && pass "the long step started (grandchild $grandchild)" || fail "the long step never started"
kill -INT "$drctl_pid"
wait "$drctl_pid"; RC=$?
LAST=sig
expect_rc "SIGINT mid-step" 130
contains "interrupt announced" "$WORK/sig.err" "interrupted: no new step will start; the running one has 1s to finish"
contains "grace period ends the step" "$WORK/sig.err" "grace period over: stopping the running step"
contains "result says interrupted" "$WORK/sig.out" "result: interrupted (exit 130)"
[ -e "$WORK/never-ran" ] && fail "a step started after the interrupt" || pass "no step started after the interrupt"
[ -e "$WORK/rolled-back" ] && fail "an interrupt ran rollbacks" || pass "an interrupt leaves rollback to the operator"
group_gone "SIGINT" "$grandchild"

# A step that ends within the grace period finishes normally; the next one does not start.
cat > "$WORK/short.yaml" <<YAML
version: 1
name: short
steps:
  - name: short
    read_only: true
    exec: {argv: [sleep, "0.6"]}
  - name: never
    exec: {argv: [touch, "$WORK/never-ran-2"]}
YAML
run_signalled short INT "$DRCTL" run --yes --output json --grace 5s "$WORK/short.yaml"
expect_rc "SIGINT during a short step" 130
report_is short '[(x["name"], x["status"]) for x in r["steps"]]' "[('short', 'ok')]"
[ -e "$WORK/never-ran-2" ] && fail "a step started after the interrupt" || pass "the running step finished within its grace; no step started after it"

# Twice: the running step is stopped at once (not after the 60 s grace), and the run is journaled.
rm -f "$WORK/grandchild.pid"
"$DRCTL" run --yes --grace 60s "$WORK/long.yaml" >"$WORK/twice.out" 2>"$WORK/twice.err" </dev/null &
drctl_pid=$!
for _ in $(seq 600); do [ -s "$WORK/grandchild.pid" ] && break; sleep 0.05; done
started=$(date +%s%N)
kill -INT "$drctl_pid"; sleep 0.2; kill -INT "$drctl_pid"
wait "$drctl_pid"; RC=$?; LAST=twice
elapsed_ms=$(( ($(date +%s%N) - started) / 1000000 ))
expect_rc "SIGINT twice" 130
[ "$elapsed_ms" -lt 5000 ] && pass "the second SIGINT stopped the step at once (${elapsed_ms} ms)" || fail "the second SIGINT took ${elapsed_ms} ms"
contains "second interrupt announced" "$WORK/twice.err" "interrupted again: stopping the running step now"
journal=$(ls -t "$XDG_STATE_HOME"/drctl/runs/*.jsonl | head -1)
grep -q '"type":"run_finished"' "$journal" && grep -q '"result":"interrupted"' "$journal" \
  && pass "the interrupted run is journaled to its end" || fail "journal $journal has no interrupted end"
# SIGHUP (a dropped SSH session) is an interrupt too: grace, the step's group stopped, the run
# journaled to its end (it used to kill drctl outright: exit 129, no end, the child went on).
rm -f "$WORK/grandchild.pid"
"$DRCTL" run --yes --grace 1s "$WORK/long.yaml" >"$WORK/hup.out" 2>"$WORK/hup.err" </dev/null &
drctl_pid=$!
for _ in $(seq 600); do [ -s "$WORK/grandchild.pid" ] && break; sleep 0.05; done
grandchild=$(cat "$WORK/grandchild.pid" 2>/dev/null)
kill -HUP "$drctl_pid"
wait "$drctl_pid"; RC=$?; LAST=hup
expect_rc "SIGHUP mid-step" 130
contains "SIGHUP is announced as an interrupt" "$WORK/hup.err" "interrupted: no new step will start"
journal=$(ls -t "$XDG_STATE_HOME"/drctl/runs/*.jsonl | head -1)
grep -q '"type":"run_finished"' "$journal" && grep -q '"result":"interrupted"' "$journal" \
  && pass "the hung-up run is journaled to its end" || fail "journal $journal has no interrupted end"
group_gone "SIGHUP" "$grandchild"
# Under nohup (SIGHUP ignored when drctl starts) a hangup changes nothing: the run completes.
run_signalled nohup HUP nohup "$DRCTL" run --yes --output json "$WORK/short.yaml"
expect_rc "SIGHUP under nohup" 0
report_is nohup '[(x["name"], x["status"]) for x in r["steps"]]' "[('short', 'ok'), ('never', 'ok')]"
finish
