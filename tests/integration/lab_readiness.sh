#!/usr/bin/env bash
# Readiness between drills, end to end: the lab (lab/up) serves its switchover's checks with
# `drctl serve` on site B; a real Prometheus scrapes it with contrib/prometheus/drctl.rules.yml
# loaded. Prometheus' HTTP API must show drctl_readiness 1; stopping the replica's SQL thread
# must take the lag check (the heartbeat) and the promotion check down and drctl_readiness to 0
# within two intervals, with the DrctlNotReady alert pending; starting it again brings
# readiness back. The rules pass `promtool test rules`; `promtool check metrics` accepts the
# lab's exposition (MySQL, Consul, gRPC and etcd gauges).
. "$(dirname "$0")/../cli/lib.sh"
for tool in prometheus promtool mariadbd etcd nginx curl; do require_tool "$tool"; done
: "${BUILD_DIR:?BUILD_DIR must point at the build directory}"
RULES="$SOURCE_DIR/contrib/prometheus"

# The rules on their own first: made-up series, no server.
if promtool test rules "$RULES/drctl.rules.test.yml" >"$WORK/rules-test.out" 2>&1; then
  pass "promtool test rules: DrctlNotReady fires after 1m of drctl_readiness == 0, not on a shorter flap"
else
  fail "promtool test rules" "$(tail -20 "$WORK/rules-test.out")"
fi

# The lab, its serve evaluating every 2 s, the heartbeat (a check that writes) too.
INTERVAL_S=2
export DRCTL_BUILD=$BUILD_DIR DRCTL_LAB_STATE="$WORK/lab" DRCTL="$DRCTL"
export LAB_SERVE_INTERVAL=${INTERVAL_S}s LAB_SERVE_MIN_WRITE_INTERVAL=${INTERVAL_S}s
trap '"$SOURCE_DIR/lab/down" >/dev/null 2>&1; cleanup' EXIT
if "$SOURCE_DIR/lab/up" >"$WORK/lab-up.out" 2>&1; then pass "lab/up: the lab and its drctl serve"
else fail "lab/up" "$(tail -20 "$WORK/lab-up.out")"; finish; exit; fi
. "$WORK/lab/lab.env"
SERVE_HOSTPORT=${LAB_SERVE#http://}
contains "lab/status shows drctl serve's readiness row" "$WORK/lab-up.out" "readiness-b  $LAB_SERVE"

# Prometheus: scrapes drctl serve every second, evaluates the rules every second.
PROM_PORT=$(closed_port)
cat > "$WORK/prometheus.yml" <<YAML
global: {scrape_interval: 1s, evaluation_interval: 1s}
rule_files: ["$RULES/drctl.rules.yml"]
scrape_configs:
  - job_name: drctl
    static_configs: [{targets: ["$SERVE_HOSTPORT"]}]
YAML
promtool check config "$WORK/prometheus.yml" >"$WORK/check-config.out" 2>&1 \
  && pass "promtool check config: the scrape config and the rules load" || fail "promtool check config" "$(cat "$WORK/check-config.out")"
setsid prometheus --config.file="$WORK/prometheus.yml" --storage.tsdb.path="$WORK/prom-data" \
  --web.listen-address="127.0.0.1:$PROM_PORT" </dev/null >"$WORK/prometheus.log" 2>&1 &
STARTED_PIDS+=($!)

# promql EXPR: the instant query's samples as "labels value" lines (sorted), "" when none.
promql() {
  curl -s -m 5 -G "http://127.0.0.1:$PROM_PORT/api/v1/query" --data-urlencode "query=$1" \
    | /usr/bin/python3 -c 'import json,sys
d = json.load(sys.stdin)
for r in sorted(d["data"]["result"], key=lambda r: sorted(r["metric"].items())):
    m = r["metric"]; print(m.get("check", m.get("__name__", "")), r["value"][1])' 2>/dev/null
}
# until_promql DESCRIPTION EXPR WANTED SECONDS: polls the query until it prints WANTED.
until_promql() {
  local deadline=$((SECONDS + $4)) got=""
  while [ $SECONDS -lt $deadline ]; do
    got=$(promql "$2")
    [ "$got" = "$3" ] && { pass "$1"; return 0; }
    sleep 0.25
  done
  fail "$1: '$2' gives '$got', expected '$3'" "$(tail -3 "$WORK/prometheus.log")"
  return 1
}

until_promql "Prometheus scrapes drctl serve on site B: up 1" 'up{job="drctl"}' "up 1" 60
until_promql "Prometheus sees drctl_readiness 1 (every check of the switchover passes)" \
  'drctl_readiness' "drctl_readiness 1" 60
until_promql "... and each check up" 'sum(drctl_check_up)' " 5" 10
curl -s -m 5 "$LAB_SERVE/metrics" > "$WORK/lab-metrics.txt"
if promtool check metrics <"$WORK/lab-metrics.txt" >"$WORK/check-metrics.out" 2>&1; then
  pass "promtool check metrics accepts the lab's exposition ($(grep -c '^drctl_' "$WORK/lab-metrics.txt") samples)"
else fail "promtool check metrics" "$(cat "$WORK/check-metrics.out")"; fi
contains "the lab's exposition: the replica's lag in seconds" "$WORK/lab-metrics.txt" 'drctl_check_replica_lag_seconds{check="replica-rpo",kind="mysql"}'
contains "the lab's exposition: Consul's passing instances" "$WORK/lab-metrics.txt" 'drctl_check_passing_instances{check="consul-b-passing",kind="consul"} 3'
contains "the lab's exposition: gRPC addresses serving" "$WORK/lab-metrics.txt" 'drctl_check_serving_addresses{check="grpc-b-serving",kind="grpc_health"} 3'
contains "the lab's exposition: etcd's raft lag" "$WORK/lab-metrics.txt" 'drctl_check_etcd_raft_lag_entries{check="etcd-b-healthy",kind="etcd_health"} '

# The replica's SQL thread stops: B falls behind, silently, as it would weeks before a disaster.
db_b() { mariadb --defaults-file="$WORK/lab/db_b/my.cnf" -uroot -N -B -e "$1"; }
db_b 'STOP SLAVE SQL_THREAD' || fail "STOP SLAVE SQL_THREAD on B"
stopped_at=$(date +%s.%N)
until_promql "the lag check (heartbeat) and the promotion check go down" \
  'drctl_check_up{check=~"replica-rpo|db-b-promotable"}' $'db-b-promotable 0\nreplica-rpo 0' 30
until_promql "drctl_readiness 0" 'drctl_readiness' "drctl_readiness 0" 30
# When did it flip? The first scraped 0, from Prometheus' own samples (its timestamps, not this
# script's polling): within two intervals (each at most 10 % jitter late) and one scrape.
first_zero=$(curl -s -m 5 -G "http://127.0.0.1:$PROM_PORT/api/v1/query" --data-urlencode 'query=drctl_readiness[2m]' \
  | /usr/bin/python3 -c 'import json,sys
values = json.load(sys.stdin)["data"]["result"][0]["values"]
stopped = float(sys.argv[1])
print(min(t for t, v in values if v == "0" and t >= stopped))' "$stopped_at" 2>&1)
/usr/bin/python3 -c 'import sys
took, limit = float(sys.argv[1]) - float(sys.argv[2]), 2 * 1.1 * float(sys.argv[3]) + 1
print(f"{took:.2f}s after STOP SLAVE SQL_THREAD (limit {limit:.1f}s: two {sys.argv[3]}s intervals with jitter, one 1s scrape)")
sys.exit(0 if took <= limit else 1)' "$first_zero" "$stopped_at" "$INTERVAL_S" >"$WORK/flip.out" 2>&1 \
  && pass "drctl_readiness 0 within two intervals: $(cat "$WORK/flip.out")" || fail "readiness flipped late" "$(cat "$WORK/flip.out")"
until_promql "the DrctlNotReady alert is pending (it fires after 1m)" 'ALERTS{alertname="DrctlNotReady"}' "ALERTS 1" 15
curl -s -m 5 -H 'Accept: text/plain' "$LAB_SERVE/readiness" > "$WORK/not-ready.txt"
contains "/readiness names why: B's SQL thread is stopped" "$WORK/not-ready.txt" "SQL=No"
"$SOURCE_DIR/lab/status" > "$WORK/status-not-ready.out" 2>&1
contains "lab/status: NOT READY, with the first reason" "$WORK/status-not-ready.out" "NOT READY: "

db_b 'START SLAVE SQL_THREAD' || fail "START SLAVE SQL_THREAD on B"
until_promql "the SQL thread running again: drctl_readiness 1" 'drctl_readiness' "drctl_readiness 1" 30

# No secret: the lab's database password is in no answer and no log line.
password=$(cat "$LAB_DB_PASSWORD_FILE")
for path in /readiness /metrics /checks/replica-rpo /checks/db-b-promotable; do curl -s -m 5 "$LAB_SERVE$path"; done > "$WORK/answers.txt"
if grep -qF -- "$password" "$WORK/answers.txt" "$WORK/lab/serve.log"; then fail "the database password leaked"
else pass "the database password is in no answer and not in serve.log"; fi
finish
