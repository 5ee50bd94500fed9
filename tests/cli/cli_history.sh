#!/usr/bin/env bash
# The history of runs against real etcd: `drctl show` of a run killed (SIGKILL) in a step, in
# all three formats (a drctl.report/v1 document valid against `drctl schema report`, with the
# step it died in as `unknown`; text naming it; JUnit with the kind in classname); `drctl runs`
# with a mode column and what became of each killed run (resumed by, rolled back by), a refused
# lock attempt, and the same table, newest first, from the etcd copy (`runs --playbook`).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/etcd.sh"
require_tool etcd
require_tool etcdctl
require_tool xmllint
/usr/bin/python3 -c 'import jsonschema' 2>/dev/null || { [ -n "${CI:-}" ] && exit 1; echo "skipped: python3-jsonschema missing"; exit 125; }

start_etcd H 1
# `nap` seconds in the middle step, so a run can be killed there; `first` prints a number.
cat > "$WORK/h.yaml" <<YAML
version: 1
name: history
vars: {nap: "0"}
lock: {etcd: {endpoints: [$ETCD_H]}, key: /drctl/locks/history, ttl: 2s}
steps:
  - name: first
    exec: {argv: [echo, "199"]}
    rollback: {exec: {argv: ["true"]}}
  - name: sleepy
    exec: {argv: [sleep, "\${vars.nap}"]}
    rollback: {exec: {argv: ["true"]}}
  - name: last
    exec: {argv: ["true"]}
    rollback: {exec: {argv: ["true"]}}
YAML

# kill_in_sleepy NAME: starts a run whose step `sleepy` sleeps 30 s, SIGKILLs drctl and its
# step in it, waits for its lock to expire; sets NAME_id.
kill_in_sleepy() {
  setsid "$DRCTL" run --yes --var nap=30 "$WORK/h.yaml" > "$WORK/$1.out" 2>&1 &
  local pid=$!
  for _ in $(seq 200); do grep -q "step     sleepy (exec" "$WORK/$1.out" && break; sleep 0.05; done
  grep -q "step     sleepy (exec" "$WORK/$1.out" && pass "$1: killed in step sleepy" || fail "$1: never reached sleepy" "$(cat "$WORK/$1.out")"
  kill -KILL -- "-$pid"; wait "$pid" 2>/dev/null
  # Its step, in a process group of its own (journaled), goes on without drctl: stop it too.
  local journal
  journal=$(grep -l '"name":"sleepy"' "$XDG_STATE_HOME"/drctl/runs/*.jsonl | xargs ls -t | head -1)
  kill -KILL -- "-$(python3 -c 'import json,sys; print([json.loads(l)["pgid"] for l in open(sys.argv[1]) if "\"entry_process\"" in l][-1])' "$journal")" 2>/dev/null
  printf -v "$1_id" '%s' "$(sed -n 's/.*(run \([0-9A-Za-z-]*\)).*/\1/p' "$WORK/$1.out" | head -1)"
  wait_key_gone H /drctl/locks/history 10 || fail "$1: its lock never expired"
}

kill_in_sleepy killed
"$DRCTL" schema report > "$WORK/report.schema.json"
if cmp -s "$WORK/report.schema.json" "$SOURCE_DIR/playbooks/schema/report-v1.schema.json"; then pass "committed report schema is current"; else fail "playbooks/schema/report-v1.schema.json differs from 'drctl schema report'"; fi

# validates NAME: NAME.out is a drctl.report/v1 document valid against the report's schema.
validates() {
  if /usr/bin/python3 - "$WORK/report.schema.json" "$WORK/$1.out" 2>"$WORK/$1.schema.err" <<'PY'
import json, sys, jsonschema
schema = json.load(open(sys.argv[1]))
jsonschema.Draft7Validator.check_schema(schema)
errors = list(jsonschema.Draft7Validator(schema).iter_errors(json.load(open(sys.argv[2]))))
for e in errors[:5]: print(list(e.absolute_path), e.message, file=sys.stderr)
sys.exit(1 if errors else 0)
PY
  then pass "$1: valid against the report's JSON Schema"; else fail "$1: not valid against the report schema" "$(cat "$WORK/$1.schema.err")"; fi
}

# 1. show of the killed run, in the three formats.
check show-json 0 show "$killed_id" --output json --junit "$WORK/killed.xml"
validates show-json
report_is show-json 'r["result"], r["exit_code"]' "('unfinished', None)"
report_is show-json '[(x["name"], x["kind"], x["status"]) for x in r["steps"]]' "[('first', 'exec', 'ok'), ('sleepy', 'exec', 'unknown')]"
report_is show-json 's["sleepy"]["evidence"]["error"]' no_end
report_is show-json 'r["totals"]["steps"]["unknown"]' 1
report_is show-json 'r["summary"]' "the journal has no end: the run stopped in step 'sleepy', whose effect is unknown; the process was killed (pid $(python3 -c 'import json,sys; print(json.loads(open(sys.argv[1]).readline())["pid"])' "$XDG_STATE_HOME/drctl/runs/$killed_id.jsonl") on this host is gone)"
# Outputs keep their types in the report, and their text in the journal (what --resume reads).
report_is show-json 's["first"]["outputs"]' "{'exit_code': 0, 'stdout': 199}"
grep -q '"outputs":{"exit_code":"0","stdout":"199"}' "$XDG_STATE_HOME/drctl/runs/$killed_id.jsonl" \
  && pass "the journal keeps outputs as text" || fail "the journal's outputs are not text"
classname=$(xmllint --xpath 'string(//testcase[@name="sleepy"]/@classname)' "$WORK/killed.xml")
[ "$classname" = "history.steps.exec" ] && pass "JUnit: classname has the kind ($classname)" || fail "JUnit classname: '$classname'"
failure=$(xmllint --xpath 'string(//testcase[@name="sleepy"]/failure/@type)' "$WORK/killed.xml")
[ "$failure" = unknown ] && pass "JUnit: the step it died in fails as unknown" || fail "JUnit failure type: '$failure'"
check show-text 0 show "$killed_id"
contains show-text-names-the-step "$WORK/show-text.out" "step       sleepy                       exec           unknown"
contains show-text-result "$WORK/show-text.out" "result: unfinished (no exit): the journal has no end: the run stopped in step 'sleepy'"
contains show-text-next "$WORK/show-text.out" "next: drctl run $WORK/h.yaml --resume $killed_id"
# From another machine: the etcd copy gives the same document.
check show-etcd 0 --state-dir "$WORK/empty" show "$killed_id" --playbook "$WORK/h.yaml" --output json
validates show-etcd
report_is show-etcd '[x["status"] for x in r["steps"]]' "['ok', 'unknown']"
check show-unknown 64 show 20990101T000000Z-000000
contains show-unknown-names-it "$WORK/show-unknown.err" "no run 20990101T000000Z-000000"

# 2. A refused attempt while a run holds the lock; then the killed run is resumed.
setsid "$DRCTL" run --yes --var nap=3 "$WORK/h.yaml" > "$WORK/holder.out" 2>&1 &
holder=$!
for _ in $(seq 200); do grep -q "step     sleepy (exec" "$WORK/holder.out" && break; sleep 0.05; done
check refused 5 run --yes "$WORK/h.yaml"
wait "$holder"; RC=$?; LAST=holder; expect_rc "holder: completes" 0
check resumed 0 run --yes --var nap=0 --resume "$killed_id" "$WORK/h.yaml"
resumed_id=$(sed -n 's/.*(run \([0-9A-Za-z-]*\), resuming.*/\1/p' "$WORK/resumed.out" | head -1)
# A second killed run, rolled back.
kill_in_sleepy killed2
check rollback 0 rollback --yes "$killed2_id"
rollback_id=$(sed -n 's/.* (run \([0-9A-Za-z-]*\))$/\1/p' "$WORK/rollback.out" | head -1)
[ -n "$resumed_id" ] && [ -n "$rollback_id" ] && pass "run ids: resume $resumed_id, rollback $rollback_id" || fail "run ids not found" "$(head -3 "$WORK/resumed.out" "$WORK/rollback.out")"

# 3. runs: a history, newest first, with modes and what became of the killed runs.
check runs 0 runs
row() { grep "^$1 " "$WORK/runs.out"; }
[[ $(row "$killed_id") =~ \ run\ +history\ +killed\;\ resumed\ by\ $resumed_id$ ]] && pass "runs: the killed run says it was resumed" || fail "runs: killed row" "$(row "$killed_id")"
[[ $(row "$resumed_id") =~ \ resume\ of\ $killed_id\ +history\ +success\ \(exit\ 0\)$ ]] && pass "runs: the resume names what it resumed" || fail "runs: resume row" "$(row "$resumed_id")"
[[ $(row "$killed2_id") =~ killed\;\ rolled\ back\ by\ $rollback_id$ ]] && pass "runs: the second killed run says it was rolled back" || fail "runs: killed2 row" "$(row "$killed2_id")"
[[ $(row "$rollback_id") =~ \ rollback\ of\ $killed2_id\ +history\ +success ]] && pass "runs: the rollback's mode" || fail "runs: rollback row" "$(row "$rollback_id")"
grep -q " run  *history  *lock_held (exit 5): refused, no step ran$" "$WORK/runs.out" && pass "runs: the refused attempt says so" || fail "runs: no refused row" "$(cat "$WORK/runs.out")"
lacks runs-no-forever "$WORK/runs.out" "no end"
head -1 "$WORK/runs.out" | grep -q "^RUN ID  *STARTED  *MODE  *PLAYBOOK  *RESULT$" && pass "runs: a header" || fail "runs: header $(head -1 "$WORK/runs.out")"
[ "$(sed -n 2p "$WORK/runs.out" | cut -d' ' -f1)" = "$rollback_id" ] && pass "runs: newest first" || fail "runs: first row is not the newest"
check runs-json 0 runs --output json
python3 - "$WORK/runs-json.out" "$killed_id" "$resumed_id" "$killed2_id" "$rollback_id" <<'PY' 2>"$WORK/runs-json.err" && pass "runs --output json: modes, followers, process" || fail "runs json" "$(cat "$WORK/runs-json.err")"
import json, sys
runs = {r["run_id"]: r for r in json.load(open(sys.argv[1]))}
killed, resumed, killed2, rollback = sys.argv[2:]
assert runs[killed]["process"] == "killed" and runs[killed]["result"] is None, runs[killed]
assert runs[killed]["followed_by"] == [{"run_id": resumed, "mode": "resume"}], runs[killed]
assert runs[resumed]["mode"] == "run" and runs[resumed]["resumed_from"] == killed, runs[resumed]
assert runs[rollback]["mode"] == "rollback" and runs[rollback]["rolls_back"] == killed2, runs[rollback]
assert runs[killed2]["followed_by"] == [{"run_id": rollback, "mode": "rollback"}], runs[killed2]
PY
# The etcd copy gives the same table, newest first.
check runs-etcd 0 --state-dir "$WORK/empty" runs --playbook "$WORK/h.yaml"
same=0
for id in "$killed_id" "$resumed_id" "$killed2_id" "$rollback_id"; do
  [ "$(grep "^$id " "$WORK/runs-etcd.out")" = "$(row "$id")" ] && same=$((same + 1))
done
[ "$same" = 4 ] && pass "runs --playbook: the same rows as the state dir's" || fail "runs --playbook: $same of 4 rows the same" "$(cat "$WORK/runs-etcd.out")"
[ "$(head -1 "$WORK/runs-etcd.out")" = "$(head -1 "$WORK/runs.out")" ] && pass "runs --playbook: the same header" || fail "runs --playbook: header"
[ "$(sed -n 2p "$WORK/runs-etcd.out" | cut -d' ' -f1)" = "$rollback_id" ] && pass "runs --playbook: newest first" || fail "runs --playbook: not newest first"

# 4. runs --since: a duration, a date, or a time in UTC (Z); anything else is a usage error.
check since-junk 64 runs --since 2026-1x-01
contains since-junk-usage "$WORK/since-junk.err" "--since 2026-1x-01: expected a duration (7d, 12h, 30m) or a date"
[ "$(wc -l < "$WORK/since-junk.err")" = 1 ] && pass "since-junk: one line" || fail "since-junk: not one line" "$(cat "$WORK/since-junk.err")"
check since-offset 64 runs --since 2026-11-01T08:00:00+02:00
check since-lowercase 64 runs --since 2026-11-01t08:00:00z
check since-trailing 64 runs --since "2026-11-01 junk"
check since-month-13 64 runs --since 2026-13-01
check since-non-ascii 64 runs --since $'\xd9\xa2\xd9\xa0\xd9\xa2\xd9\xa6-11-01'
check since-date 0 runs --since 2026-11-01
if [ "$(date -u +%F)" \> 2026-11-01 ]; then contains since-date-lists "$WORK/since-date.out" "$rollback_id"; fi
# A time to the second lists a run that started within that second (started_at has milliseconds).
started=$(python3 -c 'import json,sys; print([r["started_at"] for r in json.load(open(sys.argv[1])) if r["run_id"] == sys.argv[2]][0])' "$WORK/runs-json.out" "$rollback_id")
check since-second 0 runs --since "${started:0:19}Z"
contains since-second-lists "$WORK/since-second.out" "$rollback_id"
check since-fraction 0 runs --since "${started:0:19}.0Z"
contains since-fraction-lists "$WORK/since-fraction.out" "$rollback_id"
finish
