#!/usr/bin/env bash
# drctl serve against real servers (the HTTP and gRPC health fixtures) and exec checks: the
# endpoints answer from cached results (a flood of scrapes never evaluates), /readiness flips
# with a gRPC instance and goes stale with a hung server, promtool accepts /metrics, the token,
# SIGHUP with a broken playbook, SIGTERM during an evaluation, no secret in any answer or log.
. "$(dirname "$0")/lib.sh"
require_tool curl
require_tool promtool
: "${FIXTURE_GRPC:?FIXTURE_GRPC must point at drctl-fixture-grpc}"

start_fixture web a
WEB_PID=${STARTED_PIDS[-1]}
printf -- '- SERVING\n' > "$WORK/status"
start_grpc g --status-file "$WORK/status"
secret="sec-$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')"
export DRCTL_SERVE_SECRET="$secret"
token="tok-$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')"
printf '%s\n' "$token" > "$WORK/token"
chmod 600 "$WORK/token"

PB="$WORK/serve.yaml"
checks_yaml() {  # the checks every playbook here serves
  cat <<YAML
version: 1
name: serve-test
checks:
  - name: web
    timeout: 60s
    http: {url: "http://127.0.0.1:$PORT_web/health", expect_status: 200}
  - name: grpc
    timeout: 2s
    grpc_health: {address: "127.0.0.1:$PORT_g"}
YAML
}
{ checks_yaml; cat <<YAML
  - name: counted
    timeout: 5s
    exec:
      argv: [sh, -c, 'echo x >> "$WORK/evals"; echo "secret is \$S"']
      secret_env: {S: DRCTL_SERVE_SECRET}
steps:
  - name: never
    exec: {argv: [touch, "$WORK/step-ran"]}
YAML
} > "$PB"

# start_serve NAME ARGS...: drctl serve in the background on a free port; sets SERVE_PID, SP.
start_serve() {
  local name=$1; shift
  setsid "$DRCTL" serve "$@" --listen 127.0.0.1:0 --port-file "$WORK/$name.port" \
    </dev/null >"$WORK/$name.out" 2>"$WORK/$name.err" &
  SERVE_PID=$!
  STARTED_PIDS+=($SERVE_PID)
  for _ in $(seq 200); do [ -s "$WORK/$name.port" ] && break; sleep 0.05; done
  [ -s "$WORK/$name.port" ] || { echo "drctl serve $name did not start: $(cat "$WORK/$name.err")"; exit 1; }
  SP=$(cat "$WORK/$name.port")
}

# req NAME METHOD PATH [CURL ARGS]: with the token; body in $WORK/NAME.body, status in CODE.
req() {
  local name=$1 method=$2 path=$3; shift 3
  CODE=$(curl -s --max-time 10 -X "$method" -o "$WORK/$name.body" -D "$WORK/$name.headers" -w '%{http_code}' \
    -H "Authorization: Bearer $token" "$@" "http://127.0.0.1:$SP$path")
}
expect_code() {  # expect_code DESCRIPTION NAME WANTED
  [ "$CODE" = "$3" ] && pass "$1 (HTTP $CODE)" || fail "$1: HTTP $CODE, expected $3" "$(head -c 400 "$WORK/$2.body")"
}
# wait_for DESCRIPTION PATH CODE TEXT [SECONDS]: polls PATH until it answers CODE with TEXT in it.
wait_for() {
  local deadline=$((SECONDS + ${5:-30}))
  while [ $SECONDS -lt $deadline ]; do
    req waited GET "$2"
    [ "$CODE" = "$3" ] && grep -qF -- "$4" "$WORK/waited.body" && { pass "$1"; return 0; }
    sleep 0.2
  done
  fail "$1: last HTTP $CODE" "$(head -c 600 "$WORK/waited.body")"
}
json_is() {  # json_is DESCRIPTION FILE PYTHON-EXPR EXPECTED (d = the document)
  local got
  got=$(/usr/bin/python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$2" "$3" 2>&1)
  [ "$got" = "$4" ] && pass "$1" || fail "$1: $3 is '$got', expected '$4'" "$(head -c 400 "$2")"
}
metric() {  # metric FILE NAME{LABELS}: prints the sample's value
  awk -v m="$2" '$1 == m {print $2}' "$1"
}

# Refusals before serving.
check no-listen 64 serve "$PB"
check bad-listen 64 serve "$PB" --listen 127.0.0.1:http
printf 'version: 1\nname: broken\nchecks:\n  - name: x\n    nosuchkind: {}\n' > "$WORK/broken.yaml"
check invalid-playbook 65 serve "$WORK/broken.yaml" --listen 127.0.0.1:0
check port-in-use 69 serve "$PB" --listen "127.0.0.1:$PORT_web"
contains "port in use: a one-line error naming the address" "$WORK/port-in-use.err" "cannot listen on 127.0.0.1:$PORT_web"

start_serve main "$PB" --interval 1s --max-age 3s --token-file "$WORK/token" --allow-trigger \
  --log-format json --grace 2s
MAIN_PID=$SERVE_PID
MAIN_PORT=$SP

# The token: everything but /healthz asks for it.
code=$(curl -s -o "$WORK/healthz.body" -w '%{http_code}' "http://127.0.0.1:$SP/healthz")
[ "$code" = 200 ] && grep -qx ok "$WORK/healthz.body" && pass "/healthz without a token: 200 ok" || fail "/healthz: $code"
for path in /readiness /metrics /checks/web /nope; do
  code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$SP$path")
  [ "$code" = 401 ] && pass "$path without the token: 401" || fail "$path without the token: $code"
done
code=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer ${token}x" "http://127.0.0.1:$SP/readiness")
[ "$code" = 401 ] && pass "a wrong token: 401" || fail "a wrong token: $code"
code=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $(printf '%s' "$token" | tr '[:alnum:]' 'x')" "http://127.0.0.1:$SP/readiness")
[ "$code" = 401 ] && pass "a wrong token of the right length: 401" || fail "a wrong token of the right length: $code"

wait_for "/readiness: 200 once every check passed" /readiness 200 '"ready": true'
req ready GET /readiness
json_is "/readiness JSON: three checks, each ok with its age and transition" "$WORK/ready.body" \
  '[(c["name"], c["state"], c["age_seconds"] is not None, c["last_transition"] is not None) for c in d["checks"]]' \
  "[('web', 'ok', True, True), ('grpc', 'ok', True, True), ('counted', 'ok', True, True)]"
[ -e "$WORK/step-ran" ] && fail "a step ran under serve" || pass "no step ever runs under serve"
req ready-text GET /readiness -H 'Accept: text/plain'
expect_code "/readiness as text" ready-text 200
[ "$(head -1 "$WORK/ready-text.body")" = ready ] && pass "text: first line 'ready'" || fail "text readiness" "$(cat "$WORK/ready-text.body")"
grep -qi '^content-type: text/plain' "$WORK/ready-text.headers" && pass "text: Content-Type text/plain" || fail "text content type"

req metrics GET /metrics
expect_code "/metrics" metrics 200
if promtool check metrics <"$WORK/metrics.body" >"$WORK/promtool.out" 2>&1; then pass "promtool check metrics accepts /metrics"
else fail "promtool check metrics" "$(cat "$WORK/promtool.out")"; fi
[ "$(metric "$WORK/metrics.body" drctl_readiness)" = 1 ] && pass "drctl_readiness 1" || fail "drctl_readiness" "$(grep readiness "$WORK/metrics.body")"
[ "$(metric "$WORK/metrics.body" 'drctl_check_up{check="grpc",kind="grpc_health"}')" = 1 ] && pass "drctl_check_up{grpc} 1" || fail "drctl_check_up{grpc}"
contains "metrics: HELP and TYPE" "$WORK/metrics.body" "# TYPE drctl_check_last_success_timestamp_seconds gauge"
contains "metrics: the gRPC check's serving addresses" "$WORK/metrics.body" 'drctl_check_serving_addresses{check="grpc",kind="grpc_health"} 1'
contains "metrics: numeric evidence" "$WORK/metrics.body" 'drctl_check_evidence_value{check="counted",kind="exec",field="exit_code"} 0'

# One check, its evidence; the methods, unknown names and paths.
req one GET /checks/counted
expect_code "/checks/counted" one 200
json_is "/checks/counted: its result, with the secret masked in the evidence" "$WORK/one.body" \
  'd["result"]["outputs"]["stdout"]' 'secret is ***'
req unknown-check GET /checks/nope
expect_code "/checks/nope: 404" unknown-check 404
req post-check POST /checks/counted
expect_code "POST /checks/counted: 405" post-check 405
grep -qi '^allow: GET' "$WORK/post-check.headers" && pass "405 says Allow: GET" || fail "405 without Allow"
req get-run GET /checks/counted/run
expect_code "GET /checks/NAME/run: 405" get-run 405
req delete DELETE /readiness
expect_code "DELETE /readiness: 405" delete 405
req nope GET /nope
expect_code "an unknown path: 404" nope 404
head -c 100000 /dev/zero | tr '\0' a > "$WORK/big"
req big POST /checks/counted/run --data-binary @"$WORK/big"
expect_code "a 100 kB request body: 413" big 413
req trigger POST /checks/counted/run
expect_code "POST /checks/counted/run with --allow-trigger: 202" trigger 202
req trigger-empty POST /checks/counted/run -d ''
[ "$CODE" = 202 ] || [ "$CODE" = 409 ] && pass "POST .../run with Content-Length: 0 (HTTP $CODE)" || fail "POST with an empty body: HTTP $CODE"

# A gRPC instance goes NOT_SERVING and back: 200 -> 503 -> 200, each transition logged.
printf -- '- NOT_SERVING\n' > "$WORK/status"
wait_for "NOT_SERVING: /readiness 503 naming the check" /readiness 503 "grpc: failed"
req flip-metrics GET /metrics
[ "$(metric "$WORK/flip-metrics.body" drctl_readiness)" = 0 ] && pass "drctl_readiness 0" || fail "drctl_readiness after NOT_SERVING"
printf -- '- SERVING\n' > "$WORK/status"
wait_for "SERVING again: /readiness 200" /readiness 200 '"ready": true'
if /usr/bin/python3 - "$WORK/main.err" <<'PY'
import json, sys
events = [json.loads(l) for l in open(sys.argv[1]) if l.startswith("{")]
moves = [(e["from"], e["to"]) for e in events if e["event"] == "check_transition" and e["check"] == "grpc"]
assert moves == [("pending", "ok"), ("ok", "failed"), ("failed", "ok")], moves
PY
then pass "log: one JSON line per transition of grpc (pending->ok->failed->ok)"; else fail "transition log" "$(tail -5 "$WORK/main.err")"; fi

# 1,000 scrapes, ten clients at once: each answered from the cache, no extra evaluation.
req m0 GET /metrics
evals0=$(metric "$WORK/m0.body" 'drctl_check_evaluations_total{check="counted",kind="exec"}')
t0=$(date +%s.%N)
urls=()
for i in $(seq 50); do urls+=("http://127.0.0.1:$SP/metrics" "http://127.0.0.1:$SP/readiness"); done
for c in $(seq 10); do
  curl -s -H "Authorization: Bearer $token" -o /dev/null -w '%{http_code}\n' "${urls[@]}" >"$WORK/flood.$c" &
  FLOOD_PIDS+=($!)
done
for pid in "${FLOOD_PIDS[@]}"; do wait "$pid"; done
t1=$(date +%s.%N)
req m1 GET /metrics
evals1=$(metric "$WORK/m1.body" 'drctl_check_evaluations_total{check="counted",kind="exec"}')
answered=$(cat "$WORK"/flood.* | grep -c '^200$')
[ "$answered" = 1000 ] && pass "1,000 scrapes answered 200" || fail "flood: $answered of 1000 answered 200" "$(sort "$WORK"/flood.* | uniq -c)"
if /usr/bin/python3 -c 'import sys; e0,e1,t0,t1=map(float,sys.argv[1:]); allowed=(t1-t0)/0.9+2; print(f"{e1-e0:.0f} evaluations in {t1-t0:.2f}s, at most {allowed:.1f} on schedule"); sys.exit(0 if e1-e0 <= allowed else 1)' \
  "$evals0" "$evals1" "$t0" "$t1" >"$WORK/flood.verdict"; then pass "the flood caused no extra evaluation: $(cat "$WORK/flood.verdict")"
else fail "the flood caused evaluations: $(cat "$WORK/flood.verdict")"; fi

# The web server hangs (SIGSTOP): its check's result goes stale, the endpoint still answers at once.
kill -STOP "$WEB_PID"
wait_for "a hung server: /readiness 503 naming web stale" /readiness 503 "web: stale" 15
took=$(curl -s -o /dev/null -w '%{time_total}' --max-time 5 -H "Authorization: Bearer $token" "http://127.0.0.1:$SP/readiness")
/usr/bin/python3 -c 'import sys; sys.exit(0 if float(sys.argv[1]) < 1 else 1)' "$took" \
  && pass "/readiness answers in ${took}s while the check hangs" || fail "/readiness took ${took}s"
req stale-one GET /checks/web
json_is "/checks/web: stale, its evaluation still running" "$WORK/stale-one.body" '(d["state"], d["running"])' "('stale', True)"
kill -CONT "$WEB_PID"
wait_for "the server answers again: /readiness 200" /readiness 200 '"ready": true'

# SIGHUP with a broken playbook: refused, the old one keeps serving, counted in /metrics.
cp "$PB" "$WORK/serve.good"
printf 'version: 1\nname: serve-test\nchecks: [oops\n' > "$PB"
kill -HUP "$MAIN_PID"
for _ in $(seq 100); do grep -q '"event":"reload"' "$WORK/main.err" && break; sleep 0.1; done
contains "log: the reload refused, the old playbook keeps serving" "$WORK/main.err" "reload refused"
req after-broken GET /metrics
[ "$(metric "$WORK/after-broken.body" drctl_reload_failures_total)" = 1 ] && pass "drctl_reload_failures_total 1" || fail "reload failures metric"
[ "$(metric "$WORK/after-broken.body" drctl_config_last_reload_successful)" = 0 ] && pass "drctl_config_last_reload_successful 0" || fail "last reload metric"
req after-broken-ready GET /readiness
expect_code "still serving the old playbook after the refused reload" after-broken-ready 200
json_is "the old playbook's three checks" "$WORK/after-broken-ready.body" 'len(d["checks"])' 3
json_is "/readiness config: why the reload was refused, with file:line:col" "$WORK/after-broken-ready.body" \
  '"invalid playbook (1 error; the first: " + "'"$PB"':4:1: syntax error" in d["config"]["last_reload_error"]' True

# A valid reload: counted goes, a slow check comes (for the stop below).
{ checks_yaml; cat <<YAML
  - name: slow
    timeout: 2m
    exec: {argv: [sleep, "60"]}
YAML
} > "$PB"
kill -HUP "$MAIN_PID"
wait_for "SIGHUP with a valid playbook: the new checks served" /checks/slow 200 '"running": true'
req after-good GET /metrics
[ "$(metric "$WORK/after-good.body" drctl_config_last_reload_successful)" = 1 ] && pass "drctl_config_last_reload_successful 1" || fail "last reload metric after a good reload"
req gone GET /checks/counted
expect_code "a check no longer in the playbook: 404" gone 404

# No secret in any answer or log line.
for f in "$WORK"/*.body "$WORK/main.err" "$WORK/main.out"; do
  grep -qF -- "$secret" "$f" && fail "the secret in $(basename "$f")"
done
grep -qF -- "$secret" "$WORK"/*.body "$WORK/main.err" || pass "the env secret is in no answer and no log line"
grep -qF -- "$token" "$WORK"/*.body "$WORK/main.err" && fail "the token in an answer or the log" || pass "the token is in no answer and no log line"

# SIGTERM while 'slow' evaluates (sleep 60): cancelled, exit 0 within the grace (2s).
t0=$(date +%s.%N)
kill -TERM "$MAIN_PID"
for _ in $(seq 100); do kill -0 "$MAIN_PID" 2>/dev/null || break; sleep 0.05; done
wait "$MAIN_PID"; rc=$?
t1=$(date +%s.%N)
/usr/bin/python3 -c 'import sys; t=float(sys.argv[2])-float(sys.argv[1]); print(f"{t:.2f}s"); sys.exit(0 if t < 3 else 1)' "$t0" "$t1" >"$WORK/stop.took" \
  && pass "SIGTERM during an evaluation: exits in $(cat "$WORK/stop.took") (grace 2s)" || fail "SIGTERM took $(cat "$WORK/stop.took")"
[ "$rc" = 0 ] && pass "a graceful stop exits 0" || fail "exit $rc after SIGTERM" "$(tail -3 "$WORK/main.err")"
pgrep -f "sleep 60" -s "$MAIN_PID" >/dev/null && fail "the slow check's child outlived drctl serve" || pass "the slow check's child was stopped"

# Without --allow-trigger and without a token; text logs; a slow client is cut off.
# A check's own interval wins over --interval (here 1m); its max age is 3 x its own interval, or
# more when an evaluation can take longer (interval + jitter + its 30 s default timeout).
{ checks_yaml; cat <<YAML
  - name: quick
    interval: 300ms
    exec: {argv: [sh, -c, 'echo x >> "$WORK/quick-evals"']}
YAML
} > "$WORK/second.yaml"
check max-age-below-interval 64 serve "$WORK/second.yaml" --listen 127.0.0.1:0 --interval 5s --max-age 3s
contains "--max-age below a check's interval: refused, naming the check" "$WORK/max-age-below-interval.err" \
  "check 'web' is evaluated every 5s (10 % jitter), but --max-age is 3s: it would go stale between evaluations"
start_serve second "$WORK/second.yaml" --interval 1m --max-connections 2
token=""
wait_for "a second instance without a token: /readiness 200" /readiness 200 "ready"
# Until 'quick' has been evaluated 5 times (1.5 s at 300 ms; longer under ASan).
for _ in $(seq 100); do
  req second-ready GET /readiness
  /usr/bin/python3 -c 'import json,sys; sys.exit(0 if [c for c in json.load(open(sys.argv[1]))["checks"] if c["name"] == "quick" and c["evaluations"] >= 5] else 1)' \
    "$WORK/second-ready.body" 2>/dev/null && break
  sleep 0.2
done
json_is "interval: 300ms: 'quick' evaluated every 300 ms, 'grpc' once (every 1m)" "$WORK/second-ready.body" \
  '[(c["name"], c["interval_seconds"], c["max_age_seconds"], c["evaluations"] >= 5 if c["name"] == "quick" else c["evaluations"]) for c in d["checks"] if c["name"] in ("grpc", "quick")]' \
  "[('grpc', 60.0, 180.0, 1), ('quick', 0.3, 30.33, True)]"
req no-trigger POST /checks/grpc/run
expect_code "POST /checks/NAME/run without --allow-trigger: 403" no-trigger 403
contains "text log: one line per transition" "$WORK/second.err" "check 'grpc' (grpc_health): pending -> ok"
# Two clients connect and say nothing: they hold both connections until the read timeout (5s).
if /usr/bin/python3 - "$SP" >"$WORK/slow.out" 2>&1 <<'PY'
import socket, subprocess, sys, time
port = int(sys.argv[1])
silent = [socket.create_connection(("127.0.0.1", port)) for _ in range(2)]
t0 = time.time()
code = subprocess.run(["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "--max-time", "20",
                       f"http://127.0.0.1:{port}/healthz"], capture_output=True, text=True).stdout
took = time.time() - t0
closed = []
for s in silent:
    s.settimeout(10)
    closed.append(s.recv(10) == b"")
print(f"healthz {code} after {took:.1f}s; silent clients closed by the server: {closed}")
sys.exit(0 if code == "200" and all(closed) and took < 15 else 1)
PY
then pass "--max-connections 2 with two silent clients: $(cat "$WORK/slow.out")"; else fail "slow clients" "$(cat "$WORK/slow.out")"; fi
# Two clients trickle their requests, a header line every second (each read is on time): the
# request deadline (10 s from the connection's start) cuts them, and a third client is answered.
if /usr/bin/python3 - "$SP" >"$WORK/trickle.out" 2>&1 <<'PY'
import socket, subprocess, sys, threading, time
port = int(sys.argv[1])
cut = {}
def trickle(i):
    s = socket.create_connection(("127.0.0.1", port))
    s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
    t0 = time.time()
    try:
        for n in range(40):
            s.sendall(b"X-Slow-%d: y\r\n" % n)
            time.sleep(1)
            s.setblocking(False)
            try:
                if s.recv(10) == b"": break
            except BlockingIOError: pass
            finally: s.setblocking(True)
    except OSError: pass
    cut[i] = time.time() - t0
threads = [threading.Thread(target=trickle, args=(i,)) for i in range(2)]
for t in threads: t.start()
time.sleep(0.5)
t0 = time.time()
code = subprocess.run(["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "--max-time", "30",
                       f"http://127.0.0.1:{port}/healthz"], capture_output=True, text=True).stdout
took = time.time() - t0
for t in threads: t.join()
print(f"healthz {code} after {took:.1f}s; trickling clients cut after {sorted(round(v, 1) for v in cut.values())}s")
sys.exit(0 if code == "200" and took < 14 and all(v < 14 for v in cut.values()) else 1)
PY
then pass "two trickling clients are cut at the request deadline: $(cat "$WORK/trickle.out")"; else fail "trickling clients" "$(cat "$WORK/trickle.out")"; fi
/usr/bin/python3 - "$SP" >"$WORK/headers.out" 2>&1 <<'PY'
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.sendall(b"GET /readiness HTTP/1.1\r\nHost: x\r\n" + b"".join(b"X-H%d: y\r\n" % i for i in range(200)) + b"Connection: close\r\n\r\n")
print(s.recv(100).split(b"\r\n")[0].decode())
PY
contains "200 header fields: 431" "$WORK/headers.out" "HTTP/1.1 431"
# SIGTERM while two trickling clients hold both workers: the stop cuts them, within the grace.
/usr/bin/python3 -c '
import socket, sys, time
socks = [socket.create_connection(("127.0.0.1", int(sys.argv[1]))) for _ in range(2)]
for s in socks: s.sendall(b"GET /healthz HTTP/1.1\r\n")
time.sleep(30)' "$SP" >/dev/null 2>&1 &
holder=$!
STARTED_PIDS+=($holder)
sleep 0.5
t0=$(date +%s.%N)
kill -TERM "$SERVE_PID"
wait "$SERVE_PID"; rc=$?
t1=$(date +%s.%N)
kill "$holder" 2>/dev/null
[ "$rc" = 0 ] && pass "the second instance stops on SIGTERM (exit 0)" || fail "second instance exit $rc"
/usr/bin/python3 -c 'import sys; t=float(sys.argv[2])-float(sys.argv[1]); print(f"{t:.2f}s"); sys.exit(0 if t < 5 else 1)' "$t0" "$t1" >"$WORK/stop2.took" \
  && pass "SIGTERM with two clients mid-request: exits in $(cat "$WORK/stop2.took") (their connections cut)" || fail "SIGTERM with slow clients took $(cat "$WORK/stop2.took")"

# HTTPS with --tls-cert/--tls-key, a CA made here; the certificate names 127.0.0.1.
require_tool openssl
(cd "$WORK" && openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem -days 1 -subj "/CN=drctl serve CA" 2>/dev/null \
  && openssl req -newkey rsa:2048 -nodes -keyout srv.key -out srv.csr -subj "/CN=127.0.0.1" 2>/dev/null \
  && printf 'subjectAltName=IP:127.0.0.1\n' > srv.ext \
  && openssl x509 -req -in srv.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out srv.pem -days 1 -extfile srv.ext 2>/dev/null)
check tls-half 64 serve "$WORK/second.yaml" --listen 127.0.0.1:0 --tls-cert "$WORK/srv.pem"
check tls-wrong-key 69 serve "$WORK/second.yaml" --listen 127.0.0.1:0 --tls-cert "$WORK/srv.pem" --tls-key "$WORK/ca.key"
contains "a key that is not the certificate's: refused, naming both" "$WORK/tls-wrong-key.err" "cannot load the TLS certificate $WORK/srv.pem"
start_serve tls "$WORK/second.yaml" --interval 1s --tls-cert "$WORK/srv.pem" --tls-key "$WORK/srv.key"
code=$(curl -s --max-time 10 --cacert "$WORK/ca.pem" -o "$WORK/tls.body" -w '%{http_code}' "https://127.0.0.1:$SP/healthz")
[ "$code" = 200 ] && grep -qx ok "$WORK/tls.body" && pass "--tls-cert: /healthz over HTTPS, verified by the CA" || fail "HTTPS /healthz: $code"
code=$(curl -s --max-time 10 -o /dev/null -w '%{http_code}' "http://127.0.0.1:$SP/healthz")
[ "$code" = 000 ] || [ "$code" = 400 ] && pass "plain HTTP to the HTTPS port gets no answer ($code)" || fail "plain HTTP on the TLS port: $code"
kill -TERM "$SERVE_PID"
wait "$SERVE_PID"; rc=$?
[ "$rc" = 0 ] && pass "the HTTPS instance stops on SIGTERM (exit 0)" || fail "HTTPS instance exit $rc"

finish
