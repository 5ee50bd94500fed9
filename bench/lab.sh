#!/usr/bin/env bash
# Benchmark (not a test): everything measured on the two-site lab, in one run of this script.
#  1. the whole switchover: 10 switchovers and 10 failbacks, alternating. For each run:
#       engine overhead = the run's duration (drctl's monotonic clock, first event to last)
#       minus the checks phase (its slowest check: they run at once) minus every step and
#       rollback; what is left is drctl itself: the journal's waits between steps, the lock's
#       release, the probe's start and stop, spec resolution, reporting. Target: < 1 % of the
#       run and < 20 ms. Also shown with the journal's waits inside steps (`journal_wait_ms`,
#       a step waiting for its write-ahead undo state) counted as overhead too, and the part
#       of it inside the SLA window (first step's start to last step's end);
#       process wall = the drctl process from exec to exit, as the shell that starts it sees it
#       (not lab/run's bash wrapper around it).
#  2. `drctl check` of the switchover's gate (4 checks: Consul, MySQL heartbeat RPO, gRPC on 3
#     instances, etcd health) against the reference design's sequential script (curl | jq, the
#     mariadb client, a separate gRPC probe process; 3 checks);
#  3. 200 gRPC targets (one fixture server on 200 ports) at --parallel 32 against 1 target;
#  4. canary propagation (put on a site-A member, watch on the site-B member) against the
#     put's own round trip, `drctl probe etcd-watch`;
#  5. a cache_warmup snapshot of 20k keys x 1 KiB from the site-B member against
#     `etcdctl get --prefix -w protobuf > file`;
#  6. `drctl version` against `etcdctl version`.
# Usage: bench/lab.sh [build dir]   (writes bench/results/lab-*.json|txt; RUNS, default 10)
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/common.sh "${1:-build}"   # a temp dir, and PID cleanup for the fixture
export DRCTL_BUILD=$build
export DRCTL_LAB_STATE=$(mktemp -d "${TMPDIR:-/tmp}/drctl-bench-lab.XXXXXX")/lab
trap 'cleanup; lab/down >/dev/null 2>&1 || true' EXIT
lab/up >/dev/null
runs=${RUNS:-10}
# lab/run is a bash wrapper (it reads the lab's addresses, then execs drctl): time the drctl
# process alone, from a shell that starts it and sees it exit.
cat > "$WORK/timed-drctl" <<'SH'
#!/usr/bin/env bash
start=$EPOCHREALTIME
"$REAL_DRCTL" "$@"; rc=$?
echo "$start $EPOCHREALTIME" > "$DRCTL_TIMES"
exit $rc
SH
chmod +x "$WORK/timed-drctl"
: > bench/results/lab-runs.txt
for i in $(seq "$runs"); do
  for playbook in switchover failback; do
    REAL_DRCTL="$build/cli/drctl" DRCTL_TIMES="$WORK/times" DRCTL="$WORK/timed-drctl" \
      lab/run "$playbook" --output json > "$DRCTL_LAB_STATE/$playbook-$i.json" 2>/dev/null
    read -r start end < "$WORK/times"
    echo "$playbook $i $(( ${end//[.,]/} - ${start//[.,]/} ))" >> bench/results/lab-runs.txt  # microseconds
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
        waits = sum(s.get("journal_wait_ms", 0) for s in r["steps"] + r["rollbacks"])
        window = r["sla"]["steps_elapsed_ms"] - sum(s["duration_ms"] for s in r["steps"])
        rows.append((name, total, checks, steps, total - checks - steps, walls[(name, i)], r["sla"]["steps_elapsed_ms"], waits, window))
med = lambda xs: statistics.median(xs)
print(f"{'run':<11} {'duration':>9} {'checks':>8} {'steps':>8} {'overhead':>9} {'%':>6} {'+ waits':>8} {'%':>6} {'process':>9} {'SLA window':>10}")
for name in ("switchover", "failback"):
    rs = [x for x in rows if x[0] == name]
    total, checks, steps, over, wall, sla, waits = (med([x[k] for x in rs]) for k in range(1, 8))
    both = med([x[4] + x[7] for x in rs])
    print(f"{name:<11} {total:>7.1f}ms {checks:>6.1f}ms {steps:>6.1f}ms {over:>7.1f}ms {100 * over / total:>5.2f}% {both:>6.1f}ms "
          f"{100 * both / total:>5.2f}% {wall:>7.1f}ms {sla:>8.1f}ms")
over = [x[4] for x in rows]
print(f"median engine overhead over all {len(rows)} runs: {med(over):.1f} ms ({100 * med([x[4] / x[1] for x in rows]):.2f} % of the run); max {max(over):.1f} ms")
both = [x[4] + x[7] for x in rows]
print(f"with the journal's waits inside steps: {med(both):.1f} ms ({100 * med([(x[4] + x[7]) / x[1] for x in rows]):.2f} %); max {max(both):.1f} ms")
window = [x[8] for x in rows]
print(f"of it between the first step's start and the last step's end (what delays the takeover): median {med(window):.1f} ms "
      f"({100 * med([x[8] / x[6] for x in rows]):.2f} % of that window)")
walls = [x[5] - x[1] for x in rows]
print(f"drctl process wall minus run duration (start-up, playbook, reports, the journal's end, the lock's release, exit): median {med(walls):.1f} ms")
whole = [x[5] - x[2] - x[3] for x in rows]
print(f"drctl process wall minus checks and steps (the engine overhead of the whole process): median {med(whole):.1f} ms "
      f"({100 * med([(x[5] - x[2] - x[3]) / x[5] for x in rows]):.2f} % of it); max {max(whole):.1f} ms")
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

# ---- 200 gRPC targets against 1, on the lab
fanout_targets
printf 'version: 1\nname: fanout-1\nchecks:\n  - {name: g1, grpc_health: {address: "%s", service: order.Order, rpc_timeout: 5s}}\n' "$LAB_GRPC_b1" > "$WORK/fanout-1.yaml"
hyperfine -N --warmup 2 --runs 20 --export-json bench/results/lab-fanout.json \
  -n "200 gRPC targets, --parallel 32" "$build/cli/drctl check -q --parallel 32 $WORK/fanout-200.yaml" \
  -n "1 gRPC target (order-svc b1)" "$build/cli/drctl check -q $WORK/fanout-1.yaml" 2>&1 | grep -E "Benchmark|Time" | tee bench/results/lab-fanout.txt

# ---- canary propagation against the put's round trip (site A member -> site B member)
lat=()
for i in $(seq 5); do
  "$build/cli/drctl" probe etcd-watch --put-endpoints "${LAB_ETCD_A%%,*}" --watch-endpoints "$LAB_ETCD_B" --prefix /bench/canary/ \
    --count 1000 --rate 500 --output json > "$WORK/canary-$i.json" || true
  lat+=("$WORK/canary-$i.json")
done
python3 - "${lat[@]}" <<'PY' | tee bench/results/lab-canary.txt
import json, statistics, sys
rows = [json.load(open(f))["checks"][0]["evidence"] for f in sys.argv[1:]]
p50 = statistics.median(r["propagation"]["p50_ms"] for r in rows)
p99 = statistics.median(r["propagation"]["p99_ms"] for r in rows)
put = statistics.median(r["put"]["p99_ms"] for r in rows)
put50 = statistics.median(r["put"]["p50_ms"] for r in rows)
print(f"canary (put on site A, watch on site B): propagation P50 {p50:.2f} ms, P99 {p99:.2f} ms; put P50 {put50:.2f} ms, P99 {put:.2f} ms "
      f"(medians of {len(rows)} runs x 1000 puts); P99 - put P99 = {p99 - put:+.2f} ms (target <= 5 ms); P99 / put P99 = {p99 / put:.2f}x")
PY

# ---- snapshot against etcdctl, from the site-B member
python3 tests/support/etcd_load.py "$LAB_ETCD_B" /bench/snap/ 20000 1000
printf 'version: 1\nname: lab-snapshot\nsteps:\n  - name: cache\n    timeout: 5m\n    cache_warmup: {source: {endpoints: [%s]}, prefix: /bench/snap/, dir: %s/cache, keep: 1}\n' \
  "$LAB_ETCD_B" "$WORK" > "$WORK/snapshot.yaml"
hyperfine -N --warmup 2 --runs 10 --export-json bench/results/lab-snapshot.json \
  -n "drctl cache_warmup (20k x 1 KiB)" "$build/cli/drctl --state-dir $WORK/state run -q --yes $WORK/snapshot.yaml" \
  -n "etcdctl get --prefix -w protobuf > file" "bash -c 'ETCDCTL_API=3 $etcdctl --endpoints $LAB_ETCD_B get /bench/snap/ --prefix -w protobuf > $WORK/etcdctl.out'" \
  2>&1 | grep -E "Benchmark|Time" | tee bench/results/lab-snapshot.txt
ETCDCTL_API=3 "$etcdctl" --endpoints "$LAB_ETCD_B" del /bench/ --prefix > /dev/null
python3 - bench/results/lab-fanout.json bench/results/lab-snapshot.json bench/results/lab-checks.json bench/results/lab-startup.json <<'PY' | tee bench/results/lab-ratios.txt
import json, sys
med = lambda f: {r["command"]: r["median"] * 1000 for r in json.load(open(f))["results"]}
fan, snap, checks, start = (med(f) for f in sys.argv[1:])
f200, f1 = fan["200 gRPC targets, --parallel 32"], fan["1 gRPC target (order-svc b1)"]
print(f"200 targets {f200:.2f} ms / 1 target {f1:.2f} ms = {f200 / f1:.2f}x (target <= 2x)")
d, e = snap["drctl cache_warmup (20k x 1 KiB)"], snap["etcdctl get --prefix -w protobuf > file"]
print(f"snapshot: drctl {d:.2f} ms / etcdctl {e:.2f} ms = {d / e:.2f}x (target <= 1.0x)")
c = list(checks.values())
print(f"gate: drctl {c[0]:.2f} ms, sequential script {c[1]:.2f} ms: script / drctl = {c[1] / c[0]:.2f}x")
s = list(start.values())
print(f"startup: drctl version {s[0]:.2f} ms, etcdctl version {s[1]:.2f} ms: {s[1] / s[0]:.1f}x")
PY
