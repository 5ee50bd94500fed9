#!/usr/bin/env bash
# Benchmark (not a test): median wall time of `drctl version` and of `drctl validate` on a
# generated 500-step playbook, with hyperfine. Targets: <= 5 ms and <= 20 ms.
# Usage: bench/startup.sh [build dir]   (writes bench/results/startup.json)
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
drctl="$build/cli/drctl"
[ -x "$drctl" ] || { echo "build first: scripts/build" >&2; exit 1; }
command -v hyperfine >/dev/null || { echo "hyperfine missing: scripts/install-deps" >&2; exit 1; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
bench/support/playbook-500.sh > "$work/500.yaml"
"$drctl" validate "$work/500.yaml" >/dev/null

mkdir -p bench/results
hyperfine --warmup 20 --runs 200 -N \
  --export-json bench/results/startup.json \
  "$drctl version" \
  "$drctl validate $work/500.yaml" 2>&1 | grep -v '^ *$'
/usr/bin/python3 - bench/results/startup.json <<'PY'
import json, sys
for r in json.load(open(sys.argv[1]))["results"]:
    print(f'{r["command"].split("/")[-1][:40]:<42} median {r["median"]*1000:7.2f} ms  (min {r["min"]*1000:.2f}, max {r["max"]*1000:.2f}, n={len(r["times"])})')
PY
