#!/usr/bin/env bash
# Benchmark (not a test) for serve mode (issue 19), on the two-site lab: `drctl serve` of the
# switchover playbook's checks (5: Consul, the MySQL heartbeat RPO that writes, db-b-promotable,
# gRPC on 3 addresses, etcd health) at a 5 s interval, left idle (nobody scrapes it):
#  1. its CPU, as a share of one core: utime + stime + cutime + cstime from /proc/PID/stat over
#     WINDOW seconds, taken after every check has been evaluated once and WARMUP more seconds;
#  2. its memory: VmRSS at the window's end, VmHWM (the peak since start), PSS (smaps_rollup),
#     threads; again after the scrapes of 3;
#  3. the answer's latency: REQUESTS x GET /metrics and GET /readiness on one keep-alive
#     connection (Python http.client, each request timed with perf_counter: send, answer, body;
#     the server closes a connection after 100 requests, so every 100th includes a new connect),
#     and 200 x GET /metrics by curl, a new process and connection each (curl's time_total);
# against the peer: goss cannot run here (not in Debian 12 and no network beyond Debian and npm),
# so the issue's fallback, a bash loop that runs `drctl check` of the same checks every 5 s
# (`drctl check; sleep 5`, drctl called directly with lab/run's arguments): its CPU is the loop
# shell's `times` (itself and every child) over its wall time; its memory the peak RSS of one
# `drctl check` (/usr/bin/time %M, 10 runs). The loop writes the heartbeat every 5 s, serve
# every --min-write-interval (1 m), so serve is measured twice: as the lab starts it (1 m) and
# like for like (--min-write-interval 5s).
# The issue's thresholds: idle CPU < 1 % of one core, RSS < 30 MiB, /metrics median < 2 ms.
# Usage: bench/serve.sh [build dir]   (WINDOW, default 60 s; WARMUP, default 10 s; REQUESTS,
#        default 1000; writes bench/results/serve.json|txt; ~4 minutes)
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/common.sh "${1:-build}"   # a temp dir, and PID cleanup
window=${WINDOW:-60} warmup=${WARMUP:-10} requests=${REQUESTS:-1000} interval=5
# A copy of the binary and its modules (found beside it, in ../lib/drctl): a rebuild during the
# run cannot swap them.
mkdir -p "$WORK/snap/bin" "$WORK/snap/lib/drctl"
cp "$build/cli/drctl" "$WORK/snap/bin/drctl"
cp "$build"/modules/drctl-*.so "$WORK/snap/lib/drctl/"
export DRCTL_BUILD=$build DRCTL=$WORK/snap/bin/drctl
export DRCTL_LAB_STATE=$(mktemp -d "${TMPDIR:-/tmp}/drctl-bench-serve.XXXXXX")/lab
export LAB_SERVE_INTERVAL=${interval}s LAB_SERVE_MIN_WRITE_INTERVAL=1m
# On exit, errors aside (a process stopped already is no failure here): the lab, then ours.
trap 'set +e; lab/down > /dev/null 2>&1; cleanup; rm -rf "$(dirname "$DRCTL_LAB_STATE")"' EXIT
lab/up > /dev/null
. "$DRCTL_LAB_STATE/lab.env"
ticks_per_s=$(getconf CLK_TCK)

# cpu_ticks PID: its CPU so far (itself, every thread, its waited-for children), in clock ticks.
cpu_ticks() {
  local stat
  stat=$(< "/proc/$1/stat")
  set -- ${stat##*) }   # fields from the 3rd (state) on: utime is the 14th
  echo $(( ${12} + ${13} + ${14} + ${15} ))
}
status_kb() { awk -v k="$2:" '$1 == k { print $2 }' "/proc/$1/status"; }
memory() {  # memory PID: "rss_kb hwm_kb pss_kb threads anon_kb file_kb"
  echo "$(status_kb "$1" VmRSS) $(status_kb "$1" VmHWM) $(awk '$1 == "Pss:" { print $2 }' "/proc/$1/smaps_rollup")" \
    "$(status_kb "$1" Threads) $(status_kb "$1" RssAnon) $(status_kb "$1" RssFile)"
}
evaluations() {  # evaluations URL: "name=count ..." from /readiness
  curl -s "$1/readiness" | python3 -c 'import json,sys; print(" ".join("%s=%d" % (c["name"], c["evaluations"]) for c in json.load(sys.stdin)["checks"]))'
}
all_evaluated() {
  curl -s "$1/readiness" | python3 -c 'import json,sys; sys.exit(0 if all(c["evaluations"] > 0 and not c["running"] for c in json.load(sys.stdin)["checks"]) else 1)'
}

# idle NAME PID URL: the serve process's CPU and memory over the window -> $WORK/idle-NAME.json
idle() {
  local name=$1 pid=$2 url=$3 e0 e1 c0 c1 t0 t1
  [ "$(readlink "/proc/$pid/exe")" = "$DRCTL" ] || { echo "PID $pid is not drctl" >&2; exit 1; }
  for _ in $(seq 200); do all_evaluated "$url" && break; sleep 0.1; done
  sleep "$warmup"
  e0=$(evaluations "$url")   # asked outside the window: the window sees no request
  c0=$(cpu_ticks "$pid"); t0=$EPOCHREALTIME
  sleep "$window"
  c1=$(cpu_ticks "$pid"); t1=$EPOCHREALTIME
  read -r rss hwm pss threads anon file <<< "$(memory "$pid")"
  e1=$(evaluations "$url")
  python3 - "$name" "$((c1 - c0))" "$ticks_per_s" "$t0" "$t1" "$rss" "$hwm" "$pss" "$threads" "$anon" "$file" "$e0" "$e1" > "$WORK/idle-$name.json" <<'PY'
import json, sys
name, ticks, hz, t0, t1, rss, hwm, pss, threads, anon, file, e0, e1 = sys.argv[1:]
wall = float(t1) - float(t0)
e0 = dict(x.split("=") for x in e0.split()); e1 = dict(x.split("=") for x in e1.split())
print(json.dumps({"name": name, "wall_s": round(wall, 3), "cpu_s": int(ticks) / int(hz),
                  "cpu_pct": round(100 * int(ticks) / int(hz) / wall, 3), "rss_kb": int(rss), "hwm_kb": int(hwm),
                  "pss_kb": int(pss), "threads": int(threads), "rss_anon_kb": int(anon), "rss_file_kb": int(file),
                  "evaluations_in_window": {k: int(e1[k]) - int(e0[k]) for k in e1}}))
PY
}

# ---- serve as the lab starts it: --interval 5s, --min-write-interval 1m
serve_a=$(cat "$DRCTL_LAB_STATE/pids/serve.pid")
idle lab "$serve_a" "$LAB_SERVE"
# Its largest mappings (resident kB), to see where the RSS is.
python3 - "$serve_a" > "$WORK/mappings.txt" <<'PY'
import collections, sys
rss, name = collections.Counter(), None
for line in open(f"/proc/{sys.argv[1]}/smaps"):
    f = line.split()
    if not f[0].endswith(":"):
        name = f[5] if len(f) > 5 else "[anon]"
    elif f[0] == "Rss:":
        rss[name] += int(f[1])
print(" ".join(f"{n.rsplit('/', 1)[-1]}={kb}" for n, kb in rss.most_common(12)))
PY

python3 - "$LAB_SERVE" "$requests" > "$WORK/latency.json" <<'PY'
import http.client, json, statistics, sys, time, urllib.parse
url, n = urllib.parse.urlsplit(sys.argv[1]), int(sys.argv[2])
def run(path):
    conn, times, size = http.client.HTTPConnection(url.hostname, url.port), [], 0
    for _ in range(n):
        t = time.perf_counter()
        conn.request("GET", path)
        r = conn.getresponse()
        body = r.read()
        times.append((time.perf_counter() - t) * 1000)
        assert r.status in (200, 503), r.status
        size = len(body)
    times.sort()
    q = lambda p: round(times[min(len(times) - 1, int(p * len(times)))], 3)
    return {"median_ms": round(statistics.median(times), 3), "p90_ms": q(0.90), "p99_ms": q(0.99),
            "max_ms": round(times[-1], 3), "bytes": size, "requests": n}
print(json.dumps({"metrics": run("/metrics"), "readiness": run("/readiness")}))
PY
for _ in $(seq 200); do curl -s -o /dev/null -w '%{time_total}\n' "$LAB_SERVE/metrics"; done > "$WORK/curl.txt"
read -r rss_after _ <<< "$(memory "$serve_a")"
kill -TERM "$serve_a"   # one serve at a time; stopped here, so no longer lab/down's to stop
for _ in $(seq 100); do kill -0 "$serve_a" 2>/dev/null || break; sleep 0.05; done
rm -f "$DRCTL_LAB_STATE/pids/serve.pid"

# ---- serve like for like with the loop: the heartbeat written every 5 s too
setsid lab/run serve switchover --listen 127.0.0.1:0 --port-file "$WORK/b.port" --interval ${interval}s \
  --min-write-interval ${interval}s --log-format json < /dev/null > "$WORK/serve-b.log" 2>&1 &
serve_b=$!; STARTED_PIDS+=("$serve_b")   # lab/run execs drctl: this is drctl's PID
for _ in $(seq 100); do [ -s "$WORK/b.port" ] && break; sleep 0.05; done
idle write5s "$serve_b" "http://127.0.0.1:$(cat "$WORK/b.port")"
kill -TERM "$serve_b"
for _ in $(seq 100); do kill -0 "$serve_b" 2>/dev/null || break; sleep 0.05; done

# ---- the peer: a shell loop of `drctl check` every 5 s. drctl's arguments are lab/run's
# (captured once), so the loop runs drctl itself, not lab/run's bash wrapper.
cat > "$WORK/capture" <<SH
#!/usr/bin/env bash
printf '%s\0' "\$@" > "$WORK/check.argv"
SH
chmod +x "$WORK/capture"
DRCTL=$WORK/capture lab/run check switchover -q
mapfile -d '' -t check_args < "$WORK/check.argv"
"$DRCTL" "${check_args[@]}" > /dev/null   # warm: it passes
rounds=$(( window / interval ))
t0=$EPOCHREALTIME
(
  failed=0
  for _ in $(seq "$rounds"); do "$DRCTL" "${check_args[@]}" > /dev/null 2>&1 || failed=$((failed + 1)); sleep "$interval"; done
  echo "$failed"
  times
) > "$WORK/loop.times"
t1=$EPOCHREALTIME
for _ in $(seq 10); do
  /usr/bin/time -f '%M %U %S' -a -o "$WORK/check.rss" "$DRCTL" "${check_args[@]}" > /dev/null
done

python3 - "$WORK" "$t0" "$t1" "$rounds" "$rss_after" "$window" <<'PY'
import json, re, statistics, sys
work, t0, t1, rounds, rss_after, window = sys.argv[1], float(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]), sys.argv[6]
lab, w5 = (json.load(open(f"{work}/idle-{n}.json")) for n in ("lab", "write5s"))
lat = json.load(open(f"{work}/latency.json"))
curl = statistics.median(float(x) * 1000 for x in open(f"{work}/curl.txt"))
lines = open(f"{work}/loop.times").read().split("\n")
sec = lambda s: sum(float(m) * 60 + float(x) for m, x in re.findall(r"(\d+)m([\d.]+)s", s))
loop_cpu = sec(lines[1]) + sec(lines[2])   # the loop shell, then its children
loop = {"rounds": rounds, "failed": int(lines[0]), "wall_s": round(t1 - t0, 3), "cpu_s": round(loop_cpu, 3),
        "cpu_pct": round(100 * loop_cpu / (t1 - t0), 3)}
runs = [l.split() for l in open(f"{work}/check.rss")]
loop["check_peak_rss_kb"] = statistics.median(int(r[0]) for r in runs)
loop["check_cpu_ms"] = statistics.median((float(r[1]) + float(r[2])) * 1000 for r in runs)
mib = lambda kb: kb / 1024
out = {"serve": lab, "serve_write5s": w5, "serve_rss_after_scrapes_kb": rss_after, "latency": lat,
       "curl_new_connection_median_ms": round(curl, 3), "loop": loop,
       "mappings": open(f"{work}/mappings.txt").read().strip()}
json.dump(out, open("bench/results/serve.json", "w"), indent=1)
ok = lambda b: "PASS" if b else "FAIL"
m = lat["metrics"]
with open("bench/results/serve.txt", "w") as f:
    def p(s): print(s); f.write(s + "\n")
    p(f"idle window {window} s; 5 checks every 5 s")
    for r, label in ((lab, "serve (heartbeat every 1 m)"), (w5, "serve (heartbeat every 5 s)")):
        p(f"{label}: CPU {r['cpu_pct']:.3f} % of one core ({r['cpu_s']:.2f} s in {r['wall_s']:.1f} s); "
          f"RSS {mib(r['rss_kb']):.1f} MiB (anon {mib(r['rss_anon_kb']):.1f}, files {mib(r['rss_file_kb']):.1f}), "
          f"peak {mib(r['hwm_kb']):.1f} MiB, PSS {mib(r['pss_kb']):.1f} MiB, "
          f"{r['threads']} threads; evaluations {r['evaluations_in_window']}")
    p(f"serve RSS after {2 * m['requests']} scrapes + 200 curl: {mib(rss_after):.1f} MiB")
    for path in ("metrics", "readiness"):
        x = lat[path]
        p(f"/{path} keep-alive x{x['requests']}: median {x['median_ms']:.3f} ms, p90 {x['p90_ms']:.3f}, "
          f"p99 {x['p99_ms']:.3f}, max {x['max_ms']:.3f} ({x['bytes']} bytes)")
    p(f"/metrics by curl, new connection each (x200): median {curl:.3f} ms")
    p(f"loop of drctl check: {loop['rounds']} rounds ({loop['failed']} failed), CPU {loop['cpu_pct']:.3f} % "
      f"({loop['cpu_s']:.2f} s in {loop['wall_s']:.1f} s); one check: peak RSS {mib(loop['check_peak_rss_kb']):.1f} MiB, "
      f"CPU {loop['check_cpu_ms']:.0f} ms")
    p(f"loop / serve CPU: {loop['cpu_pct'] / lab['cpu_pct']:.1f}x (1 m heartbeat), {loop['cpu_pct'] / w5['cpu_pct']:.1f}x (5 s)")
    p(f"thresholds: CPU < 1 %: {ok(lab['cpu_pct'] < 1)} ({lab['cpu_pct']:.3f} %); "
      f"RSS < 30 MiB: {ok(lab['rss_kb'] < 30 * 1024 and lab['hwm_kb'] < 30 * 1024)} "
      f"({mib(lab['rss_kb']):.1f}, peak {mib(lab['hwm_kb']):.1f}); "
      f"/metrics median < 2 ms: {ok(m['median_ms'] < 2)} ({m['median_ms']:.3f} ms)")
    p(f"largest mappings (resident kB): {out['mappings']}")
PY
