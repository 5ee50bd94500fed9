#!/usr/bin/env bash
# Journal retention against real etcd: lock.journal_retention applied after every run, to the
# journal files and to their etcd copy (counted by etcdctl, not by drctl); a killed run, a
# partial run and a killed run's chain are kept until it ended well, then pruned whole; `runs
# --prune` with --keep, --older-than, --dry-run; bad values; etcd hung while pruning.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/etcd.sh"
require_tool etcd
require_tool etcdctl

start_etcd R 1
STATE="$XDG_STATE_HOME/drctl"
KEY=/drctl/locks/retention
mkdir -p "$WORK/marks"
# Step `a` leaves a mark and sleeps `nap` (a run is killed there); `b` runs `second` (false:
# the run fails with `done` done and no rollback for it: partial).
cat > "$WORK/r.yaml" <<YAML
version: 1
name: retention
vars: {nap: "0", mark: none, second: "true"}
lock: {etcd: {endpoints: [$ETCD_R], dial_timeout: 500ms}, key: $KEY, ttl: 2s, journal_retention: 5}
steps:
  - name: a
    exec: {shell: true, command: 'touch $WORK/marks/\${vars.mark}; sleep \${vars.nap}'}
    rollback: {exec: {argv: ["true"]}}
  - name: done
    exec: {argv: ["true"]}
  - name: b
    exec: {argv: ["\${vars.second}"]}
YAML

# etcd_runs FILE: every run id under the journal prefix with its result ("" without an end),
# read by etcdctl, as JSON.
etcd_runs() {
  ectl R get "$KEY/journal/" --prefix -w json | python3 -c '
import base64, json, sys
runs = {}
for kv in sorted(json.load(sys.stdin).get("kvs", []), key=lambda kv: base64.b64decode(kv["key"])):
    tail = base64.b64decode(kv["key"]).decode().split("/journal/", 1)[1]
    run = tail.split("/")[0]
    line = base64.b64decode(kv["value"]).decode()
    runs.setdefault(run, "")
    if line.startswith("{") and json.loads(line).get("type") == "run_finished":
        runs[run] = json.loads(line)["report"]["result"]
print(json.dumps(runs, sort_keys=True))' > "$1"
}
# local_runs FILE: the same from the journal files.
local_runs() {
  python3 -c '
import json, os, sys
runs = {}
for name in os.listdir(sys.argv[1]):
    lines = [json.loads(l) for l in open(os.path.join(sys.argv[1], name)) if l.strip()]
    end = [l for l in lines if l["type"] == "run_finished"]
    runs[name[:-len(".jsonl")]] = end[0]["report"]["result"] if end else ""
print(json.dumps(runs, sort_keys=True))' "$STATE/runs" > "$1"
}
# holds DESCRIPTION FILE PYTHON-EXPR: EXPR over r (run id -> result) is True.
holds() {
  local got
  got=$(python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$2" "$3" 2>&1)
  [ "$got" = True ] && pass "$1" || fail "$1: $3 is $got" "$(cat "$2")"
}
finished() { echo 'sorted(k for k, v in r.items() if v and v != "partial")'; }
run_id_of() { sed -n 's/.*(run \([0-9A-Za-z-]*\)).*/\1/p' "$WORK/$1.out" | head -1; }

# kill_in_a NAME: a run SIGKILLed in step a (once its mark is there); sets NAME_id.
kill_in_a() {
  setsid "$DRCTL" run --yes --var nap=30 --var mark="$1" "$WORK/r.yaml" > "$WORK/$1.out" 2>&1 &
  local pid=$!
  for _ in $(seq 600); do [ -e "$WORK/marks/$1" ] && break; sleep 0.05; done
  [ -e "$WORK/marks/$1" ] && pass "$1: killed in step a" || fail "$1: never reached step a" "$(cat "$WORK/$1.out")"
  kill -KILL -- "-$pid"; wait "$pid" 2>/dev/null
  local journal
  journal=$(grep -l "\"mark\":\"$1\"" "$STATE"/runs/*.jsonl | head -1)
  kill -KILL -- "-$(python3 -c 'import json,sys; print([json.loads(l)["pgid"] for l in open(sys.argv[1]) if "\"entry_process\"" in l][-1])' "$journal")" 2>/dev/null
  printf -v "$1_id" '%s' "$(basename "$journal" .jsonl)"
  wait_key_gone R "$KEY" 15 || fail "$1: its lock never expired"
}

# 1. A killed run, a killed run resumed later, a partial run, then 30 runs: 5 finished stay.
kill_in_a killed
kill_in_a later
check partial 3 run --yes --var second=false "$WORK/r.yaml"
partial_id=$(run_id_of partial)
ectl R get "$KEY/journal/$killed_id/" --prefix -w json > "$WORK/killed-before.json"
sha_killed=$(sha256sum < "$STATE/runs/$killed_id.jsonl")
ok=0
for i in $(seq 30); do
  "$DRCTL" run --yes "$WORK/r.yaml" > "$WORK/run$i.out" 2> "$WORK/run$i.err" && ok=$((ok + 1))
done
[ "$ok" = 30 ] && pass "30 runs succeed" || fail "30 runs: $ok succeeded" "$(cat "$WORK/run30.err")"
lacks "no run warned" <(cat "$WORK"/run*.err) "warning"
etcd_runs "$WORK/etcd1.json"; local_runs "$WORK/local1.json"
last5=$(for i in 26 27 28 29 30; do run_id_of "run$i"; done | sort | python3 -c 'import sys; print(sorted(sys.stdin.read().split()))')
holds "etcd: exactly the 5 newest finished runs' keys" "$WORK/etcd1.json" "$(finished) == $last5"
holds "disk: exactly the 5 newest finished runs' journals" "$WORK/local1.json" "$(finished) == $last5"
holds "etcd: the killed runs and the partial one are still there" "$WORK/etcd1.json" \
  "(r['$killed_id'], r['$later_id'], r['$partial_id'], len(r)) == ('', '', 'partial', 8)"
holds "disk: the killed runs and the partial one are still there" "$WORK/local1.json" \
  "(r['$killed_id'], r['$later_id'], r['$partial_id'], len(r)) == ('', '', 'partial', 8)"
ectl R get "$KEY/journal/$killed_id/" --prefix -w json > "$WORK/killed-after.json"
# Its run_started and entry_started lines are in etcd before step a runs; its entry_process line
# only when the 10 ms linger's sync ended before the kill, so 2 or 3 keys.
untouched=$(python3 - "$WORK/killed-before.json" "$WORK/killed-after.json" <<'PY'
import base64, json, sys
a, b = (json.load(open(p)).get("kvs", []) for p in sys.argv[1:])
name = lambda kvs: [base64.b64decode(kv["key"]).decode().rsplit("/", 1)[1] for kv in kvs]
print("yes" if a == b and len(a) >= 2 else f"before {name(a)}, after {name(b)}, equal: {a == b}")
PY
)
[ "$untouched" = yes ] && pass "etcd: the killed run's keys are untouched (same keys, values, revisions)" ||
  fail "etcd: the killed run's keys changed: $untouched"
[ "$(sha256sum < "$STATE/runs/$killed_id.jsonl")" = "$sha_killed" ] && pass "disk: the killed run's journal is untouched" || fail "disk: the killed run's journal changed"

# 2. The killed run resumed: its chain ended well, so it is counted (2 runs) and kept while
# it is among the newest; 5 runs later it goes, both runs together, from both places.
check resume 0 run --yes --var nap=0 --resume "$later_id" "$WORK/r.yaml"
resume_id=$(sed -n 's/.*(run \([0-9A-Za-z-]*\), resuming.*/\1/p' "$WORK/resume.out" | head -1)
etcd_runs "$WORK/etcd2.json"; local_runs "$WORK/local2.json"
for f in etcd2 local2; do
  holds "$f: the resumed chain stays, counted as 2 of the 5" "$WORK/$f.json" \
    "'$later_id' in r and r['$resume_id'] == 'success' and len($(finished)) == 4 and len(r) == 7"
done
for i in $(seq 31 35); do "$DRCTL" run --yes "$WORK/r.yaml" > "$WORK/run$i.out" 2> "$WORK/run$i.err"; done
etcd_runs "$WORK/etcd3.json"; local_runs "$WORK/local3.json"
for f in etcd3 local3; do
  holds "$f: the chain that ended well went whole" "$WORK/$f.json" \
    "'$later_id' not in r and '$resume_id' not in r and len($(finished)) == 5 and len(r) == 7"
done

# 3. runs --prune: --dry-run changes nothing; --keep 2 prunes both copies.
rev=$(etcd_revision R)
check dry 0 runs --prune --keep 2 --playbook "$WORK/r.yaml" --dry-run
[ "$(grep -c '^would prune ' "$WORK/dry.out")" = 7 ] && pass "dry-run: 3 runs listed for each place, and a total" || fail "dry-run lines" "$(cat "$WORK/dry.out")"
contains dry-total "$WORK/dry.out" "would prune 3 run(s): 3 from the state dir, 3 from etcd (keep 2 finished runs)"
[ "$(etcd_revision R)" = "$rev" ] && pass "dry-run: etcd's revision unchanged" || fail "dry-run: etcd changed"
local_runs "$WORK/local4.json"; cmp -s "$WORK/local3.json" "$WORK/local4.json" && pass "dry-run: the journals unchanged" || fail "dry-run: journals changed"
# An approval decision of a run to be pruned goes with it, here and in etcd.
# (one the dry run said would go: run ids of one second do not sort by time)
doomed=$(awk '$1 == "would" && $2 == "prune" && $3 ~ /^[0-9]/ {print $3; exit}' "$WORK/dry.out")
mkdir -p -m 700 "$STATE/approvals/$doomed" && echo '{}' > "$STATE/approvals/$doomed/gate.json"
ectl R put "$KEY/approvals/$doomed/gate" '{}' > /dev/null
check keep2 0 runs --prune --keep 2 --playbook "$WORK/r.yaml"
contains keep2-total "$WORK/keep2.out" "pruned 3 run(s): 3 from the state dir, 3 from etcd ("
etcd_runs "$WORK/etcd5.json"; local_runs "$WORK/local5.json"
for f in etcd5 local5; do
  holds "$f: --keep 2 leaves 2 finished runs, the killed and the partial one" "$WORK/$f.json" \
    "len($(finished)) == 2 and r['$killed_id'] == '' and r['$partial_id'] == 'partial'"
done
[ ! -e "$STATE/approvals/$doomed" ] && pass "the pruned run's approvals dir is gone" || fail "approvals dir of $doomed still there"
[ "$(etcd_count R "$KEY/approvals/$doomed/")" = 0 ] && pass "the pruned run's approval keys are gone" || fail "approval keys of $doomed still there"
check keep2-again 0 runs --prune --keep 2 --playbook "$WORK/r.yaml"
contains keep2-again-nothing "$WORK/keep2-again.out" "pruned 0 run(s)"

# 4. --older-than, on journals of another playbook written years ago (local only, by name).
old_journal() {  # old_journal ID [END]: a journal of playbook `old` started in 2020
  {
    echo "{\"type\":\"run_started\",\"run_id\":\"$1\",\"mode\":\"run\",\"playbook\":{\"name\":\"old\"},\"started_at\":\"2020-01-0${2:-1}T00:00:00.000Z\"}"
    [ -n "${3:-}" ] && echo "{\"type\":\"run_finished\",\"report\":{\"result\":\"$3\",\"exit_code\":0}}"
  } > "$STATE/runs/$1.jsonl"; chmod 600 "$STATE/runs/$1.jsonl"
}
old_journal OLD1 1 success; old_journal OLD2 2 rolled_back; old_journal OLD3 3; old_journal OLD4 4 partial
check young 0 runs --prune --older-than 30d --name retention
contains young-nothing "$WORK/young.out" "pruned 0 run(s)"
check old 0 runs --prune --older-than 30d
contains old-total "$WORK/old.out" "pruned 2 run(s): 2 from the state dir, 0 from etcd (keep runs younger than 720h)"
[ ! -e "$STATE/runs/OLD1.jsonl" ] && [ ! -e "$STATE/runs/OLD2.jsonl" ] && [ -e "$STATE/runs/OLD3.jsonl" ] && [ -e "$STATE/runs/OLD4.jsonl" ] \
  && pass "--older-than: old finished runs pruned; one without an end and a partial one kept" || fail "--older-than" "$(ls "$STATE/runs")"
local_runs "$WORK/local6.json"
holds "--older-than: the young runs of the other playbook untouched" "$WORK/local6.json" "len($(finished)) == 2"

# 5. Bad values: exit 64, one line.
usage() {  # usage NAME ARGS...: exit 64 and one line on stderr, naming the problem
  check "$@"; [ "$(wc -l < "$WORK/$1.err")" = 1 ] && pass "$1: one line" || fail "$1: $(wc -l < "$WORK/$1.err") lines" "$(cat "$WORK/$1.err")"
}
usage bad-keep 64 runs --prune --keep abc
contains bad-keep-says "$WORK/bad-keep.err" "drctl: error: --keep abc: expected a number of runs"
usage bad-age 64 runs --prune --older-than 5x
contains bad-age-says "$WORK/bad-age.err" "drctl: error: --older-than 5x: expected an age (30d, 12h, 90m)"
usage keep-alone 64 runs --keep 2
contains keep-alone-says "$WORK/keep-alone.err" "--keep goes with --prune"
usage with-since 64 runs --prune --since 7d
usage both-names 64 runs --prune --name x --playbook "$WORK/r.yaml"
sed 's/journal_retention: 5/journal_retention: 0/' "$WORK/r.yaml" > "$WORK/zero.yaml"
check zero 65 validate "$WORK/zero.yaml"
contains zero-at "$WORK/zero.err" "zero.yaml:4:"
contains zero-says "$WORK/zero.err" "lock.journal_retention: expected a number of runs from 1 to 9999999, got 0"
sed 's/journal_retention: 5/journal_retention: 30x/' "$WORK/r.yaml" > "$WORK/junk.yaml"
check junk 65 validate "$WORK/junk.yaml"
contains junk-says "$WORK/junk.err" "lock.journal_retention: expected a number of finished runs to keep (e.g. 20) or an age (e.g. 30d, 12h), got '30x'"
sed 's/journal_retention: 5/journal_retention: 30d/' "$WORK/r.yaml" > "$WORK/days.yaml"
check days 0 validate "$WORK/days.yaml"

# 6. etcd hung while pruning (stopped by the metrics push, which comes after the journal's
# end): one warning line, the run keeps its exit code; nothing pruned from etcd.
cat > "$WORK/push.py" <<'PY'
import http.server, os, signal, sys
class Stop(http.server.BaseHTTPRequestHandler):
    def do_PUT(self):
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        os.kill(int(sys.argv[2]), signal.SIGSTOP)
        open(sys.argv[3], "w").close()
        self.send_response(200); self.end_headers()
    do_POST = do_PUT
    def log_message(self, *args): pass
http.server.HTTPServer(("127.0.0.1", int(sys.argv[1])), Stop).serve_forever()
PY
push_port=$(closed_port)
setsid python3 "$WORK/push.py" "$push_port" "$ETCD_PID_R_1" "$WORK/marks/stopped" </dev/null >/dev/null 2>&1 &
STARTED_PIDS+=($!)
for _ in $(seq 100); do (exec 3<>"/dev/tcp/127.0.0.1/$push_port") 2>/dev/null && break; sleep 0.05; done
for i in $(seq 36 38); do "$DRCTL" run --yes "$WORK/r.yaml" > "$WORK/run$i.out" 2> "$WORK/run$i.err"; done
etcd_runs "$WORK/etcd7.json"
holds "hung: 5 finished runs before" "$WORK/etcd7.json" "len($(finished)) == 5"
check hung 0 run --yes --push-metrics "http://127.0.0.1:$push_port" "$WORK/r.yaml"
kill -CONT "$ETCD_PID_R_1"
[ -e "$WORK/marks/stopped" ] && pass "hung: etcd was stopped after the journal's end" || fail "hung: the push never came"
[ "$(grep -c 'journal retention' "$WORK/hung.err")" = 1 ] && pass "hung: one warning line" || fail "hung: warning" "$(cat "$WORK/hung.err")"
contains hung-warning "$WORK/hung.err" "drctl: warning: journal retention: "
contains hung-stands "$WORK/hung.err" "(the run's result stands)"
etcd_runs "$WORK/etcd8.json"
python3 -c 'import json,sys; a=json.load(open(sys.argv[1])); b=json.load(open(sys.argv[2])); sys.exit(0 if set(a) <= set(b) and len(b) == len(a) + 1 else 1)' "$WORK/etcd7.json" "$WORK/etcd8.json" \
  && pass "hung: nothing pruned from etcd, the run's journal is there" || fail "hung: etcd runs" "$(cat "$WORK/etcd7.json" "$WORK/etcd8.json")"
local_runs "$WORK/local8.json"
holds "hung: the state dir was pruned all the same" "$WORK/local8.json" "len($(finished)) == 5"

# A run holding the lock while another prunes: etcd keeps every key (the delete is fenced on the
# lock's key being absent: a resume that took the lock after the listing keeps its chain).
"$DRCTL" run --yes --var nap=30 --var mark=holding "$WORK/r.yaml" > "$WORK/holding.out" 2>&1 &
holder=$!
for _ in $(seq 200); do [ -e "$WORK/marks/holding" ] && break; sleep 0.05; done
before=$(etcd_count R "$KEY/journal/")
check held 1 runs --prune --keep 0 --playbook "$WORK/r.yaml"
contains held-says "$WORK/held.err" "is held by a run now: its journals were not pruned"
[ "$(etcd_count R "$KEY/journal/")" -ge "$before" ] && pass "held: no etcd key pruned while the lock is held" || fail "held: keys went"
kill -INT "$holder"; wait "$holder" 2>/dev/null

finish
