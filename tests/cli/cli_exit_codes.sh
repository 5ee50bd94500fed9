#!/usr/bin/env bash
# The exit-code contract on the real binary: one playbook per run result.
. "$(dirname "$0")/lib.sh"

header='version: 1
name: codes
defaults: {timeout: 10s}'
write() { printf '%s\n%s\n' "$header" "$2" > "$WORK/$1.yaml"; }
log="$WORK/order.log"

write success "checks:
  - {name: c, exec: {argv: [\"true\"]}}
steps:
  - {name: a, exec: {argv: [\"true\"]}, rollback: {exec: {argv: [\"true\"]}}}"
check success 0 run --yes "$WORK/success.yaml"
contains "success summary" "$WORK/success.out" "result: success (exit 0)"

write checks-failed "checks:
  - {name: ok, exec: {argv: [\"true\"]}}
  - {name: broken, exec: {argv: [sh, -c, 'echo disk full >&2; exit 7']}}
steps:
  - {name: a, exec: {argv: [touch, \"$WORK/must-not-exist\"]}}"
check checks-failed 1 run --yes "$WORK/checks-failed.yaml"
[ -e "$WORK/must-not-exist" ] && fail "a step ran although a check failed" || pass "no step ran after a failed check"
contains "failed check message names the exit and stderr" "$WORK/checks-failed.out" "'sh' exited with 7 (expected 0): disk full"
check check-subcommand 1 check "$WORK/checks-failed.yaml"

write rolled-back "steps:
  - {name: a, exec: {argv: [sh, -c, 'echo a >> $log']}, rollback: {exec: {argv: [sh, -c, 'echo undo-a >> $log']}}}
  - {name: b, exec: {argv: [sh, -c, 'echo b >> $log']}, rollback: {exec: {argv: [sh, -c, 'echo undo-b >> $log']}}}
  - {name: c, exec: {argv: [sh, -c, 'echo c >> $log; exit 1']}, rollback: {exec: {argv: [sh, -c, 'echo undo-c >> $log']}}}"
: > "$log"
check rolled-back 2 run --yes "$WORK/rolled-back.yaml"
order=$(tr '\n' ' ' < "$log")
[ "$order" = "a b c undo-c undo-b undo-a " ] && pass "rollbacks ran in reverse order: $order" || fail "rollback order: $order"

write partial "steps:
  - {name: a, exec: {argv: [\"true\"]}, rollback: {exec: {argv: [\"false\"]}}}
  - {name: b, exec: {argv: [\"false\"]}, rollback: {exec: {argv: [\"true\"]}}}"
check partial 3 run --yes "$WORK/partial.yaml"
contains "partial says a human must look" "$WORK/partial.out" "a human must look"

write breached "sla: {total: 50ms}
steps:
  - {name: slow, budget: 10ms, exec: {argv: [sleep, \"0.2\"]}}"
check sla-breached 4 run --yes "$WORK/breached.yaml"
contains "breach is explained" "$WORK/sla-breached.out" "step 'slow' over its budget"
contains "SLA line shows the verdict" "$WORK/sla-breached.out" "BREACHED"

write breached-warn "sla: {total: 50ms, on_breach: warn}
steps:
  - {name: slow, exec: {argv: [sleep, \"0.2\"]}}"
check sla-warn 0 run --yes "$WORK/breached-warn.yaml"

check not-a-tty 64 run "$WORK/success.yaml"
contains "refusal is explained" "$WORK/not-a-tty.err" "refusing to run without --yes: stdin is not a terminal"
# On a terminal (a pty), run asks after the checks; anything but "yes"
# runs nothing (tests/cli/cli_approval.sh drives the prompt in detail).
write confirm "steps:
  - {name: a, read_only: true, exec: {argv: [touch, \"$WORK/confirmed\"]}}"
PTY="$SOURCE_DIR/tests/support/pty_drive.py"
python3 "$PTY" --transcript "$WORK/confirm-no.out" --expect "Type 'yes'" --send no -- "$DRCTL" run "$WORK/confirm.yaml"; RC=$?
LAST=confirm-no; expect_rc "answering no at the prompt (after the gate): declined" 8
contains "the prompt was shown" "$WORK/confirm-no.out" "Type 'yes' to run 1 step(s)"
[ -e "$WORK/confirmed" ] && fail "a step ran without confirmation" || pass "nothing ran without confirmation"
python3 "$PTY" --transcript "$WORK/confirm-yes.out" --expect "Type 'yes'" --send yes -- "$DRCTL" run "$WORK/confirm.yaml"; RC=$?
LAST=confirm-yes; expect_rc "answering yes at the prompt" 0
[ -e "$WORK/confirmed" ] && pass "the confirmed run ran" || fail "the confirmed run did not run"
check invalid 65 run --yes "$SOURCE_DIR/tests/data/playbooks/invalid/two_kinds.yaml"

write dry "checks:
  - {name: c, exec: {argv: [\"true\"]}}
steps:
  - {name: a, exec: {argv: [touch, \"$WORK/dry-run-touched\"]}}"
check dry-run 0 run --dry-run "$WORK/dry.yaml"
[ -e "$WORK/dry-run-touched" ] && fail "dry run changed something" || pass "dry run changed nothing"
contains "dry run describes the step" "$WORK/dry-run.out" "dry run: would run touch $WORK/dry-run-touched"

write bad-cwd "steps:
  - {name: s, exec: {argv: [\"true\"], cwd: /nonexistent/drctl-dir}}"
check bad-cwd 2 run --yes "$WORK/bad-cwd.yaml"
contains "a bad cwd is named as the cwd" "$WORK/bad-cwd.out" "cwd /nonexistent/drctl-dir: No such file or directory"
check parallel-zero 64 check --parallel 0 "$WORK/success.yaml"
contains "--parallel out of range is explained" "$WORK/parallel-zero.err" "--parallel: Value 0 not in range 1 to 256"
check junit-unwritable 64 run --yes --junit /nonexistent/drctl-dir/r.xml "$WORK/dry.yaml"
contains "an unwritable --junit is named" "$WORK/junit-unwritable.err" "--junit /nonexistent/drctl-dir/r.xml: cannot write there"
[ -e "$WORK/dry-run-touched" ] && fail "a step ran although --junit could not be written" || pass "nothing ran without its JUnit file"

write timeout "steps:
  - {name: hang, timeout: 300ms, exec: {argv: [sleep, \"30\"]}}"
start=$(date +%s%N)
check timeout 3 run --yes "$WORK/timeout.yaml"
contains "timeout class reported" "$WORK/timeout.out" "hang timeout"

# The new options and subcommands: bad values are usage errors naming the option.
check grace-bad 64 run --yes --grace soon "$WORK/success.yaml"
contains "--grace that is not a duration is explained" "$WORK/grace-bad.err" "expected a duration such as 10s"
touch "$WORK/a-file"
check state-dir-unusable 64 run --yes --state-dir "$WORK/a-file/state" "$WORK/dry.yaml"
contains "an unusable --state-dir is named" "$WORK/state-dir-unusable.err" "state dir $WORK/a-file/state/runs"
[ -e "$WORK/dry-run-touched" ] && fail "a step ran although its journal could not be written" || pass "nothing ran without its journal"
check probe-etcd-watch-no-prefix 64 probe etcd-watch --put-endpoints 127.0.0.1:1 --watch-endpoints 127.0.0.1:1
contains "a missing --prefix is named" "$WORK/probe-etcd-watch-no-prefix.err" "--prefix is required"
check probe-etcd-bad-max-p99 64 probe etcd-watch --put-endpoints 127.0.0.1:1 --watch-endpoints 127.0.0.1:1 --prefix /p/ --max-p99 fast
contains "a bad --max-p99 is named" "$WORK/probe-etcd-bad-max-p99.err" "--max-p99"
check cache-info-missing 1 cache info "$WORK/no-such-dir"
contains "a missing cache dir is named" "$WORK/cache-info-missing.err" "$WORK/no-such-dir: No such file or directory"
check cache-verify-not-a-snapshot 1 cache verify "$WORK/success.yaml"
contains "a file that is not a snapshot says so" "$WORK/cache-verify-not-a-snapshot.out" "not a drctl snapshot"
# --version is `drctl version` (exit 0, same text, --output json too); no command at all is usage.
check version 0 version
check dash-version 0 --version
contains "--version names drctl and the report format" "$WORK/dash-version.out" "report drctl.report/v1)"
cmp -s "$WORK/version.out" "$WORK/dash-version.out" && pass "--version prints what drctl version prints" \
  || fail "--version differs from drctl version" "$(cat "$WORK/dash-version.out")"
check version-json 0 --output json version
check dash-version-json 0 --version --output json
cmp -s "$WORK/version-json.out" "$WORK/dash-version-json.out" && pass "--version --output json is drctl version's JSON" \
  || fail "--version --output json differs" "$(cat "$WORK/dash-version-json.out")"
check no-command 64
check show-unknown-run 64 show 20990101T000000Z-000000
contains "an unknown run id is named" "$WORK/show-unknown-run.err" "no run 20990101T000000Z-000000"
# A report that cannot be written is not a success (74); a failed result keeps its own code.
out_full() {  # out_full NAME EXPECTED ARGS...: drctl with stdout on a full disk (/dev/full)
  local name=$1 wanted=$2; shift 2
  LAST=$name
  "$DRCTL" "$@" >/dev/full 2>"$WORK/$name.err" </dev/null
  RC=$?
  expect_rc "$name" "$wanted"
}
out_full version-full 74 version
contains "a full stdout is named with its cause" "$WORK/version-full.err" "drctl: error: cannot write the output to stdout: No space left on device"
out_full run-full 74 --state-dir "$WORK/state-full" run --yes --output json "$WORK/success.yaml"
full_run=$(basename "$(ls "$WORK"/state-full/runs/*.jsonl)" .jsonl)
check run-full-show 0 --state-dir "$WORK/state-full" show "$full_run"
contains "the run whose report was lost is journaled as a success" "$WORK/run-full-show.out" "result: success (exit 0)"
# Mid-run: 60 steps of progress lines fill stdio's buffer long before the end; the run goes on
# to its end (journaled, all steps done) and only then says the output was lost.
{ printf '%s\nsteps:\n' "$header"; for i in $(seq 60); do printf '  - {name: step-with-a-long-name-%d, read_only: true, exec: {argv: ["true"]}}\n' "$i"; done; } > "$WORK/many.yaml"
out_full many-full 74 --state-dir "$WORK/state-many" run --yes "$WORK/many.yaml"
many_run=$(basename "$(ls "$WORK"/state-many/runs/*.jsonl)" .jsonl)
check many-full-show 0 --state-dir "$WORK/state-many" show --output json "$many_run"
report_is many-full-show '(r["result"], len(r["steps"]))' "('success', 60)"
out_full checks-failed-full 1 run --yes --output json "$WORK/checks-failed.yaml"
contains "a failed result keeps its code, and the lost report is said too" "$WORK/checks-failed-full.err" "cannot write the output to stdout"
# The JUnit file cannot be written at the end (a file-size limit of 0 blocks: created, not written).
LAST=junit-full
( ulimit -f 0; exec "$DRCTL" check --junit "$WORK/junit-full.xml" "$WORK/success.yaml" 2>&1 </dev/null ) | cat > "$WORK/junit-full.err"
RC=${PIPESTATUS[0]}
expect_rc "junit-full" 74
contains "the unwritten JUnit file is named" "$WORK/junit-full.err" "cannot write JUnit report $WORK/junit-full.xml"
[ ! -e "$WORK/junit-full.xml.tmp" ] && pass "no half-written JUnit file is left behind" || fail "junit-full.xml.tmp left behind"
LAST=show-junit-full
( ulimit -f 0; exec "$DRCTL" --state-dir "$WORK/state-full" show --junit "$WORK/show-full.xml" "$full_run" 2>&1 </dev/null ) | cat > "$WORK/show-junit-full.err"
RC=${PIPESTATUS[0]}
expect_rc "show-junit-full" 74
contains "show names the unwritten JUnit file" "$WORK/show-junit-full.err" "cannot write JUnit report $WORK/show-full.xml"
# A reader that left (| head): non-zero, as with SIGPIPE, without an error line.
got=$(python3 - "$DRCTL" <<'PY'
import os, subprocess, sys
r, w = os.pipe()
os.close(r)
p = subprocess.run([sys.argv[1], "version"], stdout=w, stderr=subprocess.PIPE)
print(p.returncode, repr(p.stderr.decode()))
PY
)
[ "$got" = "74 ''" ] && pass "a closed pipe: exit 74, no message" || fail "a closed pipe: $got"
finish
