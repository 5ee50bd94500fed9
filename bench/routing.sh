#!/usr/bin/env bash
# Benchmark (not a test) for routing_reload and the availability probe, on real nginx routing
# to two upstream sites (X-Site: futian / bantian):
#  1. 20 switches by drctl (file_and_exec: precheck, write, nginx -s reload, verify 5 in a row
#     every 20 ms) against 20 by a shell loop doing the same (write, nginx -s reload, poll with
#     curl every 20 ms until 5 in a row): takeover (reload -> first new answer) and stable;
#  2. the probe's CPU cost at a 20 ms interval: drctl's CPU time over a 10 s step with and
#     without sla.probe (target < 2 % of one core);
#  3. prewarm: an http step to an endpoint 2 ms away (bench/support/delay_proxy, 1 ms each way)
#     after a prewarm step, against the same step dialing fresh.
# Usage: bench/routing.sh [build dir]   (writes bench/results/routing-*.txt)
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/common.sh "${1:-build}"
set +eu
. tests/cli/nginx.sh
set -e
switches=${SWITCHES:-20}
now_us() { echo "${EPOCHREALTIME/./}"; }  # bash's clock: no process per reading

start_fixture futian futian
start_fixture bantian bantian
start_nginx "$PORT_futian"
port_of() { local v="PORT_$1"; echo "${!v}"; }

# ---- 1. drctl
drctl_takeover=(); drctl_stable=()
site=futian
for i in $(seq "$switches"); do
  to=$([ "$site" = futian ] && echo bantian || echo futian)
  switch_playbook "$WORK/switch.yaml" "$(port_of "$to")" "$to"
  "$DRCTL" run --yes --output json "$WORK/switch.yaml" > "$WORK/switch.json"
  read -r t s < <(python3 -c 'import json,sys; e=json.load(open(sys.argv[1]))["steps"][0]["evidence"]; print(e["takeover_ms"], e["stable_ms"])' "$WORK/switch.json")
  drctl_takeover+=("$t"); drctl_stable+=("$s")
  site=$to
done

# ---- 1. the shell loop
shell_takeover=(); shell_stable=()
for i in $(seq "$switches"); do
  to=$([ "$site" = futian ] && echo bantian || echo futian)
  nginx_conf "$(port_of "$to")" > "$NGINX_CONF"
  start=$(now_us)
  nginx -e "$WORK/nginx/error.log" -c "$NGINX_CONF" -s reload
  first=""; row=0
  while [ "$row" -lt 5 ]; do
    got=$(curl -s -m 1 -D - -o /dev/null "http://127.0.0.1:$NGINX_PORT/site" | tr -d '\r' | awk -F': ' 'tolower($1)=="x-site" {print $2}')
    if [ "$got" = "$to" ]; then row=$((row + 1)); [ -z "$first" ] && first=$(now_us); else row=0; fi
    [ "$row" -lt 5 ] && sleep 0.02
  done
  end=$(now_us)
  shell_takeover+=("$(( (first - start) / 1000 ))"); shell_stable+=("$(( (end - start) / 1000 ))")
  site=$to
done
{
  echo "switches: $switches each, nginx $(nginx -v 2>&1 | cut -d/ -f2), polling every 20 ms, 5 in a row"
  echo "drctl routing_reload: takeover median $(median "${drctl_takeover[@]}") ms, stable median $(median "${drctl_stable[@]}") ms"
  echo "shell loop (nginx -s reload; curl poll): takeover median $(median "${shell_takeover[@]}") ms, stable median $(median "${shell_stable[@]}") ms"
} | tee bench/results/routing-takeover.txt

# ---- 2. the probe's CPU cost
cat > "$WORK/idle.yaml" <<YAML
version: 1
name: idle
steps:
  - name: wait
    read_only: true
    exec: {argv: [sleep, "10"]}
YAML
{ cat "$WORK/idle.yaml"; printf 'sla:\n  probe: {url: "http://127.0.0.1:%s/site", interval: 20ms}\n' "$NGINX_PORT"; } > "$WORK/probed.yaml"
cpu() {  # cpu PLAYBOOK -> user+sys seconds (microsecond resolution) of the run
  python3 - "$DRCTL" "$1" <<'PY'
import resource, subprocess, sys
subprocess.run([sys.argv[1], "run", "-q", "--yes", sys.argv[2]], stdout=subprocess.DEVNULL, check=True)
r = resource.getrusage(resource.RUSAGE_CHILDREN)
print(r.ru_utime + r.ru_stime)
PY
}
base=(); probed=()
for i in 1 2 3; do base+=("$(cpu "$WORK/idle.yaml")"); probed+=("$(cpu "$WORK/probed.yaml")"); done
b=$(median "${base[@]}"); p=$(median "${probed[@]}")
python3 -c "print(f'probe at 20 ms for 10 s: drctl CPU {$p:.3f} s with the probe, {$b:.3f} s without: {($p - $b) / 10 * 100:.2f}% of one core (target < 2%)')" \
  | tee bench/results/routing-probe-cpu.txt

# ---- 3. prewarm against a fresh dial, 2 ms round trip
# (to nginx, which sets TCP_NODELAY: the test fixture does not, and a reused connection to it
# meets Nagle's algorithm and delayed ACKs, 40 ms)
setsid "$build/bench/drctl-delay-proxy" "$WORK/proxy.port" "$NGINX_PORT" 1 600 </dev/null >/dev/null 2>&1 &
STARTED_PIDS+=($!)
for _ in $(seq 100); do [ -s "$WORK/proxy.port" ] && break; sleep 0.05; done
far="http://127.0.0.1:$(cat "$WORK/proxy.port")/site"
printf 'version: 1\nname: fresh\nsteps:\n  - name: call\n    read_only: true\n    http: {url: "%s"}\n' "$far" > "$WORK/fresh.yaml"
printf 'version: 1\nname: warm\nsteps:\n  - name: prewarm\n    prewarm: {endpoints: ["%s"]}\n  - name: call\n    read_only: true\n    http: {url: "%s"}\n' "$far" "$far" > "$WORK/warm.yaml"
fresh=(); warm=(); connect=()
for i in $(seq 20); do
  "$DRCTL" run --yes --output json "$WORK/fresh.yaml" > "$WORK/fresh.json"
  "$DRCTL" run --yes --output json "$WORK/warm.yaml" > "$WORK/warm.json"
  fresh+=("$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["steps"][-1]["duration_ms"])' "$WORK/fresh.json")")
  warm+=("$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["steps"][-1]["duration_ms"])' "$WORK/warm.json")")
  connect+=("$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["steps"][0]["evidence"]["endpoints"][0]["connect_ms"])' "$WORK/warm.json")")
done
echo "http step 2 ms away: $(median "${fresh[@]}") ms dialing fresh, $(median "${warm[@]}") ms after prewarm (prewarm connect $(median "${connect[@]}") ms); medians of 20" \
  | tee bench/results/routing-prewarm.txt
