#!/usr/bin/env bash
# Benchmark (not a test) for a drill's evidence (issue 17):
#  1. the write probe's CPU at 100 writes/s (interval 10ms) during a 10 s step, against the C++
#     fixture HTTP server: drctl's share of one core while the step runs, with the probe and
#     without; the read-back's time after the run; the peer: the same writes from a shell loop
#     of curl, what an SRE would write by hand;
#  2. `drctl report RUN --html` of a 500-step run (hyperfine), and the file's size.
# Usage: bench/drill.sh [build dir]   (RUNS=5; writes bench/results/drill-*.json)
set -euo pipefail
cd "$(dirname "$0")/.."
build=$(cd "${1:-build}" && pwd)
export DRCTL="$build/cli/drctl" SOURCE_DIR=$PWD FIXTURE_HTTP="$build/tests/drctl-fixture-http"
set +eu
. tests/cli/lib.sh
set -e
mkdir -p bench/results
runs=${RUNS:-5}
seconds=${SECONDS_PER_RUN:-10}
start_fixture writes a
url="http://127.0.0.1:$PORT_writes"

probe_playbook() {  # probe_playbook NAME [VERIFY_URL]: one step of $seconds s, with a probe when VERIFY_URL
  {
    printf 'version: 1\nname: %s\n' "$1"
    if [ -n "${2:-}" ]; then
      printf 'sla:\n  write_probe: {url: "%s/echo", interval: 10ms, timeout: 1s, verify_url: "%s"}\n' "$url" "$2"
    fi
    printf 'steps:\n  - {name: wait, read_only: true, exec: {argv: [sleep, "%s"]}}\n' "$seconds"
  } > "$WORK/$1.yaml"
}
probe_playbook baseline
probe_playbook probe "$url/found/{key}"

# cpu NAME: the share of one core (%) drctl used while its step ran, from 1 s into the step to
# 1 s before its end: every thread's time on CPU (/proc/PID/task/*/schedstat, ns), so neither
# start-up nor the read-back after the run counts. The run's JSON report is kept in NAME.json.
on_cpu_ns() { cat /proc/"$1"/task/*/schedstat 2>/dev/null | awk '{s += $1} END {print s + 0}'; }
cpu() {
  "$DRCTL" --state-dir "$WORK/state" run "$WORK/$1.yaml" --yes --quiet --output json >"$WORK/$1.json" 2>/dev/null &
  local pid=$! before after window=$((seconds - 2))
  sleep 1.5
  before=$(on_cpu_ns "$pid"); sleep "$window"; after=$(on_cpu_ns "$pid")
  wait "$pid" || true
  awk -v a="$after" -v b="$before" -v w="$window" 'BEGIN {printf "%.3f\n", 100 * (a - b) / (w * 1e9)}'
}
# The peer: 100 writes/s from a shell loop of curl (each in the background, as a fixed rate
# needs): its share of one core over the whole loop (user + sys of the shell and every curl).
peer_cpu() {
  /usr/bin/time -f '%U %S' -o "$WORK/time" bash -c '
    end=$(( $(date +%s%N) + '"$seconds"' * 1000000000 )); i=0
    while [ "$(date +%s%N)" -lt "$end" ]; do
      i=$((i + 1))
      curl -s -o /dev/null -m 1 -X POST -H "Idempotency-Key: peer-$i" --data "{\"key\": \"peer-$i\", \"seq\": $i}" "'"$url"'/echo" &
      sleep 0.01
    done; wait'
  awk -v s="$seconds" '{printf "%.3f\n", 100 * ($1 + $2) / s}' "$WORK/time"
}
median() { sort -n | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }

for kind in baseline probe peer; do : > "$WORK/cpu-$kind"; done
for _ in $(seq "$runs"); do
  cpu baseline >> "$WORK/cpu-baseline"
  cpu probe >> "$WORK/cpu-probe"
  peer_cpu >> "$WORK/cpu-peer"
done
writes=$(jq '.sla.write_probe.attempts' "$WORK/probe.json")
acked=$(jq '.sla.write_probe.acknowledged' "$WORK/probe.json")
verify_ms=$(jq '.sla.write_probe.verification.duration_ms' "$WORK/probe.json")
base=$(median < "$WORK/cpu-baseline")
probe=$(median < "$WORK/cpu-probe")
peer=$(median < "$WORK/cpu-peer")
# --- 2. the HTML report of a 500-step run
{
  printf 'version: 1\nname: bench-html-500\nsla: {total: 23s}\n'
  printf 'checks:\n  - {name: ready, exec: {argv: ["true"]}}\n'
  printf 'steps:\n'
  for i in $(seq 1 500); do printf '  - {name: step-%d, budget: 40ms, read_only: true, exec: {argv: [echo, "step %d"]}}\n' "$i" "$i"; done
} > "$WORK/html-500.yaml"
"$DRCTL" --state-dir "$WORK/state" run "$WORK/html-500.yaml" --yes --quiet --output json > "$WORK/html-500.json" 2>/dev/null
run_id=$(jq -r .run_id "$WORK/html-500.json")
hyperfine -N --warmup 3 --runs 30 --export-json bench/results/drill-html.json \
  "$DRCTL --state-dir $WORK/state report $run_id --html $WORK/report.html" >/dev/null
html_ms=$(jq '.results[0].median * 1000' bench/results/drill-html.json)
html_bytes=$(stat -c %s "$WORK/report.html")

jq -n --argjson runs "$runs" --argjson seconds "$seconds" --argjson writes "$writes" --argjson acked "$acked" \
  --argjson verify_ms "$verify_ms" --argjson base "$base" --argjson probe "$probe" --argjson peer "$peer" \
  --argjson html_ms "$html_ms" --argjson html_bytes "$html_bytes" \
  '{runs: $runs, seconds: $seconds, writes_per_run: $writes, acknowledged: $acked, verify_ms: $verify_ms,
    core_pct: {baseline: $base, write_probe: $probe, curl_loop: $peer},
    html_500_steps: {median_ms: $html_ms, bytes: $html_bytes}}' > bench/results/drill.json
echo "write probe, 100 writes/s, a ${seconds}s step (median of $runs; $writes writes, $acked acknowledged, read back in $(printf '%.0f' "$verify_ms") ms):"
echo "  drctl without a probe: ${base}% of one core; with it: ${probe}% (the probe: $(awk -v p="$probe" -v b="$base" 'BEGIN {printf "%.2f", p - b}')%)"
echo "  curl loop (peer):      ${peer}% of one core ($(awk -v p="$peer" -v q="$probe" -v b="$base" 'BEGIN {printf "%.0fx", p / (q - b)}') drctl's probe)"
echo "drctl report --html, 500-step run: median $(printf '%.1f' "$html_ms") ms, $html_bytes bytes"
