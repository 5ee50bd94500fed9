#!/usr/bin/env bash
# SIGINT mid-step: no further step, the running child's whole group is killed, exit 130.
. "$(dirname "$0")/lib.sh"

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

"$DRCTL" run --yes "$WORK/long.yaml" >"$WORK/sig.out" 2>"$WORK/sig.err" </dev/null &
drctl_pid=$!
for _ in $(seq 100); do [ -s "$WORK/grandchild.pid" ] && break; sleep 0.05; done
grandchild=$(cat "$WORK/grandchild.pid" 2>/dev/null)
[ -n "$grandchild" ] && pass "the long step started (grandchild $grandchild)" || fail "the long step never started"
kill -INT "$drctl_pid"
wait "$drctl_pid"; RC=$?
LAST=sig
expect_rc "SIGINT mid-step" 130
contains "interrupt announced" "$WORK/sig.err" "interrupted: no new step will start"
contains "result says interrupted" "$WORK/sig.out" "result: interrupted (exit 130)"
[ -e "$WORK/never-ran" ] && fail "a step started after the interrupt" || pass "no step started after the interrupt"
[ -e "$WORK/rolled-back" ] && fail "an interrupt ran rollbacks" || pass "an interrupt leaves rollback to the operator"
sleep 0.3
if [ -n "$grandchild" ] && kill -0 "$grandchild" 2>/dev/null && [ "$(awk '{print $3}' "/proc/$grandchild/stat" 2>/dev/null)" != Z ]; then
  fail "the step's grandchild $grandchild survived"; kill -9 "$grandchild"
else
  pass "the step's process group is gone"
fi
finish
