#!/usr/bin/env bash
# Recovery you can trust (issue 14), against real etcd and MariaDB: rollback reads the run's
# whole chain (a second rollback changes nothing), the --var values a rollback uses, the dead
# run's own lock taken over at once, a run paused past its lease stopped before its next write
# and refused by etcd when it writes anyway, and a resume after a step that changed the
# checks' premise (the replica was promoted).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/etcd.sh"
. "$(dirname "$0")/mariadb.sh"
require_tool etcd
require_tool etcdctl
require_tool mariadbd
require_tool mariadb-install-db

start_etcd K 1
ectl K put /cfg/site futian > /dev/null
json_of() { python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$WORK/$1.out" "$2"; }
run_id_of() { json_of "$1" 'r["run_id"]'; }
mod_revision() { ectl K get "$1" -w json | python3 -c 'import json,sys; k=json.load(sys.stdin).get("kvs",[]); print(k[0]["mod_revision"] if k else 0)'; }

# A flag in etcd (built-in undo) and a "reload" (declared rollback) that can be held open
# until $WORK/go-<label> exists.
cat > "$WORK/switch.yaml" <<YAML
version: 1
name: recovery
vars: {label: first, hold: "no"}
lock: {etcd: {endpoints: [$ETCD_K]}, key: /drctl/locks/recovery, ttl: 10s}
steps:
  - name: flip
    etcd_put: {etcd: {endpoints: [$ETCD_K]}, key: /cfg/site, value: bantian}
  - name: reload
    exec: {argv: [sh, -c, 'echo reload-\${vars.label} >> $WORK/reloads; touch $WORK/reloaded-\${vars.label}; [ \${vars.hold} = no ] || while [ ! -e $WORK/go-\${vars.label} ]; do sleep 0.05; done']}
    rollback:
      exec: {argv: [sh, -c, 'echo undo-\${vars.label} >> $WORK/reloads']}
YAML

# 1. Two rollbacks in a row: the second changes nothing and exits 0.
check first-run 0 run --yes --output json "$WORK/switch.yaml"
first=$(run_id_of first-run)
check rollback-1 0 rollback --yes --output json "$first"
rollback_1=$(run_id_of rollback-1)
[ "$(cat "$WORK/reloads" | tr '\n' ' ')" = "reload-first undo-first " ] && pass "rollback 1: reload undone once" || fail "rollback 1: reloads: $(cat "$WORK/reloads")"
site_revision=$(mod_revision /cfg/site)
check rollback-2 0 rollback --yes --output json "$first"
json_of rollback-2 'r["summary"]' | grep -q "nothing left to roll back" && pass "rollback 2: nothing left to roll back" || fail "rollback 2: $(json_of rollback-2 'r["summary"]')"
report_is rollback-2 'len(r["rollbacks"])' 0
contains rollback-2-reads-the-chain "$WORK/rollback-2.err" "$rollback_1 (a rollback of $first)"
[ "$(cat "$WORK/reloads" | tr '\n' ' ')" = "reload-first undo-first " ] && pass "rollback 2: nothing reloaded" || fail "rollback 2: reloads: $(cat "$WORK/reloads")"
[ "$(mod_revision /cfg/site)" = "$site_revision" ] && pass "rollback 2: the flag was not written" || fail "rollback 2: /cfg/site written again"
check rollback-of-rollback 0 rollback --yes --output json "$rollback_1"
report_is rollback-of-rollback 'len(r["rollbacks"])' 0
check resume-rolled-back 64 run --yes --resume "$first" "$WORK/switch.yaml"
contains resume-rolled-back-says "$WORK/resume-rolled-back.err" "was rolled back (its chain ends with rollback run"

# 2. --var: a rollback uses the run's journaled values, says so, and journals an override.
: > "$WORK/reloads"
check second-run 0 run --yes --output json --var label=second "$WORK/switch.yaml"
second=$(run_id_of second-run)
check rollback-vars 0 rollback --yes --var label=third "$second"
[ "$(tail -1 "$WORK/reloads")" = undo-third ] && pass "rollback --var: the override is used" || fail "rollback --var: $(tail -1 "$WORK/reloads")"
contains rollback-vars-says "$WORK/rollback-vars.err" "--var overrides: label=third (run $second used 'second': "
rollback_vars=$(ls -t "$XDG_STATE_HOME"/drctl/runs/*.jsonl | head -1)
grep -q '"text":"--var overrides a journaled value: label=third' "$rollback_vars" && pass "rollback --var: the override is journaled" || fail "rollback --var: no notice in $(basename "$rollback_vars")"
check third-run 0 run --yes --output json --var label=fourth "$WORK/switch.yaml"
check rollback-playbook 0 rollback --yes "$(run_id_of third-run)" --playbook "$WORK/switch.yaml"
[ "$(tail -1 "$WORK/reloads")" = undo-fourth ] && pass "rollback --playbook: the run's --var values are kept" || fail "rollback --playbook: $(tail -1 "$WORK/reloads")"
contains rollback-playbook-says "$WORK/rollback-playbook.err" "using the --var values of run"

# 3. The dead run's own lock: right after a SIGKILL, rollback takes it over (no wait for the
# ttl); while the run lived, another run was refused with when the lease expires.
setsid env -u USER "$DRCTL" run --yes --var label=killed --var hold=yes "$WORK/switch.yaml" > "$WORK/killed.out" 2>&1 &
killed_pid=$!
for _ in $(seq 200); do [ -e "$WORK/reloaded-killed" ] && break; sleep 0.05; done
check lock-held 5 run --yes --var label=other "$WORK/switch.yaml"
contains lock-held-says-expiry "$WORK/lock-held.out" "its lease expires in"
contains lock-held-user-known "$WORK/lock-held.out" "as user $(id -un) (pid $killed_pid)"
old_lease=$(ectl K get /drctl/locks/recovery -w json | python3 -c 'import json,sys; print("%x" % json.load(sys.stdin)["kvs"][0]["lease"])')
old_token=$(mod_revision /drctl/locks/recovery)
kill -KILL -- "-$killed_pid" 2>/dev/null; wait "$killed_pid" 2>/dev/null
killed=$(basename "$(grep -l '"label":"killed"' "$XDG_STATE_HOME"/drctl/runs/*.jsonl)" .jsonl)
# drctl is gone, its step is not (it runs in a process group of its own): no recovery under it.
step_group=$(python3 -c 'import json,sys; print([json.loads(l)["pgid"] for l in open(sys.argv[1]) if "\"entry_process\"" in l][-1])' "$XDG_STATE_HOME/drctl/runs/$killed.jsonl")
STARTED_PIDS+=("$step_group")  # stopped by the cleanup even if the suite fails before its go file
kill -0 -- "-$step_group" && pass "killed: its step's process group $step_group still runs" || fail "killed: the step's group is gone already"
check rollback-under-step 5 rollback --yes "$killed"
contains rollback-under-step-says "$WORK/rollback-under-step.err" "step reload of run $killed is still running as process group $step_group"
check lock-held-dead 5 run --yes --var label=other "$WORK/switch.yaml"
contains lock-held-dead-says "$WORK/lock-held-dead.out" "is gone: drctl rollback $killed or drctl run PLAYBOOK --resume $killed takes the lock over at once"
touch "$WORK/go-killed"
for _ in $(seq 100); do kill -0 -- "-$step_group" 2>/dev/null || break; sleep 0.05; done
started=$(date +%s%N)
check rollback-killed 0 rollback --yes --output json "$killed"
elapsed_ms=$(( ($(date +%s%N) - started) / 1000000 ))
[ "$elapsed_ms" -lt 5000 ] && pass "takeover: rolled back in ${elapsed_ms} ms, within half the 10 s ttl" || fail "takeover: took ${elapsed_ms} ms"
report_is rollback-killed '"is gone" in r["lock"]["took_over"]' True
contains rollback-killed-notes-it "$WORK/rollback-killed.err" "note: took over run lock /drctl/locks/recovery from run $killed"
report_is rollback-killed 'int(r["lock"]["fencing_token"]) > '"$old_token" True
report_is rollback-killed '[x["name"] + ":" + x["status"] for x in r["rollbacks"]]' "['reload:ok', 'flip:ok']"
ETCDCTL_API=3 etcdctl --endpoints "$ETCD_K" lease timetolive "$old_lease" | grep -q "already expired" \
  && pass "takeover: the dead run's lease is revoked" || fail "takeover: lease $old_lease still alive"
grep -q '"text":"took over run lock /drctl/locks/recovery from run '"$killed"' (its process' "$(ls -t "$XDG_STATE_HOME"/drctl/runs/*.jsonl | head -1)" \
  && pass "takeover: journaled" || fail "takeover: not in the journal"

# 4. A run paused (SIGSTOP) past its lease while another takes the lock and writes: once
# continued it changes nothing and exits 5; the other run's value stands.
cat > "$WORK/paused.yaml" <<YAML
version: 1
name: paused
vars: {who: nobody}
lock: {etcd: {endpoints: [$ETCD_K]}, key: /drctl/locks/paused, ttl: 2s}
steps:
  - name: wait
    read_only: true
    exec: {argv: [sh, -c, 'touch $WORK/waiting-\${vars.who}; while [ ! -e $WORK/go-\${vars.who} ]; do sleep 0.05; done']}
  - name: write
    etcd_put: {etcd: {endpoints: [$ETCD_K]}, key: /cfg/owner, value: "\${vars.who}"}
YAML
"$DRCTL" run --yes --output json --var who=A1 "$WORK/paused.yaml" > "$WORK/A1.out" 2> "$WORK/A1.err" &
a1=$!
for _ in $(seq 200); do [ -e "$WORK/waiting-A1" ] && break; sleep 0.05; done
kill -STOP "$a1"
wait_key_gone K /drctl/locks/paused 15 && pass "paused: its lease expired" || fail "paused: the lock outlived 15 s"
touch "$WORK/go-B1"
check B1 0 run --yes --var who=B1 "$WORK/paused.yaml"
touch "$WORK/go-A1"
kill -CONT "$a1"; wait "$a1"; RC=$?; LAST=A1
expect_rc "paused: once continued it exits 5" 5
report_is A1 'r["result"]' lock_lost
report_is A1 '[s["name"] for s in r["steps"]]' "['wait']"
[ "$(ectl K get /cfg/owner --print-value-only)" = B1 ] && pass "paused: the other run's value stands" || fail "paused: /cfg/owner is $(ectl K get /cfg/owner --print-value-only)"

# The lock key deleted by hand and taken by another run while this one's lease still lives:
# the pre-step check passes, and etcd itself refuses the write (the fencing token's compare).
"$DRCTL" run --yes --output json --var who=A2 "$WORK/paused.yaml" > "$WORK/A2.out" 2> "$WORK/A2.err" &
a2=$!
for _ in $(seq 200); do [ -e "$WORK/waiting-A2" ] && break; sleep 0.05; done
ectl K del /drctl/locks/paused > /dev/null
"$DRCTL" run --yes --var who=B2 "$WORK/paused.yaml" > "$WORK/B2.out" 2>&1 &
b2=$!
for _ in $(seq 200); do [ -e "$WORK/waiting-B2" ] && break; sleep 0.05; done
touch "$WORK/go-A2"
wait "$a2"; RC=$?; LAST=A2
expect_rc "fenced: the write refused, exit 5" 5
report_is A2 '[s["name"] + ":" + s["evidence"].get("error", "") for s in r["steps"]]' "['wait:', 'write:fenced']"
report_is A2 'r["result"]' lock_lost
[ "$(ectl K get /cfg/owner --print-value-only)" = B1 ] && pass "fenced: nothing was written" || fail "fenced: /cfg/owner is $(ectl K get /cfg/owner --print-value-only)"
touch "$WORK/go-B2"; wait "$b2"; RC=$?; LAST=B2
expect_rc "fenced: the lock's new holder completes" 0
[ "$(ectl K get /cfg/owner --print-value-only)" = B2 ] && pass "fenced: the new holder wrote" || fail "fenced: /cfg/owner is $(ectl K get /cfg/owner --print-value-only)"

# 5. A step that failed having changed nothing (a program that does not exist) is not undone
# later: its rollback ("drop the user") must not run for a user never created.
cat > "$WORK/never.yaml" <<YAML
version: 1
name: never
vars: {who: a}
steps:
  - name: made
    exec: {argv: [sh, -c, 'echo made >> $WORK/never-log']}
    rollback:
      exec: {argv: [sh, -c, 'echo unmade >> $WORK/never-log']}
  - name: missing
    exec: {argv: [drctl-test-no-such-program]}
    rollback:
      exec: {argv: [sh, -c, 'echo drop-user >> $WORK/never-log']}
YAML
check never-run 2 run --yes --output json "$WORK/never.yaml"
report_is never-run '[x["name"] for x in r["rollbacks"]]' "['made']"
# A resume with a --var that differs from the run's says what runs with which value (it fails
# the same way: made, missing, made undone).
check resume-other-var 2 run --yes --resume "$(run_id_of never-run)" --var who=b "$WORK/never.yaml"
contains resume-other-var-says "$WORK/resume-other-var.err" "--var overrides: who=b (run $(run_id_of never-run) used the playbook's own value: the steps it did ran with that"
check never-rollback 0 rollback --yes --output json "$(run_id_of never-run)"
report_is never-rollback 'len(r["rollbacks"])' 0
[ "$(tr '\n' ' ' < "$WORK/never-log")" = "made unmade made unmade " ] && pass "never: the missing step's rollback never ran" || fail "never: log is $(cat "$WORK/never-log")"

# 6. SIGINT during the automatic rollback: the summary says what was undone, not "nothing".
cat > "$WORK/interrupt.yaml" <<YAML
version: 1
name: interrupt
steps:
  - name: s0
    exec: {argv: [sh, -c, 'true']}
    rollback:
      exec: {argv: [sh, -c, 'echo undo-s0 >> $WORK/int-log']}
  - name: s1
    exec: {argv: [sh, -c, 'true']}
    rollback:
      exec: {argv: [sh, -c, 'touch $WORK/int-rolling; while [ ! -e $WORK/int-go ]; do sleep 0.05; done; echo undo-s1 >> $WORK/int-log']}
  - name: s2
    exec: {argv: [sh, -c, 'true']}
    rollback:
      exec: {argv: [sh, -c, 'echo undo-s2 >> $WORK/int-log']}
  - name: s3
    read_only: true
    exec: {argv: ['false']}
YAML
"$DRCTL" --grace 20s run --yes --output json "$WORK/interrupt.yaml" > "$WORK/interrupt.out" 2> "$WORK/interrupt.err" &
int_pid=$!
for _ in $(seq 200); do [ -e "$WORK/int-rolling" ] && break; sleep 0.05; done
kill -INT "$int_pid"; sleep 0.2; touch "$WORK/int-go"
wait "$int_pid"; RC=$?; LAST=interrupt
expect_rc "interrupted rollback: exit 130" 130
report_is interrupt 'r["summary"]' "interrupted while rolling back after step 's3' failed: 2 of 3 rollback(s) done, 1 not attempted (drctl rollback $(run_id_of interrupt) undoes what is left)"
[ "$(tr '\n' ' ' < "$WORK/int-log")" = "undo-s2 undo-s1 " ] && pass "interrupted rollback: s0 not undone" || fail "interrupted rollback: log $(cat "$WORK/int-log")"

# 7. Rollback or resume of a run that is still running (no lock: nothing else keeps them
# apart) is refused while its process holds its journal; afterwards it works.
cat > "$WORK/live.yaml" <<YAML
version: 1
name: live
steps:
  - name: s1
    exec: {argv: [sh, -c, 'echo s1 >> $WORK/live-log']}
    rollback:
      exec: {argv: [sh, -c, 'echo undo-s1 >> $WORK/live-log']}
  - name: s2
    exec: {argv: [sh, -c, 'touch $WORK/live-waiting; while [ ! -e $WORK/live-go ]; do sleep 0.05; done; echo s2 >> $WORK/live-log']}
    rollback:
      exec: {argv: [sh, -c, 'echo undo-s2 >> $WORK/live-log']}
YAML
"$DRCTL" run --yes --output json "$WORK/live.yaml" > "$WORK/live.out" 2> "$WORK/live.err" &
live_pid=$!
for _ in $(seq 200); do [ -e "$WORK/live-waiting" ] && break; sleep 0.05; done
live=$(basename "$(grep -l '"name":"live"' "$XDG_STATE_HOME"/drctl/runs/*.jsonl)" .jsonl)
check live-rollback 5 rollback --yes "$live"
contains live-rollback-says "$WORK/live-rollback.err" "run $live is still running (pid $live_pid on host"
check live-resume 5 run --yes --resume "$live" "$WORK/live.yaml"
touch "$WORK/live-go"; wait "$live_pid"; RC=$?; LAST=live
expect_rc "live: the run itself completes" 0
[ "$(tr '\n' ' ' < "$WORK/live-log")" = "s1 s2 " ] && pass "live: nothing was undone or repeated under it" || fail "live: log $(cat "$WORK/live-log")"
check live-rollback-after 0 rollback --yes "$live"

# 8. The run's end must be journaled before it is reported: a journal that cannot take the
# last line (file size limit, as a full disk) makes the run exit 6, not 0.
cat > "$WORK/end.yaml" <<YAML
version: 1
name: end
steps:
  - name: output
    read_only: true
    exec: {argv: [python3, -c, 'print("x" * 9000)']}
YAML
( ulimit -f 20; exec "$DRCTL" --state-dir "$WORK/state-end" run --yes --output json "$WORK/end.yaml" 2>"$WORK/end.err" ) | cat > "$WORK/end.out"
RC=${PIPESTATUS[0]}; LAST=end
expect_rc "end not journaled: exit 6" 6
report_is end 'r["result"] + " " + s["output"]["status"]' "journal_failed ok"
report_is end '"but the run'"'"'s end could not be journaled" in r["summary"]' True

# A final report larger than an etcd request (30 steps of 60 KB): its etcd copy is written in
# parts, and another machine reads the run as finished.
{ printf 'version: 1\nname: large\nlock: {etcd: {endpoints: [%s]}, key: /drctl/locks/large, ttl: 10s}\nsteps:\n' "$ETCD_K"
  for i in $(seq 30); do printf '  - name: out%s\n    read_only: true\n    exec: {argv: [python3, -c, "print(chr(121) * 60000)"]}\n' "$i"; done; } > "$WORK/large.yaml"
check large 0 run --yes --output json "$WORK/large.yaml"
parts=$(ectl K get "/drctl/locks/large/journal/$(run_id_of large)/" --prefix --keys-only | grep -c '[.]0001$')
[ "$parts" -ge 1 ] && pass "large: the last line was written in parts" || fail "large: no parts in etcd"
check large-show 0 --state-dir "$WORK/elsewhere" show "$(run_id_of large)" --playbook "$WORK/large.yaml" --output json
report_is large-show 'r["result"] + " " + str(len(r["steps"]))' "success 30"

# 9. Resume after a step that promoted the replica: the check whose premise it changed ("a
# replica") is not re-run; on_resume: run checks are; --recheck re-runs all (and fails).
password="pw-$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')"
export DRCTL_TEST_DB_PASSWORD="$password"
start_mariadb primary 1
start_mariadb replica 2
start_replication primary replica "$password"
cat > "$WORK/promote.yaml" <<YAML
version: 1
name: promote
checks:
  - name: replica-ready
    mysql: {port: $PORT_replica, user: monitor, password_env: DRCTL_TEST_DB_PASSWORD, max_lag: 5s}
  - name: tools-present
    on_resume: run
    exec: {argv: [sh, -c, 'echo checked >> $WORK/tools-checked']}
steps:
  - name: promote
    exec: {argv: [mariadb, --defaults-file=$WORK/replica/my.cnf, -uroot, -e, "STOP SLAVE; RESET SLAVE ALL; SET GLOBAL read_only=0"]}
  - name: announce
    exec: {argv: [sh, -c, 'touch $WORK/waiting-db; while [ ! -e $WORK/go-db ]; do sleep 0.05; done']}
YAML
setsid "$DRCTL" run --yes "$WORK/promote.yaml" > "$WORK/db-killed.out" 2>&1 &
db_pid=$!
for _ in $(seq 400); do [ -e "$WORK/waiting-db" ] && break; sleep 0.05; done
kill -KILL -- "-$db_pid" 2>/dev/null; wait "$db_pid" 2>/dev/null
db_run=$(basename "$(grep -l '"name":"promote"' "$XDG_STATE_HOME"/drctl/runs/*.jsonl | head -1)" .jsonl)
[ -z "$(sql replica 'SHOW SLAVE STATUS')" ] && pass "promote: the replica is no replica any more" || fail "promote: still a replica"
check resume-under-step 5 run --yes --resume "$db_run" "$WORK/promote.yaml"
contains resume-under-step-says "$WORK/resume-under-step.err" "step announce of run $db_run is still running as process group"
touch "$WORK/go-db"
db_group=$(python3 -c 'import json,sys; print([json.loads(l)["pgid"] for l in open(sys.argv[1]) if "\"entry_process\"" in l][-1])' "$XDG_STATE_HOME/drctl/runs/$db_run.jsonl")
STARTED_PIDS+=("$db_group")
for _ in $(seq 100); do kill -0 -- "-$db_group" 2>/dev/null || break; sleep 0.05; done
check resume-recheck 1 run --yes --output json --resume "$db_run" --recheck "$WORK/promote.yaml"
is resume-recheck 'c["status"]' failed
report_is resume-recheck '"nothing more was changed (what run '"$db_run"' did stays done)" in r["summary"]' True
check resumed-db 0 run --yes --output json --resume "$db_run" "$WORK/promote.yaml"
report_is resumed-db '[x["name"] + ":" + x["status"] for x in r["checks"]]' "['replica-ready:skipped', 'tools-present:ok']"
report_is resumed-db '"not re-run" in r["checks"][0]["message"]' True
report_is resumed-db '[s["name"] + ":" + s["status"] for s in r["steps"]]' "['promote:ok', 'announce:ok']"
report_is resumed-db '"done_in_run" in r["steps"][0]["evidence"]' True

finish
