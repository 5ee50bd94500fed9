#!/usr/bin/env bash
# The lab's order service (lab/order_service.cpp) writing to real MariaDB servers: a primary (a)
# replicating to a read-only replica (b), one service on each, as lab/up runs them. Asserts what
# a drill's write probe relies on: 201 only for a committed row, 200 for a replay, 503 read_only
# on the replica, 503 database_unreachable within ~2 s when the database dies and recovery
# without a restart when it is back, duplicates visible in GET, and no password anywhere.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/mariadb.sh"
require_tool mariadbd
require_tool mariadb-install-db
require_tool curl
ORDER=${ORDER_SERVICE:-${BUILD_DIR:?BUILD_DIR must point at the build dir}/lab/drctl-lab-order}
[ -x "$ORDER" ] || { echo "missing $ORDER: build the drctl-lab-order target"; exit 1; }

password="pw-$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')"
start_mariadb a 1
start_mariadb b 2
start_replication a b "$password"
sql a "CREATE DATABASE lab;
  CREATE TABLE lab.orders (id BIGINT AUTO_INCREMENT PRIMARY KEY, idem_key VARCHAR(100) NOT NULL,
    seq BIGINT NOT NULL, site CHAR(1) NOT NULL,
    created_at TIMESTAMP(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6), KEY (idem_key));
  CREATE USER 'app'@'127.0.0.1' IDENTIFIED BY '$password';
  GRANT SELECT, INSERT ON lab.* TO 'app'@'127.0.0.1';"
sql b "SET GLOBAL read_only=1"
for _ in $(seq 100); do [ "$(sql b "SELECT COUNT(*) FROM mysql.user WHERE user='app'")" = 1 ] && break; sleep 0.05; done
printf '%s\n' "$password" > "$WORK/db-password"
chmod 600 "$WORK/db-password"

# start_order NAME SITE [ARGS]: one service instance, its log in $WORK/order-NAME.log; sets
# URL_<NAME> and ORDER_PID_<NAME>.
start_order() {
  local name=$1 site=$2; shift 2
  setsid "$ORDER" --site "$site" --id 1 --port-file "$WORK/order-$name.port" "$@" </dev/null >"$WORK/order-$name.log" 2>&1 &
  STARTED_PIDS+=($!)
  printf -v "ORDER_PID_$name" '%s' "$!"
  for _ in $(seq 100); do [ -s "$WORK/order-$name.port" ] && break; sleep 0.05; done
  [ -s "$WORK/order-$name.port" ] || { echo "order service $name did not start: $(cat "$WORK/order-$name.log")"; exit 1; }
  printf -v "URL_$name" 'http://127.0.0.1:%s' "$(cut -d' ' -f1 "$WORK/order-$name.port")"
}
start_order a a --db-port "$PORT_a" --db-user app --db-password-file "$WORK/db-password"
start_order b b --db-port "$PORT_b" --db-user app --db-password-file "$WORK/db-password"
start_order none a

# req NAME METHOD URL [BODY [CURL ARGS...]]: the answer's status in CODE, its body in NAME.out,
# its time in MS.
req() {
  local name=$1 method=$2 url=$3 body=${4:-} started
  shift 3; [ $# -gt 0 ] && shift
  started=$(date +%s%N)
  CODE=$(curl -s -m 10 -o "$WORK/$name.out" -w '%{http_code}' -X "$method" \
    ${body:+--data-binary "$body"} -H 'Content-Type: application/json' "$@" "$url")
  MS=$((($(date +%s%N) - started) / 1000000))
  LAST=$name
}
code_is() {  # code_is DESCRIPTION WANTED
  if [ "$CODE" = "$2" ]; then pass "$1 (HTTP $CODE)"; else fail "$1: HTTP $CODE, expected $2" "$(head -c 400 "$WORK/$LAST.out")"; fi
}
# json_is PYTHON-EXPR EXPECTED: EXPR evaluated with j = the last answer's JSON.
json_is() {
  local got
  got=$(/usr/bin/python3 -c 'import json,sys; j=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$WORK/$LAST.out" "$1" 2>&1)
  [ "$got" = "$2" ] && pass "$LAST: $1 == $2" || fail "$LAST: $1 is '$got', expected '$2'" "$(head -c 400 "$WORK/$LAST.out")"
}
rows() { sql "$1" "SELECT COUNT(*) FROM lab.orders WHERE idem_key='$2'"; }
rows_are() {  # rows_are SERVER KEY COUNT: waits up to 3 s (replication)
  local got
  for _ in $(seq 60); do got=$(rows "$1" "$2"); [ "$got" = "$3" ] && break; sleep 0.05; done
  [ "$got" = "$3" ] && pass "$1 holds $3 row(s) with key $2" || fail "$1 holds $got row(s) with key $2, expected $3"
}

# --- writes on the primary's service
req post_a POST "$URL_a/orders" '{"key": "order-1", "seq": 7}'
code_is "a new order on A" 201
json_is '[j["key"], j["seq"], j["site"], j["id"] > 0]' "['order-1', 7, 'a', True]"
rows_are a order-1 1
rows_are b order-1 1
req replay_a POST "$URL_a/orders" '{"key": "order-1", "seq": 7}'
code_is "the same order again: a replay" 200
json_is '[j["key"], j["seq"], j["site"]]' "['order-1', 7, 'a']"
rows_are a order-1 1
req header_key POST "$URL_a/orders" '{"seq": 8}' -H 'Idempotency-Key: order-2'
code_is "the key in an Idempotency-Key header" 201
json_is 'j["key"]' order-2
req get_a GET "$URL_a/orders/order-1"
code_is "GET an order on A" 200
json_is '[j["key"], j["count"], j["site"], j["seqs"]]' "['order-1', 1, 'a', [7]]"
req get_unknown GET "$URL_a/orders/no-such-order"
code_is "GET an unknown key" 404
json_is '[j["key"], j["count"]]' "['no-such-order', 0]"

# --- the replica's service: reads and replays answer, writes do not
req post_b POST "$URL_b/orders" '{"key": "order-on-b", "seq": 1}'
code_is "a new order on the read-only replica" 503
json_is '[j["error"], j["message"]]' "['read_only', \"site b's database is read-only (not the primary)\"]"
rows_are b order-on-b 0
req replay_b POST "$URL_b/orders" '{"key": "order-1", "seq": 7}'
code_is "a replay on the replica of an order that replicated" 200
req get_b GET "$URL_b/orders/order-1"
code_is "GET on the replica" 200
json_is '[j["count"], j["site"]]' "[1, 'b']"

# --- bad requests
req bad_json POST "$URL_a/orders" '{"key": "x", "seq": '
code_is "a body that is not JSON" 400
req bad_key POST "$URL_a/orders" '{"key": "no spaces; please", "seq": 1}'
code_is "a key with characters outside [A-Za-z0-9._:-]" 400
req long_key POST "$URL_a/orders" "{\"key\": \"$(printf 'k%.0s' $(seq 101))\", \"seq\": 1}"
code_is "a key of 101 characters" 400
req bad_seq POST "$URL_a/orders" '{"key": "order-3", "seq": "7"}'
code_is "a seq that is not an integer" 400
req no_key POST "$URL_a/orders" '{"seq": 1}'
code_is "no key in the body or a header" 400
rows_are a order-3 0
req no_db POST "$URL_none/orders" '{"key": "order-4", "seq": 1}'
code_is "a service without --db-port" 503
contains "it says why" "$WORK/no_db.out" "no database configured"

# --- the primary hangs (stopped, its sockets open): an answer all the same, in ~2-3 s
db_pid=$(cat "$WORK/a/mysqld.pid")
kill -STOP "$db_pid"
req post_hung POST "$URL_a/orders" '{"key": "order-6", "seq": 1}'
kill -CONT "$db_pid"
code_is "a new order while A's database hangs" 503
json_is 'j["error"]' database_unreachable
[ "$MS" -lt 3500 ] && pass "answered in $MS ms (< 3.5 s)" || fail "answered in $MS ms, expected < 3.5 s"

# --- the primary dies: an answer within ~2 s, then recovery without restarting the service
db_pid=$(cat "$WORK/a/mysqld.pid")
kill -KILL "$db_pid"
for _ in $(seq 100); do kill -0 "$db_pid" 2>/dev/null || break; sleep 0.05; done
req post_dead POST "$URL_a/orders" '{"key": "order-5", "seq": 1}'
code_is "a new order while A's database is down" 503
json_is 'j["error"]' database_unreachable
[ "$MS" -lt 2500 ] && pass "answered in $MS ms (< 2.5 s)" || fail "answered in $MS ms, expected < 2.5 s"
req get_dead GET "$URL_a/orders/order-1"
code_is "GET while A's database is down" 503
json_is 'j["error"]' database_unreachable
setsid mariadbd --defaults-file="$WORK/a/my.cnf" </dev/null >/dev/null 2>&1 &
STARTED_PIDS+=($!)
for _ in $(seq 200); do mariadb-admin --defaults-file="$WORK/a/my.cnf" -uroot ping >/dev/null 2>&1 && break; sleep 0.05; done
# Every worker thread may hold a connection from before: several requests, each must succeed.
recovered=0
for i in 1 2 3 4 5 6 7 8 9 10; do
  req "post_back_$i" POST "$URL_a/orders" "{\"key\": \"order-back-$i\", \"seq\": $i}"
  [ "$CODE" = 201 ] && recovered=$((recovered + 1))
done
[ "$recovered" = 10 ] && pass "10 of 10 new orders after A's database came back (HTTP 201)" \
  || fail "$recovered of 10 new orders after A's database came back" "$(cat "$WORK/$LAST.out")"
rows_are a order-back-10 1
kill -0 "$ORDER_PID_a" 2>/dev/null && pass "A's service was not restarted" || fail "A's service is gone"

# --- a duplicate (as a faulty failover makes one) is visible
sql a "INSERT INTO lab.orders (idem_key, seq, site) VALUES ('order-1', 9, 'b')"
req get_duplicate GET "$URL_a/orders/order-1"
code_is "GET an order written twice" 200
json_is '[j["count"], j["seqs"]]' "[2, [7, 9]]"
req replay_duplicate POST "$URL_a/orders" '{"key": "order-1", "seq": 7}'
code_is "a replay of it answers the first row" 200
json_is '[j["seq"], j["site"]]' "[7, 'a']"

# --- the password appears nowhere
for name in a b none; do
  lacks "the password is not in $name's log" "$WORK/order-$name.log" "$password"
done
leaks=$(grep -lF -- "$password" "$WORK"/*.out)
[ -z "$leaks" ] && pass "the password is in no answer" || fail "the password is in: $leaks"
contains "A's log says when its database went away" "$WORK/order-a.log" "is unreachable"
finish
