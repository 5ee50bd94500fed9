#!/usr/bin/env bash
# Benchmark (not a test): the whole switchover on the two-site lab, 5 switchovers and 5
# failbacks, alternating. For each run:
#   engine overhead = the run's duration (drctl's monotonic clock, first event to last) minus
#   the checks phase (its slowest check: they run at once) minus every step and rollback;
#   what is left is drctl itself: the lock, the journal (fsync'd file + etcd copy), the probe's
#   start and stop, spec resolution, reporting. Target: < 1 % of the run and < 20 ms.
#   process wall = the drctl process from exec to exit, as the shell sees it.
# Also, on the same lab: `drctl check` of the switchover's gate (4 checks: Consul, MySQL
# heartbeat RPO, gRPC on 3 instances, etcd health) against the reference design's sequential
# script (curl | jq, the mariadb client, a separate gRPC probe process; 3 checks); and
# `drctl version` against `etcdctl version` (hyperfine).
# Usage: bench/lab.sh [build dir]   (writes bench/results/lab-*.json|txt)
set -euo pipefail
cd "$(dirname "$0")/.."
build=$(cd "${1:-build}" && pwd)
export DRCTL_BUILD=$build
export DRCTL_LAB_STATE=$(mktemp -d "${TMPDIR:-/tmp}/drctl-bench-lab.XXXXXX")/lab
trap 'lab/down >/dev/null 2>&1 || true' EXIT
mkdir -p bench/results
lab/up >/dev/null
runs=5
: > bench/results/lab-runs.txt
for i in $(seq "$runs"); do
  for playbook in switchover failback; do
    start=$(date +%s%N)
    lab/run "$playbook" --output json > "$DRCTL_LAB_STATE/$playbook-$i.json" 2>/dev/null
    end=$(date +%s%N)
    echo "$playbook $i $(( (end - start) / 1000 ))" >> bench/results/lab-runs.txt
  done
done
python3 - "$DRCTL_LAB_STATE" "$runs" <<'PY' | tee bench/results/lab-overhead.txt
import json, statistics, sys
lab, runs = sys.argv[1], int(sys.argv[2])
walls = {}
for line in open("bench/results/lab-runs.txt"):
    name, i, us = line.split()
    walls[(name, int(i))] = int(us) / 1000
rows = []
for name in ("switchover", "failback"):
    for i in range(1, runs + 1):
        r = json.load(open(f"{lab}/{name}-{i}.json"))
        assert r["result"] == "success", (name, i, r["summary"])
        checks = max(c["duration_ms"] for c in r["checks"])
        steps = sum(s["duration_ms"] for s in r["steps"]) + sum(x["duration_ms"] for x in r["rollbacks"])
        total = r["duration_ms"]
        rows.append((name, total, checks, steps, total - checks - steps, walls[(name, i)], r["sla"]["steps_elapsed_ms"]))
med = lambda xs: statistics.median(xs)
print(f"{'run':<11} {'duration':>9} {'checks':>8} {'steps':>8} {'overhead':>9} {'%':>6} {'process':>9} {'SLA window':>10}")
for name in ("switchover", "failback"):
    rs = [x for x in rows if x[0] == name]
    total, checks, steps, over, wall, sla = (med([x[k] for x in rs]) for k in range(1, 7))
    print(f"{name:<11} {total:>7.1f}ms {checks:>6.1f}ms {steps:>6.1f}ms {over:>7.1f}ms {100 * over / total:>5.2f}% {wall:>7.1f}ms {sla:>8.1f}ms")
over = [x[4] for x in rows]
print(f"median engine overhead over all {len(rows)} runs: {med(over):.1f} ms ({100 * med([x[4] / x[1] for x in rows]):.2f} % of the run); max {max(over):.1f} ms")
PY
. "$DRCTL_LAB_STATE/lab.env"
export DRCTL_DB_PASSWORD=$(cat "$LAB_DB_PASSWORD_FILE") CONSUL_DC=site-b DRCTL="$build/cli/drctl"
hyperfine -N --warmup 3 --runs 30 --export-json bench/results/lab-checks.json \
  -n "drctl check (lab-switchover: 4 checks, 3 gRPC addresses)" "lab/run check switchover -q" \
  -n "sequential shell script (3 checks)" "bash bench/peers/prechecks-sequential.sh $LAB_CONSUL_B $LAB_DB_B_PORT $LAB_GRPC_b1" \
  2>&1 | grep -E "Benchmark|Time|±|faster" | tee bench/results/lab-checks.txt
etcdctl=$(command -v etcdctl)
hyperfine --warmup 10 --runs 100 -N --export-json bench/results/lab-startup.json \
  "$build/cli/drctl version" "env ETCDCTL_API=3 $etcdctl version" 2>&1 | grep -E "Time|±|faster|Benchmark" | tee bench/results/lab-startup.txt
