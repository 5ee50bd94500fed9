#!/usr/bin/env bash
# routing_reload against real nginx routing to two upstream "sites" (X-Site: futian, bantian):
# a good switch with takeover/stable times, a broken config stopped by the precheck, a reload
# whose new upstream is wrong (its 502s counted as errors, rolled back and re-verified), an
# included upstream file prechecked in place, and an etcd_put whose compare fails.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/nginx.sh"
. "$(dirname "$0")/etcd.sh"
require_tool nginx
require_tool curl

start_fixture primary futian
start_fixture backup bantian
start_nginx "$PORT_primary"
[ "$(served_site)" = futian ] && pass "nginx routes to futian" || fail "nginx serves '$(served_site)'"

# routing NAME EXIT UPSTREAM-PORT [EXTRA CONF TEXT]
routing() {
  switch_playbook "$WORK/$1.yaml" "$3" bantian "${4:-}"
  check "$1" "$2" run --yes --output json "$WORK/$1.yaml"
}

# A good switch to bantian.
routing switch 0 "$PORT_backup"
report_is switch 's["route"]["evidence"]["takeover_ms"] > 0 and s["route"]["evidence"]["stable_ms"] >= s["route"]["evidence"]["takeover_ms"]' True
report_is switch 's["route"]["outputs"]["takeover_ms"] != "" and float(s["route"]["outputs"]["stable_ms"]) > 0' True
report_is switch '0 < s["route"]["journal_wait_ms"] < s["route"]["duration_ms"]' True
[ "$(served_site)" = bantian ] && pass "switch: nginx now serves bantian" || fail "switch: serves '$(served_site)'"
ls "$WORK/nginx" | grep -q drctl && fail "switch: a candidate or temp file was left" || pass "switch: no candidate or temp file left"

# Back to futian for the next cases (by hand, as an SRE would).
nginx_conf "$PORT_primary" > "$NGINX_CONF"
nginx -e "$WORK/nginx/error.log" -c "$NGINX_CONF" -s reload
wait_served futian || fail "back to futian by hand: nginx does not serve it"
cp "$NGINX_CONF" "$WORK/conf.before"

# A broken config: the precheck stops it before anything changes.
routing broken 2 "$PORT_backup" "this is not nginx syntax;"
report_is broken 's["route"]["evidence"]["error"]' precheck
contains broken-says-nothing-changed "$WORK/broken.out" "precheck failed, nothing changed"
cmp -s "$NGINX_CONF" "$WORK/conf.before" && pass "broken: the config file is untouched" || fail "broken: the config file changed"
[ "$(served_site)" = futian ] && pass "broken: futian still serves" || fail "broken: serves '$(served_site)'"
report_is broken 'len(r["rollbacks"])' 0

# The reload works but the new upstream is wrong (nothing listens there): verify never sees
# bantian, the rollback restores the file, reloads, and proves futian serves again.
routing wrong-upstream 2 "$(closed_port)"
report_is wrong-upstream 's["route"]["evidence"]["error"]' not_moved
# nginx's 502 for the dead upstream is an error, not a stale answer (issue 14, item 6): only
# futian's answers (old workers finishing) may count as stale.
report_is wrong-upstream '[(e["stale"] + e["errors"] == e["requests"], e["errors"] > e["stale"], e["flaps"]) for e in [s["route"]["evidence"]]]' "[(True, True, 0)]"
report_is wrong-upstream 's["route"]["evidence"]["last_error"]' "status 502, no X-Site"
contains wrong-upstream-names-the-error "$WORK/wrong-upstream.out" "errors; last error: status 502, no X-Site"
report_is wrong-upstream 'r["rollbacks"][0]["status"]' ok
contains wrong-upstream-rollback-verified "$WORK/wrong-upstream.out" "serves the old target (status 200, X-Site: futian) again"
cmp -s "$NGINX_CONF" "$WORK/conf.before" && pass "wrong-upstream: the config file is restored" || fail "wrong-upstream: the config file differs"
[ "$(served_site)" = futian ] && pass "wrong-upstream: futian serves again" || fail "wrong-upstream: serves '$(served_site)'"

# The exec action with its undo: the switch is done by a script; verify expects a site that
# never answers, so the undo script runs and the old target is verified again.
nginx_conf "$PORT_backup" > "$WORK/to-backup.conf"
cp "$NGINX_CONF" "$WORK/to-primary.conf"
reload="nginx -e $WORK/nginx/error.log -c $NGINX_CONF -s reload"
cat > "$WORK/exec-action.yaml" <<YAML
version: 1
name: exec-action
steps:
  - name: route
    routing_reload:
      exec: {argv: [sh, -c, "cp $WORK/to-backup.conf $NGINX_CONF && $reload"], undo: {argv: [sh, -c, "cp $WORK/to-primary.conf $NGINX_CONF && $reload"]}}
      verify: {url: "http://127.0.0.1:$NGINX_PORT/site", expect: {headers: {X-Site: nowhere}}, consecutive: 3, interval: 20ms, timeout: 1s}
YAML
check exec-action 2 run --yes --output json "$WORK/exec-action.yaml"
# bantian's answers match neither the old target (futian) nor the expected one: errors.
report_is exec-action 's["route"]["evidence"]["errors"] > 0 and s["route"]["evidence"]["last_error"] == "status 200, X-Site: bantian"' True
report_is exec-action 'r["rollbacks"][0]["status"]' ok
[ "$(served_site)" = futian ] && pass "exec-action: the undo script brought futian back" || fail "exec-action: serves '$(served_site)'"

# The availability probe: the upstream freezes for 0.5 s during one step; the probe's errors
# are counted, attributed to that step, and breach max_error_rate (exit 4), or only warn.
upstream_pid=$(ps -eo pid,args | awk -v port="$WORK/primary.port" '$0 ~ port && !/awk/ {print $1; exit}')
probe_playbook() {  # probe_playbook NAME ON_BREACH
  cat > "$WORK/$1.yaml" <<YAML
version: 1
name: $1
sla:
  on_breach: $2
  probe: {url: "http://127.0.0.1:$NGINX_PORT/site", interval: 20ms, timeout: 150ms, p99: 2s, max_error_rate: "1%"}
steps:
  - name: upstream-blip
    read_only: true
    exec: {shell: true, command: "kill -STOP $upstream_pid; sleep 0.5; kill -CONT $upstream_pid"}
  - name: calm
    read_only: true
    exec: {argv: [sleep, "0.4"]}
YAML
}
probe_playbook probe fail
check probe 4 run --yes --output json "$WORK/probe.yaml"
report_is probe 'r["sla"]["probe"]["errors"] > 0 and r["sla"]["probe"]["error_rate_exceeded"]' True
report_is probe 'list(r["sla"]["probe"]["errors_by_entry"])' "['step upstream-blip']"
report_is probe 'r["sla"]["probe"]["longest_error_streak_during"]' "step upstream-blip"
report_is probe 'r["sla"]["probe"]["requests"] >= 20' True
contains probe-summary "$WORK/probe.out" "availability error rate"
probe_playbook probe-warn warn
check probe-warn-text 0 run --yes "$WORK/probe-warn.yaml"
contains probe-warn-line "$WORK/probe-warn-text.out" "availability: "
contains probe-warn-attribution "$WORK/probe-warn-text.out" "during step upstream-blip"

# The probe's request still in flight when the run ends is aborted, not waited for, and counted
# neither way (abandoned_at_stop).
cat > "$WORK/probe-abandoned.yaml" <<YAML
version: 1
name: probe-abandoned
sla:
  probe: {url: "http://127.0.0.1:$PORT_primary/delay/3000", interval: 20ms, timeout: 5s}
steps:
  - name: short
    read_only: true
    exec: {argv: [sleep, "0.2"]}
YAML
check probe-abandoned 0 run --yes --output json "$WORK/probe-abandoned.yaml"
report_is probe-abandoned '[r["sla"]["probe"][k] for k in ("abandoned_at_stop", "requests", "errors")]' "[1, 0, 0]"
report_is probe-abandoned 'r["duration_ms"] < 2500' True

# prewarm: connections made before the switch are reused by later steps.
setsid "$FIXTURE_GRPC" --port-file "$WORK/grpc.port" --lifetime 300 </dev/null >/dev/null 2>&1 &
STARTED_PIDS+=($!)
for _ in $(seq 100); do [ -s "$WORK/grpc.port" ] && break; sleep 0.05; done
GRPC_PORT=$(cat "$WORK/grpc.port")
prewarm_playbook() {  # prewarm_playbook NAME PREWARM(yes|no)
  {
    printf 'version: 1\nname: %s\nsteps:\n' "$1"
    [ "$2" = yes ] && printf '  - name: prewarm\n    prewarm: {endpoints: ["http://127.0.0.1:%s/health", "grpc://127.0.0.1:%s", "tcp://127.0.0.1:%s"]}\n' \
      "$NGINX_PORT" "$GRPC_PORT" "$NGINX_PORT"
    printf '  - name: call\n    read_only: true\n    http: {url: "http://127.0.0.1:%s/health"}\n' "$NGINX_PORT"
  } > "$WORK/$1.yaml"
}
prewarm_playbook prewarmed yes
check prewarmed 0 run --yes --output json "$WORK/prewarmed.yaml"
report_is prewarmed '[e["ok"] for e in s["prewarm"]["evidence"]["endpoints"]]' "[True, True, True]"
report_is prewarmed 'all(e["connect_ms"] > 0 for e in s["prewarm"]["evidence"]["endpoints"])' True
report_is prewarmed 's["prewarm"]["evidence"]["endpoints"][1]["health"]' SERVING
report_is prewarmed 's["call"]["evidence"]["reused_connection"]' True
prewarm_playbook cold no
check cold 0 run --yes --output json "$WORK/cold.yaml"
report_is cold 's["call"]["evidence"]["reused_connection"]' False
closed=$(closed_port)
printf 'version: 1\nname: prewarm-refused\nsteps:\n  - name: prewarm\n    prewarm: {endpoints: ["tcp://127.0.0.1:%s", "http://127.0.0.1:%s/health"], connect_timeout: 500ms}\n' "$closed" "$NGINX_PORT" > "$WORK/prewarm-refused.yaml"
check prewarm-refused 2 run --yes --output json "$WORK/prewarm-refused.yaml"
report_is prewarm-refused 's["prewarm"]["status"]' unreachable
contains prewarm-refused-names-endpoint "$WORK/prewarm-refused.out" "tcp://127.0.0.1:$closed: connect 127.0.0.1:$closed: Connection refused"
sed -i 's/connect_timeout: 500ms}/connect_timeout: 500ms, required: false}/' "$WORK/prewarm-refused.yaml"
check prewarm-optional 0 run --yes --output json "$WORK/prewarm-refused.yaml"

# file_and_exec on an included file (issue 14, item 8): nginx's main config includes an
# upstream file, which `nginx -t -c FILE` cannot check alone; precheck_in_place tests the whole
# config with the new file under its real name, and puts the old bytes back before any reload
# if that fails.
UPSTREAM_CONF="$WORK/nginx/upstream.conf"
upstream_conf() { printf 'upstream site { server 127.0.0.1:%s; }\n%s' "$1" "${2:-}"; }
upstream_conf "$PORT_primary" > "$UPSTREAM_CONF"
nginx_conf "$PORT_primary" | sed "s|proxy_pass http://127.0.0.1:$PORT_primary;|proxy_pass http://site;|; s|^  server {|  include $UPSTREAM_CONF;\n  server {|" > "$NGINX_CONF"
nginx -t -q -e "$WORK/nginx/error.log" -c "$NGINX_CONF" && nginx -e "$WORK/nginx/error.log" -c "$NGINX_CONF" -s reload
wait_served futian || fail "include layout: nginx does not serve futian"
# The pids of nginx's workers: a reload replaces them. Waits until the old ones have gone.
workers() {
  local now
  for _ in $(seq 100); do
    now=$(ps -o pid= --ppid "$(cat "$WORK/nginx/nginx.pid")" | tr -d ' ' | sort | tr '\n' ' ')
    [ "$(wc -w <<<"$now")" -eq 1 ] && break
    sleep 0.05
  done
  echo "$now"
}
included_playbook() {  # included_playbook NAME CONTENT-FILE PRECHECK-ARGV [IN-PLACE]
  cat > "$WORK/$1.yaml" <<YAML
version: 1
name: $1
steps:
  - name: route
    timeout: 20s
    routing_reload:
      file_and_exec:
        path: $UPSTREAM_CONF
        content_file: $2
        precheck_in_place: ${4:-true}
        precheck: $3
        reload: [nginx, -e, $WORK/nginx/error.log, -c, $NGINX_CONF, -s, reload]
      verify: {url: "http://127.0.0.1:$NGINX_PORT/site", expect: {status: 200, headers: {X-Site: bantian}}, consecutive: 5, interval: 20ms, timeout: 3s}
YAML
}
nginx_test="[nginx, -t, -q, -e, $WORK/nginx/error.log, -c, $NGINX_CONF]"
upstream_conf "$PORT_backup" > "$WORK/upstream-bantian.conf"

# What the SRE hit: the included file tested alone.
included_playbook included-alone "$WORK/upstream-bantian.conf" "[nginx, -t, -q, -e, $WORK/nginx/error.log, -c, '{candidate}']" false
check included-alone 2 run --yes --output json "$WORK/included-alone.yaml"
contains included-alone-says-why "$WORK/included-alone.out" '\"upstream\" directive is not allowed here'

cp "$UPSTREAM_CONF" "$WORK/upstream.before"
before_workers=$(workers)
# A broken upstream file: nginx -t rejects the whole config; the file is back byte for byte and
# nginx was not reloaded (same worker, still futian).
upstream_conf "$PORT_backup" "not_a_directive on;" > "$WORK/upstream-broken.conf"
included_playbook included-broken "$WORK/upstream-broken.conf" "$nginx_test"
check included-broken 2 run --yes --output json "$WORK/included-broken.yaml"
report_is included-broken 's["route"]["evidence"]["error"]' precheck
report_is included-broken 'len(r["rollbacks"])' 0
contains included-broken-message "$WORK/included-broken.out" "precheck failed, nothing changed ($UPSTREAM_CONF tested in place, restored, not reloaded)"
contains included-broken-names-directive "$WORK/included-broken.out" 'unknown directive \"not_a_directive\"'
cmp -s "$UPSTREAM_CONF" "$WORK/upstream.before" && pass "included-broken: the upstream file is as before" || fail "included-broken: the upstream file changed"
[ "$(workers)" = "$before_workers" ] && pass "included-broken: nginx was not reloaded (same worker $before_workers)" || fail "included-broken: workers $before_workers -> $(workers)"
[ "$(served_site)" = futian ] && pass "included-broken: futian still serves" || fail "included-broken: serves '$(served_site)'"
ls "$WORK/nginx" | grep -q drctl && fail "included-broken: a temp file was left" || pass "included-broken: no temp file left"

# A valid config that the precheck still refuses (a policy script after nginx -t): had drctl
# reloaded at any point, nginx would serve bantian or have a new worker.
included_playbook included-refused "$WORK/upstream-bantian.conf" "[sh, -c, \"nginx -t -q -e $WORK/nginx/error.log -c $NGINX_CONF && echo 'change freeze: bantian' >&2 && exit 3\"]"
check included-refused 2 run --yes --output json "$WORK/included-refused.yaml"
contains included-refused-says-why "$WORK/included-refused.out" "exited 3: change freeze: bantian"
cmp -s "$UPSTREAM_CONF" "$WORK/upstream.before" && pass "included-refused: the upstream file is as before" || fail "included-refused: the upstream file changed"
[ "$(workers)" = "$before_workers" ] && pass "included-refused: nginx was not reloaded" || fail "included-refused: workers $before_workers -> $(workers)"
[ "$(served_site)" = futian ] && pass "included-refused: futian still serves" || fail "included-refused: serves '$(served_site)'"

# The good switch: prechecked in place, reloaded, bantian proven.
included_playbook included "$WORK/upstream-bantian.conf" "$nginx_test"
check included 0 run --yes --output json "$WORK/included.yaml"
cmp -s "$UPSTREAM_CONF" "$WORK/upstream-bantian.conf" && pass "included: the upstream file is the new one" || fail "included: the upstream file differs"
[ "$(served_site)" = bantian ] && pass "included: nginx serves bantian" || fail "included: serves '$(served_site)'"
[ "$(workers)" != "$before_workers" ] && pass "included: reloaded (a new worker: the check above can see a reload)" || fail "included: the worker is still $before_workers"
report_is included 's["route"]["evidence"]["stale"] + s["route"]["evidence"]["errors"] < s["route"]["evidence"]["requests"]' True

# Spelled wrong: each mistake named at validation.
included_playbook in-place-candidate "$WORK/upstream-bantian.conf" "[nginx, -t, -c, '{candidate}']"
check in-place-candidate 65 validate "$WORK/in-place-candidate.yaml"
contains in-place-candidate-why "$WORK/in-place-candidate.err" "{candidate} does not exist with precheck_in_place"
included_playbook path-not-in-place "$WORK/upstream-bantian.conf" "[nginx, -t, -c, '{path}']" false
check path-not-in-place 65 validate "$WORK/path-not-in-place.yaml"
contains path-not-in-place-why "$WORK/path-not-in-place.err" "{path} is the real file, still the old one while precheck runs"
sed 's|content_file: .*|content_file: /x\n        content: y|' "$WORK/included.yaml" > "$WORK/both-contents.yaml"
check both-contents 65 validate "$WORK/both-contents.yaml"
contains both-contents-why "$WORK/both-contents.err" "give content or content_file (exactly one)"
included_playbook missing-content-file "$WORK/nope.conf" "$nginx_test"
check missing-content-file 2 run --yes --output json "$WORK/missing-content-file.yaml"
report_is missing-content-file 's["route"]["evidence"]["error"]' content_file
contains missing-content-file-why "$WORK/missing-content-file.out" "content_file $WORK/nope.conf: No such file or directory"
cmp -s "$UPSTREAM_CONF" "$WORK/upstream-bantian.conf" && pass "missing-content-file: the upstream file is untouched" || fail "missing-content-file: the upstream file changed"

# etcd_put whose compare does not match: fails without writing.
if command -v etcd >/dev/null; then
  start_etcd G 1
  ectl G put /gateway/order-svc/site futian >/dev/null
  cat > "$WORK/etcd-compare.yaml" <<YAML
version: 1
name: etcd-compare
steps:
  - name: route
    routing_reload:
      etcd_put: {etcd: {endpoints: [$ETCD_G]}, key: /gateway/order-svc/site, value: bantian, expect_value: longgang}
      verify: {url: "http://127.0.0.1:$NGINX_PORT/site", expect: {headers: {X-Site: bantian}}, timeout: 1s}
YAML
  check etcd-compare 2 run --yes --output json "$WORK/etcd-compare.yaml"
  report_is etcd-compare 's["route"]["evidence"]["error"]' compare_failed
  [ "$(ectl G get /gateway/order-svc/site --print-value-only)" = futian ] && pass "etcd-compare: the key is unchanged" || fail "etcd-compare: the key changed"
elif [ -n "${CI:-}" ]; then
  fail "etcd is not installed in CI"
fi

finish
