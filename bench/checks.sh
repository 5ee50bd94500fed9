#!/usr/bin/env bash
# Benchmark (not a test) for the pre-switch checks, on a local backup site (Consul API,
# MariaDB primary -> replica, gRPC server; tests/cli/sites.sh):
#  1. `drctl check` with the three checks against the same three run sequentially by a shell
#     script (bench/peers/prechecks-sequential.sh), and against each check run alone;
#  2. 200 gRPC health targets at --parallel 32 against one target;
#  3. the three again with a modelled inter-site round trip (DELAY_MS one way, default 1 ms).
# Usage: bench/checks.sh [build dir]   (writes bench/results/checks-*.json)
set -euo pipefail
cd "$(dirname "$0")/.."
build=$(cd "${1:-build}" && pwd)
export DRCTL="$build/cli/drctl" SOURCE_DIR=$PWD
export FIXTURE_CONSUL="$build/tests/drctl-fixture-consul" FIXTURE_GRPC="$build/tests/drctl-fixture-grpc"
[ -x "$build/bench/drctl-delay-proxy" ] || { echo "build first: scripts/build" >&2; exit 1; }
set +eu
. tests/cli/lib.sh
. tests/cli/mariadb.sh
. tests/cli/sites.sh
set -e
start_sites
mkdir -p bench/results
runs=${RUNS:-30}

# Each check alone: the same playbook cut down to one check.
for name in consul-backup-passing replica-lag backup-grpc-serving; do
  /usr/bin/python3 - "$SOURCE_DIR/playbooks/examples/prechecks.yaml" "$name" "$WORK/only-$name.yaml" <<'PY'
import sys, yaml
doc = yaml.safe_load(open(sys.argv[1]))
doc["checks"] = [c for c in doc["checks"] if c["name"] == sys.argv[2]]
yaml.safe_dump(doc, open(sys.argv[3], "w"), sort_keys=False)
PY
done
# Like for like with the script's SHOW SLAVE STATUS: the mysql check by replica_status.
/usr/bin/python3 - "$SOURCE_DIR/playbooks/examples/prechecks.yaml" "$WORK/prechecks-status.yaml" <<'PY'
import sys, yaml
doc = yaml.safe_load(open(sys.argv[1]))
for c in doc["checks"]:
    if "mysql" in c:
        c["mysql"] = {k: v for k, v in c["mysql"].items() if k not in ("primary", "write")}
        c["mysql"].update({"method": "replica_status", "max_lag": "1s"})
yaml.safe_dump(doc, open(sys.argv[2], "w"), sort_keys=False)
PY
# bench_three OUT VARS CONSUL_URL DB_PORT GRPC_ADDR: the three checks, the script and each
# check alone, against the site reached through those endpoints.
bench_three() {
  local out=$1 vars=$2
  hyperfine -N --warmup 3 --runs "$runs" --export-json "$out" \
    -n "drctl check (3 checks)" "$DRCTL check -q $vars playbooks/examples/prechecks.yaml" \
    -n "drctl check (3 checks, mysql by replica_status)" "$DRCTL check -q $vars $WORK/prechecks-status.yaml" \
    -n "sequential shell script" "bash bench/peers/prechecks-sequential.sh $3 $4 $5" \
    -n "consul alone" "$DRCTL check -q $vars $WORK/only-consul-backup-passing.yaml" \
    -n "mysql heartbeat alone" "$DRCTL check -q $vars $WORK/only-replica-lag.yaml" \
    -n "grpc alone" "$DRCTL check -q $vars $WORK/only-backup-grpc-serving.yaml" 2>&1 | grep -E '^Benchmark|Time \(mean'
}
bench_three bench/results/checks-three.json "${SITE_VARS[*]}" "$SITE_CONSUL" "$PORT_replica" "$SITE_GRPC"

# 200 distinct targets against one.
fanout_targets
printf 'version: 1\nname: fanout-1\nchecks:\n  - {name: g1, grpc_health: {address: "%s", rpc_timeout: 5s}}\n' "$SITE_GRPC" > "$WORK/fanout-1.yaml"
hyperfine -N --warmup 2 --runs "$runs" --export-json bench/results/checks-fanout.json \
  -n "200 gRPC targets, --parallel 32" "$DRCTL check -q --parallel 32 $WORK/fanout-200.yaml" \
  -n "1 gRPC target" "$DRCTL check -q $WORK/fanout-1.yaml" 2>&1 | grep -E '^Benchmark|Time \(mean'

# The same three against a modelled inter-site round trip: every connection from drctl or the
# script to the backup site goes through bench/support/delay_proxy (one-way DELAY_MS each way).
delay=${DELAY_MS:-1}
proxy() {  # proxy NAME UPSTREAM_PORT: sets PROXY_<NAME>
  setsid "$build/bench/drctl-delay-proxy" "$WORK/proxy-$1.port" "$2" "$delay" 600 </dev/null >/dev/null 2>&1 &
  STARTED_PIDS+=($!)
  for _ in $(seq 100); do [ -s "$WORK/proxy-$1.port" ] && break; sleep 0.05; done
  printf -v "PROXY_$1" '%s' "$(cat "$WORK/proxy-$1.port")"
}
proxy consul "${SITE_CONSUL##*:}"
proxy replica "$PORT_replica"
proxy primary "$PORT_primary"
proxy grpc "${SITE_GRPC##*:}"
rvars="--var consul=http://127.0.0.1:$PROXY_consul --var db_port=$PROXY_replica --var primary_db_port=$PROXY_primary --var grpc_backup=127.0.0.1:$PROXY_grpc"
bench_three bench/results/checks-rtt.json "$rvars" "http://127.0.0.1:$PROXY_consul" "$PROXY_replica" "127.0.0.1:$PROXY_grpc"

/usr/bin/python3 - bench/results/checks-rtt.json "$delay" <<'PY'
import json, sys
r = {x["command"]: x["median"] * 1000 for x in json.load(open(sys.argv[1]))["results"]}
print(f"--- with a modelled round trip of {2 * int(sys.argv[2])} ms to the backup site ---")
for name, ms in r.items():
    print(f"{name:<48} median {ms:8.2f} ms")
d = r["drctl check (3 checks)"]
slowest = max(r["consul alone"], r["mysql heartbeat alone"], r["grpc alone"])
print(f"script / drctl: {r['sequential shell script'] / d:.2f}x (target >= 3x)")
print(f"script / drctl, mysql by replica_status: {r['sequential shell script'] / r['drctl check (3 checks, mysql by replica_status)']:.2f}x")
print(f"drctl / slowest single check: {d / slowest:.2f}x (target <= 1.2x)")
PY

echo "--- on loopback ---"
/usr/bin/python3 - bench/results/checks-three.json bench/results/checks-fanout.json <<'PY'
import json, sys
three = {r["command"]: r["median"] * 1000 for r in json.load(open(sys.argv[1]))["results"]}
fan = {r["command"]: r["median"] * 1000 for r in json.load(open(sys.argv[2]))["results"]}
for name, ms in list(three.items()) + list(fan.items()):
    print(f"{name:<34} median {ms:8.2f} ms")
d = three["drctl check (3 checks)"]
slowest = max(three["consul alone"], three["mysql heartbeat alone"], three["grpc alone"])
print(f"script / drctl: {three['sequential shell script'] / d:.2f}x (target >= 3x)")
like = three["drctl check (3 checks, mysql by replica_status)"]
print(f"script / drctl, mysql by replica_status like the script: {three['sequential shell script'] / like:.2f}x")
print(f"drctl / slowest single check: {d / slowest:.2f}x (target <= 1.2x)")
print(f"200 targets / 1 target: {fan['200 gRPC targets, --parallel 32'] / fan['1 gRPC target']:.2f}x (target <= 2x)")
PY
