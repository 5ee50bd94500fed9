#!/usr/bin/env bash
# A drill's evidence on real servers: orders written through nginx to the lab's order service
# (each site's instance writes to its own MariaDB) while drctl switches the database's primary
# role and the route, then every acknowledged order read back. A planned switchover loses
# nothing and its write gap lies in the database step; a switch rolled back after the database
# moved loses nothing either; an emergency failover onto a replica that missed acknowledged
# orders is caught: exactly those orders are listed as lost (exit 4), checked against both
# databases' own tables.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/mariadb.sh"
. "$(dirname "$0")/nginx.sh"
require_tool mariadbd
require_tool mariadb-install-db
require_tool nginx
ORDER=${BUILD_DIR:?BUILD_DIR must point at the build dir}/lab/drctl-lab-order
[ -x "$ORDER" ] || { echo "missing $ORDER: build the drctl-lab-order target"; exit 1; }

password="pw-$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')"
start_mariadb a 1
start_mariadb b 2
start_replication a b "$password"
sql a "CREATE USER 'dr'@'127.0.0.1' IDENTIFIED BY '$password';
  GRANT READ_ONLY ADMIN, PROCESS, RELOAD, CONNECTION ADMIN, REPLICATION SLAVE ADMIN, SLAVE MONITOR,
    BINLOG MONITOR, BINLOG ADMIN, SELECT ON *.* TO 'dr'@'127.0.0.1';
  GRANT CREATE, INSERT ON drctl.* TO 'dr'@'127.0.0.1';
  CREATE DATABASE lab;
  CREATE TABLE lab.orders (id BIGINT AUTO_INCREMENT PRIMARY KEY, idem_key VARCHAR(100) NOT NULL,
    seq BIGINT NOT NULL, site CHAR(1) NOT NULL,
    created_at TIMESTAMP(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6), KEY (idem_key));
  CREATE USER 'app'@'127.0.0.1' IDENTIFIED BY '$password';
  GRANT SELECT, INSERT ON lab.* TO 'app'@'127.0.0.1';"
sql b "SET GLOBAL read_only=1"
for _ in $(seq 100); do [ "$(sql b "SELECT COUNT(*) FROM mysql.user WHERE user='app'")" = 1 ] && break; sleep 0.05; done
printf '%s\n' "$password" > "$WORK/db-password"
chmod 600 "$WORK/db-password"

declare -A ORDER_PORT
for site in a b; do
  port_var="PORT_$site"
  setsid "$ORDER" --site "$site" --id 1 --port-file "$WORK/order-$site.port" --db-port "${!port_var}" \
    --db-user app --db-password-file "$WORK/db-password" </dev/null >"$WORK/order-$site.log" 2>&1 &
  STARTED_PIDS+=($!)
  for _ in $(seq 100); do [ -s "$WORK/order-$site.port" ] && break; sleep 0.05; done
  ORDER_PORT[$site]=$(cut -d' ' -f1 "$WORK/order-$site.port")
done
start_nginx "${ORDER_PORT[a]}"
ENTRY="http://127.0.0.1:$NGINX_PORT"

# Every key of this run's orders in a server's table, sorted.
keys_in() { sql "$1" "SELECT idem_key FROM lab.orders WHERE idem_key LIKE '$2-%'" | sort; }
py() { python3 -c "import json,sys; r=json.load(open(sys.argv[1])); w=r['sla']['write_probe']; s={x['name']: x for x in r['steps']}; print($2)" "$WORK/$1.out"; }
same() { [ "$2" = "$3" ] && pass "$1" || fail "$1: got '$2', expected '$3'"; }
db() { printf '{port: %s, user: dr, password_file: %s}' "$(port_of "$1")" "$WORK/db-password"; }
port_of() { local v="PORT_$1"; echo "${!v}"; }

# Steps, as YAML.
switch_db() {  # switch_db NAME FROM TO [EXTRA]
  cat <<YAML
  - name: $1
    budget: 2s
    mysql_switchover:
      primary: $(db "$2")
      candidate: $(db "$3")
      replication: {user: repl, password_file: $WORK/db-password}
      freeze_timeout: 500ms
      catchup_timeout: 2s
${4:-}
YAML
}
route_to() {  # route_to NAME SITE
  local conf
  conf=$(nginx_conf "${ORDER_PORT[$2]}" | sed 's/^/          /')
  cat <<YAML
  - name: $1
    budget: 5s
    routing_reload:
      file_and_exec:
        path: $NGINX_CONF
        content: |
$conf
        precheck: [nginx, -t, -q, -e, $WORK/nginx/error.log, -c, "{candidate}"]
        reload: [nginx, -e, $WORK/nginx/error.log, -c, $NGINX_CONF, -s, reload]
      verify:
        url: $ENTRY/site
        expect: {status: 200, headers: {X-Site: $2}}
        consecutive: 5
        interval: 20ms
        timeout: 5s
YAML
}
shell_step() { printf '  - name: %s\n    read_only: true\n    exec: {command: "%s", shell: true}\n' "$1" "$2"; }
drill() {  # drill NAME VERIFY-YAML STEPS
  cat > "$WORK/$1.yaml" <<YAML
version: 1
name: $1
sla:
  total: 23s
  write_probe:
    url: $ENTRY/orders
    interval: 20ms
    timeout: 2s
$2
    max_write_gap: 5s
steps:
$3
YAML
}

# --- 1. a planned switchover A -> B: nothing lost, the gap begins in the database step
drill switchover "    verify_url: $ENTRY/orders/{key}" \
  "$(shell_step before 'sleep 0.4'; switch_db database-to-b a b; route_to route-to-b b; shell_step after 'sleep 0.4')"
check switchover 0 run "$WORK/switchover.yaml" --yes --output json
run=$(py switchover 'r["run_id"]')
same "switchover: orders were written and acknowledged throughout" "$(py switchover 'w["acknowledged"] >= 20')" True
same "switchover: every acknowledged order read back, 0 lost, verdict met" "$(py switchover '(w["lost"], w["verification"]["checked"] == w["acknowledged"], w["verdict"])')" "(0, True, 'met')"
same "switchover: writes were refused for a while (the freeze until the route reached B)" "$(py switchover 'w["failed"] + w["unknown"] > 0 and w["longest_write_gap_ms"] > 0')" True
same "switchover: the longest write gap began in the database step, inside its start and end" \
  "$(py switchover '(w["longest_write_gap_during"], s["database-to-b"]["started_at"] <= w["longest_write_gap_started_at"] <= s["database-to-b"]["finished_at"])')" \
  "('step database-to-b', True)"
same "switchover: ... and closed once the route reached B (before the route step ended)" \
  "$(py switchover 'w["longest_write_gap_recovered"] and w["longest_write_gap_started_at"] <= s["route-to-b"]["finished_at"]')" True
# (After the route step an nginx worker of the old config may still pass a write or two to A
# while it drains: those are real refusals, so only the time before the switch is asserted.)
same "switchover: no write failed before the database step" \
  "$(py switchover '[e for e in w["failures_by_entry"] if e in ("before the first step", "step before")]')" "[]"
# The databases themselves agree: B (the new primary) holds exactly the acknowledged orders,
# plus any unknown outcome that landed; A (its replica now) the same.
# (A applies the last of them a moment after the run ends: up to 100 tries.)
for _ in $(seq 100); do [ "$(keys_in a "$run" | md5sum)" = "$(keys_in b "$run" | md5sum)" ] && break; sleep 0.1; done
same "switchover: B's table holds every acknowledged order" "$(($(keys_in b "$run" | wc -l) - $(py switchover 'w["unknown_landed"]')))" "$(py switchover 'w["acknowledged"]')"
same "switchover: A (replicating from B) has the same orders" "$(keys_in a "$run" | md5sum)" "$(keys_in b "$run" | md5sum)"

# --- 2. back to A, then a later step fails: the rollback returns the primary to B, and the
# orders B and A acknowledged are all on B (read back by SQL on B)
drill rolled_back "    verify_sql: {port: $PORT_b, user: app, password_file: $WORK/db-password, query: 'SELECT COUNT(*) FROM lab.orders WHERE idem_key = {key}'}" \
  "$(shell_step before 'sleep 0.3'; switch_db database-to-a b a; route_to route-to-a a; shell_step after 'sleep 0.3'; printf '  - name: broken\n    exec: {argv: [\"false\"]}\n    rollback: {exec: {argv: [\"true\"]}}\n')"
check rolled_back 2 run "$WORK/rolled_back.yaml" --yes --output json
run=$(py rolled_back 'r["run_id"]')
same "rollback: B is the primary again" "$(sql b 'SELECT @@read_only'),$(sql a 'SELECT @@read_only')" "0,1"
same "rollback: verified by SQL on B, 0 lost" "$(py rolled_back '(w["verification"]["method"], w["verification"]["verified"], w["lost"], w["verdict"])')" "('sql', True, 0, 'met')"
same "rollback: orders were acknowledged on both sites (A's before the rollback)" \
  "$(sql b "SELECT COUNT(DISTINCT site) FROM lab.orders WHERE idem_key LIKE '$run-%'")" 2
contains "rollback: the summary says nothing acknowledged was lost" "$WORK/rolled_back.out" "0 of $(py rolled_back 'w["acknowledged"]') acknowledged writes lost"
# (As in 1: after the route step, a kept-alive connection to an nginx worker of the old config
# may carry a write or two to B while that worker drains: real refusals, in step after.)
same "rollback: writes were refused only while the database and the route moved (either way)" \
  "$(py rolled_back 'sorted(e for e, n in w["failures_by_entry"].items() if e not in {"step database-to-a", "step route-to-a", "rollback route-to-a", "rollback database-to-a", "after the run"} and not (e == "step after" and n <= 2))')" "[]"
wait_served b || fail "rollback: nginx routes to B again"

# --- 3. an emergency failover onto a replica that missed acknowledged orders: caught
# A stops receiving from B, B acknowledges orders for a while, then B is frozen (so no more are
# acknowledged), its orders are dumped, and it dies. A is promoted with allow_data_loss.
B_PID=$(cat "$WORK/b/mysqld.pid")
dump="$WORK/b-keys-before-death"
drill emergency "    verify_sql: {port: $PORT_a, user: app, password_file: $WORK/db-password, query: 'SELECT COUNT(*) FROM lab.orders WHERE idem_key = {key}'}" \
  "$(shell_step a-stops-receiving "mariadb --defaults-file=$WORK/a/my.cnf -uroot -e 'STOP SLAVE IO_THREAD'"
     shell_step b-writes-alone 'sleep 0.6'
     shell_step b-dies "mariadb --defaults-file=$WORK/b/my.cnf -uroot -e 'SET GLOBAL read_only=1' && mariadb --defaults-file=$WORK/b/my.cnf -uroot -N -B -e 'SELECT idem_key FROM lab.orders' > $dump && kill -9 $B_PID"
     switch_db database-to-a b a "      mode: emergency
      allow_data_loss: true"
     route_to route-to-a a)"
check emergency 4 run "$WORK/emergency.yaml" --yes --output json
run=$(py emergency 'r["run_id"]')
grep "^$run-" "$dump" | sort > "$WORK/on-b"
keys_in a "$run" > "$WORK/on-a"
comm -23 "$WORK/on-b" "$WORK/on-a" > "$WORK/lost.expected"
py emergency '"\n".join(sorted(w["lost_keys"]))' > "$WORK/lost.got"
same "emergency: orders B acknowledged and A never received are at least 10" "$(($(wc -l < "$WORK/lost.expected") >= 10))" 1
same "emergency: the probe lists exactly those orders as lost" "$(md5sum < "$WORK/lost.got")" "$(md5sum < "$WORK/lost.expected")"
same "emergency: lost_exceeded, breached, sla_breached" "$(py emergency '(w["lost"] == len(w["lost_keys"]), w["lost_exceeded"], w["verdict"], r["result"])')" "(True, True, 'breached', 'sla_breached')"
contains "emergency: the summary names the first lost order" "$WORK/emergency.out" "acknowledged write(s) lost, at most 0 allowed ($(py emergency 'w["lost_keys"][0]')"
# --- the trend: one line per drill, oldest first, with the figures it is judged by
check trend 0 runs --since 1h --output json
same "trend: the three drills, oldest first" "$(python3 -c 'import json,sys; print([r["playbook"] for r in json.load(open(sys.argv[1]))])' "$WORK/trend.out")" "['switchover', 'rolled_back', 'emergency']"
same "trend: takeover, freeze and lost writes as measured" \
  "$(python3 -c 'import json,sys; r={x["playbook"]: x for x in json.load(open(sys.argv[1]))}; s=r["switchover"]; print(s["takeover_ms"] > 0, 0 < s["freeze_ms"] < 2000, s["writes"]["lost"], r["rolled_back"]["takeover_ms"], r["rolled_back"]["writes"]["lost"], r["emergency"]["writes"]["lost"] >= 10, r["emergency"]["exit_code"])' "$WORK/trend.out")" \
  "True True 0 None 0 True 4"
check trend-text 0 runs --since 1h --name switchover
contains "trend text: the columns" "$WORK/trend-text.out" "TAKEOVER"
contains "trend text: the switchover's freeze and no loss" "$WORK/trend-text.out" "0 of $(py switchover 'w["acknowledged"]')"
check trend-bad-since 64 runs --since yesterday
contains "trend: a bad --since is named" "$WORK/trend-bad-since.err" "--since yesterday: expected a duration"
finish
