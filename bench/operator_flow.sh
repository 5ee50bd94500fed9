#!/usr/bin/env bash
# Benchmark (not a test) for the operator's flow (issue 18), against a real etcd:
#  1. approval latency: from `drctl approve` being started to the waiting step's end (its
#     finished_at in the report), through the state dir and through etcd (a run with a lock);
#     the approve command's own wall time;
#  2. `drctl plan --live` of an etcd_put and a file_and_exec step (reads etcd, diffs the file,
#     runs the precheck on a copy) against the peer an SRE would type: `etcdctl get` and
#     `diff -u` (hyperfine);
#  3. pruning 100 runs' journals from etcd: `drctl runs --prune --keep 0 --playbook` against
#     the peer, one `etcdctl del --prefix` per run.
# Usage: bench/operator_flow.sh [build dir]   (RUNS=10)
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/common.sh "${1:-build}"
load_etcd_helpers
runs=${RUNS:-10}
start_etcd K 1
export XDG_STATE_HOME="$WORK/state"

gate_playbook() {  # gate_playbook NAME [LOCK-KEY]
  {
    printf 'version: 1\nname: %s\n' "$1"
    [ -n "${2:-}" ] && printf 'lock: {etcd: {endpoints: [%s]}, key: %s, ttl: 5s}\n' "$ETCD_K" "$2"
    printf 'steps:\n  - {name: gate, timeout: 60s, approval: {message: bench}}\n'
  } > "$WORK/$1.yaml"
}
waiting_run() {
  local id=""
  for _ in $(seq 400); do
    id=$("$DRCTL" runs --output json | python3 -c '
import json,sys
for r in json.load(sys.stdin):
    if r.get("waiting_for_approval"): print(r["run_id"]); break')
    [ -n "$id" ] && break; sleep 0.02
  done
  echo "$id"
}
# latency NAME: runs one waiting run, approves it; prints "latency_ms approve_ms".
latency() {
  "$DRCTL" run --yes --quiet --output json "$WORK/$1.yaml" > "$WORK/$1.out" 2>/dev/null < /dev/null &
  local pid=$! id started ended
  id=$(waiting_run)
  started=$(date +%s.%N)
  "$DRCTL" approve "$id" gate > /dev/null
  ended=$(date +%s.%N)
  wait "$pid"
  python3 - "$WORK/$1.out" "$started" "$ended" <<'PY'
import datetime, json, sys
r = json.load(open(sys.argv[1]))
gate = [s for s in r["steps"] if s["name"] == "gate"][0]
end = datetime.datetime.strptime(gate["finished_at"], "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=datetime.timezone.utc).timestamp()
print(f"{(end - float(sys.argv[2])) * 1000:.1f} {(float(sys.argv[3]) - float(sys.argv[2])) * 1000:.1f}")
PY
}

gate_playbook local
gate_playbook remote /bench/locks/approval
for where in local remote; do
  : > "$WORK/lat-$where"
  for _ in $(seq "$runs"); do latency "$where" >> "$WORK/lat-$where"; done
done

# 2. plan --live against etcdctl get + diff -u.
ectl K put /bench/route/order-svc futian > /dev/null
mkdir -p "$WORK/conf"
for i in $(seq 200); do echo "server 10.1.0.$((i % 250)):8080 weight=1; # line $i"; done > "$WORK/conf/upstream.conf"
sed 's/10\.1\./10.2./' "$WORK/conf/upstream.conf" > "$WORK/conf/upstream.new"
cat > "$WORK/live.yaml" <<YAML
version: 1
name: live
steps:
  - name: route-key
    etcd_put: {etcd: {endpoints: [$ETCD_K]}, key: /bench/route/order-svc, value: bantian, expect_value: futian}
  - name: upstream
    routing_reload:
      file_and_exec: {path: $WORK/conf/upstream.conf, content_file: $WORK/conf/upstream.new, precheck: [test, -s, "{candidate}"], reload: ["true"]}
      verify: {url: "http://127.0.0.1:$(closed_port)/", expect: {status: 200}, timeout: 1s}
YAML
"$DRCTL" plan --live "$WORK/live.yaml" > "$WORK/live.txt"
grep -q "+server 10.2.0.1:8080" "$WORK/live.txt" || { echo "plan --live shows no diff"; cat "$WORK/live.txt"; exit 1; }
hyperfine --warmup 3 --runs 30 --export-json bench/results/operator-flow-plan-live.json \
  -n "drctl plan --live" "$DRCTL plan --live $WORK/live.yaml" \
  -n "peer: etcdctl get + diff -u" "ETCDCTL_API=3 etcdctl --endpoints $ETCD_K get /bench/route/order-svc --print-value-only; diff -u $WORK/conf/upstream.conf $WORK/conf/upstream.new; true" > /dev/null

# 3. Pruning 100 runs' etcd copies.
prune_runs=${PRUNE_RUNS:-100}
cat > "$WORK/many.yaml" <<YAML
version: 1
name: many
lock: {etcd: {endpoints: [$ETCD_K]}, key: /bench/locks/many, ttl: 5s, journal_retention: 9999}
steps:
  - {name: s, read_only: true, exec: {argv: ["true"]}}
YAML
fill() { for _ in $(seq "$prune_runs"); do "$DRCTL" run --yes --quiet "$WORK/many.yaml" > /dev/null; done; }
fill
t0=$(date +%s.%N)
"$DRCTL" runs --prune --keep 0 --playbook "$WORK/many.yaml" > "$WORK/prune.out"
t1=$(date +%s.%N)
left=$(etcd_count K /bench/locks/many/journal/)
fill
ids=$(ectl K get /bench/locks/many/journal/ --prefix --keys-only | sed -n 's#^/bench/locks/many/journal/\([^/]*\)/.*#\1#p' | sort -u)
t2=$(date +%s.%N)
for id in $ids; do ectl K del --prefix "/bench/locks/many/journal/$id/" > /dev/null; done
t3=$(date +%s.%N)

python3 - "$WORK" "$runs" "$t0" "$t1" "$t2" "$t3" "$left" "$prune_runs" <<'PY'
import json, statistics, sys
work, runs = sys.argv[1], int(sys.argv[2])
t0, t1, t2, t3 = map(float, sys.argv[3:7])
for where, label in (("local", "state dir"), ("remote", "etcd")):
    rows = [list(map(float, l.split())) for l in open(f"{work}/lat-{where}")]
    print(f"approval through the {label}: approve started -> step ended, median "
          f"{statistics.median(r[0] for r in rows):.1f} ms (max {max(r[0] for r in rows):.1f}); "
          f"drctl approve itself {statistics.median(r[1] for r in rows):.1f} ms ({runs} runs)")
h = json.load(open("bench/results/operator-flow-plan-live.json"))["results"]
live, peer = h[0]["median"] * 1000, h[1]["median"] * 1000
print(f"plan --live (etcd_put + file_and_exec, 200-line diff, precheck on a copy): median {live:.1f} ms; "
      f"peer etcdctl get + diff -u {peer:.1f} ms ({live / peer:.2f}x)")
n = int(sys.argv[8])
print(f"prune {n} runs from etcd: drctl runs --prune {(t1 - t0) * 1000:.0f} ms ({sys.argv[7]} keys left); "
      f"peer etcdctl del --prefix per run {(t3 - t2) * 1000:.0f} ms ({(t3 - t2) / (t1 - t0):.1f}x drctl's time)")
PY
