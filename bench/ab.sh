#!/usr/bin/env bash
# Benchmark (not a test): two builds of drctl side by side, in one run, on the same machine,
# for a change that must not make drctl slower (the layering issue: "no worse than the commit
# before"). Interleaved, so both see the same load:
#  1. start-up and validation: `drctl version`, `drctl validate` of a 500-step playbook
#     (bench/startup.sh's), hyperfine in rounds of alternating order, pooled;
#  2. the pre-switch checks: `drctl check` of the lab's switchover gate (4 checks), alternating;
#  3. the lab switchover's engine overhead (bench/lab.sh's measure: run duration minus the
#     checks phase and every step), RUNS switchovers and failbacks per build, alternating.
# Usage: bench/ab.sh BASE_BUILD [NEW_BUILD]   (a build dir: BASE_BUILD/cli/drctl; its modules
#        from BASE_BUILD/modules. Writes bench/results/ab-*.txt; RUNS, default 10)
# To get a base build: git worktree add /tmp/base COMMIT && (cd /tmp/base && scripts/build).
set -euo pipefail
cd "$(dirname "$0")/.."
base=$(cd "${1:?usage: bench/ab.sh BASE_BUILD [NEW_BUILD]}" && pwd)
. bench/common.sh "${2:-build}"
new=$build
runs=${RUNS:-10}
[ -x "$base/cli/drctl" ] || { echo "no $base/cli/drctl" >&2; exit 1; }
# Both binaries copied side by side with their modules: where a binary lies changes its start
# (the build tree's costs ~0.25 ms more than a copy elsewhere), so both run from the same place.
for side in base new; do
  mkdir -p "$WORK/$side/cli"
  cp "${!side}/cli/drctl" "$WORK/$side/cli/drctl"
  cp -r "${!side}/modules" "$WORK/$side/modules"
  cat > "$WORK/drctl-$side" <<SH
#!/usr/bin/env bash
DRCTL_MODULE_DIR=$WORK/$side/modules exec $WORK/$side/cli/drctl "\$@"
SH
  chmod +x "$WORK/drctl-$side"
done
base=$WORK/base new=$WORK/new

# ---- 1. start-up and validation
bench/support/playbook-500.sh > "$WORK/500.yaml"
# Rounds in alternating order, pooled: hyperfine runs one command's runs before the next's.
for round in 1 2 3 4 5 6; do
  order=(base new); [ $((round % 2)) -eq 0 ] && order=(new base)
  args=()
  for side in "${order[@]}"; do
    dir=${!side}
    args+=(-n "$side version" "$dir/cli/drctl version" -n "$side validate 500 steps" "$dir/cli/drctl validate $WORK/500.yaml")
  done
  hyperfine -N --warmup 10 --runs 40 --export-json "$WORK/startup-$round.json" "${args[@]}" >/dev/null 2>&1
done

# ---- 2 and 3 on the lab
export DRCTL_BUILD=$build  # the lab's servers and fixtures from the new build
export DRCTL_LAB_STATE=$(mktemp -d "${TMPDIR:-/tmp}/drctl-bench-ab.XXXXXX")/lab
trap 'cleanup; lab/down >/dev/null 2>&1 || true' EXIT
lab/up >/dev/null
# The gate, alternating base and new (hyperfine would run all of one, then all of the other,
# and this machine's speed drifts by more than the difference looked for).
for i in $(seq 3); do DRCTL="$WORK/drctl-base" lab/run check switchover -q >/dev/null; done
: > "$WORK/checks.txt"
for i in $(seq $((runs * 4))); do
  for side in base new; do
    start=$EPOCHREALTIME
    DRCTL="$WORK/drctl-$side" lab/run check switchover -q >/dev/null
    end=$EPOCHREALTIME
    echo "$side $(( ${end//[.,]/} - ${start//[.,]/} ))" >> "$WORK/checks.txt"  # microseconds
  done
done
for i in $(seq "$runs"); do
  for side in base new; do
    for playbook in switchover failback; do
      DRCTL="$WORK/drctl-$side" lab/run "$playbook" --output json > "$WORK/$side-$playbook-$i.json" 2>/dev/null
    done
  done
done

python3 - "$WORK" "$runs" <<'PY' | tee bench/results/ab.txt
import json, statistics, sys
work, runs = sys.argv[1], int(sys.argv[2])
med = statistics.median
print("A/B, same run, same machine (medians)")
import glob
startup = {}
for path in sorted(glob.glob(f"{work}/startup-*.json")):
    for r in json.load(open(path))["results"]:
        startup.setdefault(r["command"], []).extend(r["times"])
for name in ("base version", "new version", "base validate 500 steps", "new validate 500 steps"):
    print(f"  {name:<36} {med(startup[name]) * 1000:8.2f} ms  (n={len(startup[name])})")
gate = {"base": [], "new": []}
for line in open(f"{work}/checks.txt"):
    side, us = line.split()
    gate[side].append(int(us) / 1000)
for side in ("base", "new"):
    print(f"  {side} check (lab gate, 4 checks)        {med(gate[side]):8.2f} ms  (lab/run wrapper included, n={len(gate[side])})")
for side in ("base", "new"):
    over, share = [], []
    for i in range(1, runs + 1):
        for name in ("switchover", "failback"):
            r = json.load(open(f"{work}/{side}-{name}-{i}.json"))
            assert r["result"] == "success", (side, name, i, r["summary"])
            checks = max(c["duration_ms"] for c in r["checks"])
            steps = sum(s["duration_ms"] for s in r["steps"]) + sum(x["duration_ms"] for x in r["rollbacks"])
            over.append(r["duration_ms"] - checks - steps)
            share.append(100 * over[-1] / r["duration_ms"])
    print(f"  {side} lab engine overhead            {med(over):8.2f} ms  ({med(share):.2f} % of the run; max {max(over):.1f} ms, n={len(over)})")
PY
