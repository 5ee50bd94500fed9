#!/usr/bin/env bash
# Benchmark (not a test) for the etcd work, on real etcd started here:
#  1. watch propagation (put sent -> event received) against the put's own round trip, from
#     `drctl probe etcd-watch` (one run gives both): a single member, and a 3-member cluster
#     with puts through member 1 and the watch on member 3; target P99 <= put P99 + 5 ms;
#  2. the mirrored comparison of a 10k and a 100k key prefix (etcdctl make-mirror between two
#     clusters): time and peak RSS of the whole `drctl run`; target: memory flat in key count.
# Usage: bench/etcd.sh [build dir]   (writes bench/results/etcd-*.txt; RUNS, default 5)
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/common.sh "${1:-build}"
load_etcd_helpers
runs=${RUNS:-5}

if [ -z "${SKIP_LATENCY:-}" ]; then
# ---- 1. propagation against put latency
latency() {  # latency LABEL PUT WATCH
  local p99s=() puts=() p50s=()
  for i in $(seq "$runs"); do
    "$DRCTL" probe etcd-watch --put-endpoints "$2" --watch-endpoints "$3" --prefix /bench/lat/ --count 1000 --rate 500 \
      --output json >"$WORK/lat.json" || true
    read -r p50 p99 put < <(python3 -c 'import json,sys; e=json.load(open(sys.argv[1]))["checks"][0]["evidence"]; print(e["propagation"]["p50_ms"], e["propagation"]["p99_ms"], e["put"]["p99_ms"])' "$WORK/lat.json")
    p50s+=("$p50"); p99s+=("$p99"); puts+=("$put")
  done
  printf '%-40s propagation P50 %6s ms  P99 %6s ms   put P99 %6s ms   (medians of %s runs x 1000 puts)\n' \
    "$1" "$(median "${p50s[@]}")" "$(median "${p99s[@]}")" "$(median "${puts[@]}")" "$runs"
}
start_etcd L 1
start_etcd C 3
{
  latency "single member (loopback)" "$ETCD_L" "$ETCD_L"
  latency "3 members, put via m1, watch via m3" "$ETCD_C_1" "$ETCD_C_3"
} | tee bench/results/etcd-latency.txt
fi

# ---- 2. mirrored comparison at 10k and 100k keys
start_etcd P 1 --quota-backend-bytes 4294967296
start_etcd B 1 --quota-backend-bytes 4294967296
python3 tests/support/etcd_load.py "$ETCD_P" /m/small/ 10000
python3 tests/support/etcd_load.py "$ETCD_P" /m/big/ 100000
setsid env ETCDCTL_API=3 etcdctl --endpoints "$ETCD_P" make-mirror --prefix /m/ "$ETCD_B" </dev/null >"$WORK/mirror.log" 2>&1 &
STARTED_PIDS+=($!)
for _ in $(seq 1200); do [ "$(etcd_count B /m/big/)" = 100000 ] && [ "$(etcd_count B /m/small/)" = 10000 ] && break; sleep 0.5; done
compare() {  # compare LABEL PREFIX PAGE_SIZE
  local times=() rss=() compares=()
  printf 'version: 1\nname: mirror-%s\nsteps:\n  - name: handoff\n    timeout: 5m\n    etcd_watch_handoff: {topology: mirrored, prefix: %s, from: {endpoints: [%s]}, to: {endpoints: [%s]}, converge_timeout: 30s, page_size: %s}\n' \
    "$1" "$2" "$ETCD_P" "$ETCD_B" "$3" >"$WORK/mirror-$1.yaml"
  for i in $(seq "$runs"); do
    /usr/bin/time -f '%e %M' -o "$WORK/time.txt" "$DRCTL" run --yes --output json "$WORK/mirror-$1.yaml" >"$WORK/mirror.json"
    read -r seconds kb <"$WORK/time.txt"
    times+=("$seconds"); rss+=("$kb")
    compares+=("$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["steps"][0]["evidence"]["compare"]["compare_ms"])' "$WORK/mirror.json")")
  done
  printf '%-12s %7s keys, page_size %5s: run %6s s, compare %8s ms, peak RSS %6s MiB   (medians of %s runs)\n' "$1" \
    "$(etcd_count P "$2")" "$3" "$(median "${times[@]}")" "$(median "${compares[@]}")" "$(python3 -c "print(round($(median "${rss[@]}")/1024, 1))")" "$runs"
}
{
  for page in ${PAGE_SIZES:-1000 5000}; do
    compare 10k /m/small/ "$page"
    compare 100k /m/big/ "$page"
  done
} | tee bench/results/etcd-mirror.txt
