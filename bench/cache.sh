#!/usr/bin/env bash
# Benchmark (not a test) for cache_warmup, against one real etcd member:
#  1. a snapshot of 100k keys x ~1 KiB (`drctl run` of a cache_warmup step) against
#     `etcdctl get --prefix -w protobuf > file` on the same etcd (target <= 1.0x);
#  2. peak RSS of the same run at 10k and 100k keys (target: flat, <= 64 MB);
#  3. `drctl cache get` on the 100k snapshot, beside `drctl version` (process start-up).
# Usage: bench/cache.sh [build dir]   (writes bench/results/cache-*.json|txt; RUNS, default 10)
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/common.sh "${1:-build}"
load_etcd_helpers
runs=${RUNS:-10}

start_etcd E 1 --quota-backend-bytes 8589934592
python3 tests/support/etcd_load.py "$ETCD_E" /snap/100k/ 100000 1000
python3 tests/support/etcd_load.py "$ETCD_E" /snap/10k/ 10000 1000
for n in 10k 100k; do
  printf 'version: 1\nname: snapshot-%s\nsteps:\n  - name: cache\n    timeout: 5m\n    cache_warmup: {source: {endpoints: [%s]}, prefix: /snap/%s/, dir: %s/cache-%s, keep: 1}\n' \
    "$n" "$ETCD_E" "$n" "$WORK" "$n" > "$WORK/snapshot-$n.yaml"
done

hyperfine -N --warmup 2 --runs "$runs" --export-json bench/results/cache-snapshot.json \
  -n "drctl cache_warmup (100k x 1 KiB)" "$DRCTL run -q --yes $WORK/snapshot-100k.yaml" \
  -n "etcdctl get --prefix -w protobuf > file" "bash -c 'ETCDCTL_API=3 etcdctl --endpoints $ETCD_E get /snap/100k/ --prefix -w protobuf > $WORK/etcdctl.out'" \
  2>&1 | grep -E '^Benchmark|Time \(mean|±' || true
python3 - bench/results/cache-snapshot.json <<'PY' | tee bench/results/cache-snapshot.txt
import json, statistics, sys
r = json.load(open(sys.argv[1]))["results"]
d, e = (statistics.median(x["times"]) * 1000 for x in r)
print(f"snapshot 100k x 1 KiB: drctl {d:.1f} ms, etcdctl {e:.1f} ms (medians of {len(r[0]['times'])} runs): drctl/etcdctl = {d / e:.2f}x")
PY
ls -l "$WORK"/cache-100k/snapshot-*.drs "$WORK/etcdctl.out" | awk '{print $5, $9}'

{
  for n in 10k 100k; do
    rss=()
    for i in $(seq 5); do
      /usr/bin/time -f '%M' -o "$WORK/rss.txt" "$DRCTL" run -q --yes "$WORK/snapshot-$n.yaml" >/dev/null
      rss+=("$(cat "$WORK/rss.txt")")
    done
    echo "peak RSS, snapshot of $n keys x 1 KiB: $(python3 -c "print(round($(median "${rss[@]}")/1024, 1))") MiB (median of 5)"
  done
} | tee bench/results/cache-rss.txt

key=/snap/100k/00054321
hyperfine -N --warmup 5 --runs 200 --export-json bench/results/cache-get.json \
  -n "drctl cache get (100k snapshot)" "$DRCTL cache get $WORK/cache-100k $key" \
  -n "drctl version" "$DRCTL version" 2>&1 | grep -E '^Benchmark|Time \(mean' || true
python3 - bench/results/cache-get.json <<'PY' | tee bench/results/cache-get.txt
import json, statistics, sys
r = json.load(open(sys.argv[1]))["results"]
g, v = (statistics.median(x["times"]) * 1000 for x in r)
print(f"cache get on 100k keys: {g:.2f} ms per process, drctl version {v:.2f} ms: lookup and mmap ~{g - v:.2f} ms (medians of 200)")
PY
