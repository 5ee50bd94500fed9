#!/usr/bin/env bash
# The database role switch (mysql_switchover, the mysql check's promotable and lost methods) on
# real MariaDB servers: a primary (a) replicating to a read-only replica (b), and a standalone
# server (c). Every case asserts the exit code, the outcome class, both servers' read_only and
# replication, GTID positions where they matter, and what was journaled.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/mariadb.sh"
. "$(dirname "$0")/etcd.sh"
require_tool mariadbd
require_tool etcd
require_tool mariadb-install-db

password="pw-$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')"
export DRCTL_TEST_DB_PASSWORD="$password"
start_mariadb a 1
start_mariadb b 2
start_mariadb c 3
start_replication a b "$password"
grants="READ_ONLY ADMIN, PROCESS, RELOAD, CONNECTION ADMIN, REPLICATION SLAVE ADMIN, SLAVE MONITOR, BINLOG MONITOR, BINLOG ADMIN, SELECT ON *.*"
users="CREATE USER 'dr'@'127.0.0.1' IDENTIFIED BY '$password'; GRANT $grants TO 'dr'@'127.0.0.1';
  GRANT CREATE, INSERT ON drctl.* TO 'dr'@'127.0.0.1';
  CREATE USER 'app'@'127.0.0.1' IDENTIFIED BY '$password'; GRANT ALL PRIVILEGES ON *.* TO 'app'@'127.0.0.1';
  CREATE USER 'writer'@'127.0.0.1' IDENTIFIED BY '$password'; GRANT SELECT, INSERT ON app.* TO 'writer'@'127.0.0.1';
  CREATE USER 'weak'@'127.0.0.1' IDENTIFIED BY '$password'; GRANT SELECT, REPLICATION CLIENT ON *.* TO 'weak'@'127.0.0.1';
  CREATE USER 'watch'@'127.0.0.1' IDENTIFIED BY '$password'; GRANT SELECT, SLAVE MONITOR ON *.* TO 'watch'@'127.0.0.1';"
sql a "$users"
sql c "$users"
sql b "SET GLOBAL read_only=1"  # a replica is read-only, as in production
for _ in $(seq 100); do [ "$(sql b "SELECT COUNT(*) FROM mysql.user WHERE user='watch'")" = 1 ] && break; sleep 0.05; done

name_of_port() {
  case $1 in "$PORT_a") echo a ;; "$PORT_b") echo b ;; "$PORT_c") echo c ;; *) echo "port $1" ;; esac
}
# peek SERVER SQL: as an account without READ_ONLY ADMIN. Anything that looks at a server while
# a switch runs must use it: root's session would be seen (rightly) as one that writes through
# read_only, and refuse the switch.
peek() { MYSQL_PWD=$password mariadb -h127.0.0.1 -P"$(port_of "$1")" -uwatch -N -B -e "$2"; }
port_of() { local v="PORT_$1"; echo "${!v}"; }
# role SERVER: "writable" or "read-only", then " replica of X Yes/Yes" when it replicates.
role() {
  local ro replica
  ro=$(peek "$1" "SELECT IF(@@read_only, 'read-only', 'writable')")
  replica=$(MYSQL_PWD=$password mariadb -h127.0.0.1 -P"$(port_of "$1")" -uwatch -e 'SHOW SLAVE STATUS\G' |
    awk '/ Master_Port:/ {p=$2} / Slave_IO_Running:/ {io=$2} / Slave_SQL_Running:/ {s=$2} END {if (p) print p, io "/" s}')
  if [ -n "$replica" ]; then
    echo "$ro replica of $(name_of_port "${replica% *}") ${replica#* }"
  else
    echo "$ro"
  fi
}
roles_are() {  # roles_are DESCRIPTION "A-ROLE" "B-ROLE"
  local got_a got_b
  got_a=$(role a); got_b=$(role b)
  if [ "$got_a" = "$2" ] && [ "$got_b" = "$3" ]; then pass "$1: a $2, b $3"
  else fail "$1: a is '$got_a' (expected '$2'), b is '$got_b' (expected '$3')"; fi
}
A_PRIMARY=("writable" "read-only replica of a Yes/Yes")
B_PRIMARY=("read-only replica of b Yes/Yes" "writable")

# switch_yaml NAME PRIMARY CANDIDATE [EXTRA-KEYS] [MORE-STEPS]: a playbook switching the primary
# role from server PRIMARY to CANDIDATE (a, b or c), as the dr user.
switch_yaml() {
  local p="PORT_$2" c="PORT_$3"
  cat > "$WORK/$1.yaml" <<YAML
version: 1
name: $1
steps:
  - name: db
    timeout: 30s
    mysql_switchover:
      primary: {port: ${!p}, user: ${USER_OVERRIDE:-dr}, password_env: DRCTL_TEST_DB_PASSWORD}
      candidate: {port: ${!c}, user: ${USER_OVERRIDE:-dr}, password_env: DRCTL_TEST_DB_PASSWORD}
      replication: {user: repl, password_env: DRCTL_TEST_DB_PASSWORD}
${4:+      $4}
${5:-}
YAML
}
# switch NAME EXIT PRIMARY CANDIDATE [EXTRA-KEYS] [MORE-STEPS]: writes and runs it (JSON report).
switch() {
  local name=$1 rc=$2; shift 2
  switch_yaml "$name" "$@"
  check "$name" "$rc" run --yes --output json "$WORK/$name.yaml"
}
step_is() {  # step_is NAME PYTHON-EXPR EXPECTED, with d = the db step's record
  report_is "$1" "(lambda d: $2)(s['db'])" "$3"
}
no_secret() {  # no_secret NAME: the password is in none of NAME's outputs
  if grep -qF -- "$password" "$WORK/$1.out" "$WORK/$1.err"; then fail "$1: the password was printed"
  else pass "$1: no password in the output"; fi
}
acked() {  # acked WRITER: the ids its session saw acknowledged (ROW_COUNT() = 1), sorted
  awk -F'\t' '$2 == 1 {print $1}' "$WORK/$1.acks" | sort
}
rows_on() {  # rows_on SERVER PREFIX: the rows written by a writer, sorted
  sql "$1" "SELECT v FROM app.t WHERE v LIKE '$2-%'" | sort
}
# start_writer NAME USER PORT COUNT [SLEEP]: one client session inserting NAME-0..COUNT-1 in
# order, each followed by its ROW_COUNT() so that acknowledged inserts are known exactly; it
# stops at the first error (read-only: 1290; killed: 2013) and never reconnects.
start_writer() {
  python3 -c 'import sys, time
name, count, pause = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
for i in range(count):
    print(f"INSERT INTO app.t (v) VALUES (\"{name}-{i}\"); SELECT \"{name}-{i}\", ROW_COUNT();", flush=True)
    if pause: time.sleep(pause)' "$1" "$4" "${5:-0}" 2>/dev/null |
    mariadb -h127.0.0.1 -P"$3" -u"$2" -p"$password" --skip-reconnect --unbuffered -N -B \
      >"$WORK/$1.acks" 2>"$WORK/$1.errors" &
  WRITER_PID=$!
}
open_transaction_on() {  # open_transaction_on SERVER: waits until a write transaction is open there
  for _ in $(seq 80); do
    [ "$(sql "$1" 'SELECT COUNT(*) FROM information_schema.INNODB_TRX WHERE trx_rows_modified > 0 OR trx_tables_locked > 0')" = 1 ] && return 0
    sleep 0.12  # InnoDB refreshes INNODB_TRX only when it was not read for 100 ms
  done
  fail "no write transaction opened on $1" "$(sql "$1" 'SELECT * FROM information_schema.INNODB_TRX\G')" "$(sql "$1" 'SHOW PROCESSLIST')"
}
wait_acks() {  # wait_acks WRITER N: until N inserts were acknowledged
  for _ in $(seq 400); do [ "$(acked "$1" | wc -l)" -ge "$2" ] && return 0; sleep 0.025; done
  echo "writer $1 did not reach $2 acknowledged inserts: $(tail -2 "$WORK/$1.errors")"
}

# --- 1. The spec: emergency needs allow_data_loss; planned refuses it.
switch_yaml bad-emergency a b "mode: emergency"
check bad-emergency 65 validate "$WORK/bad-emergency.yaml"
contains bad-emergency-says "$WORK/bad-emergency.err" "mode: emergency loses what the primary had not sent: it needs allow_data_loss: true"
switch_yaml bad-planned a b "allow_data_loss: true"
check bad-planned 65 validate "$WORK/bad-planned.yaml"
# The replication account without a password, a socket candidate without replication.host, two
# password sources: located one-line errors, before anything runs.
cat > "$WORK/bad-keys.yaml" <<YAML
version: 1
name: bad-keys
steps:
  - name: db
    mysql_switchover:
      primary: {port: 1, user: dr, password_env: P, password_file: /nonexistent}
      candidate: {socket: /tmp/nowhere.sock, user: dr, password_env: P}
      replication: {user: repl}
YAML
check bad-keys 65 validate "$WORK/bad-keys.yaml"
contains bad-keys-both "$WORK/bad-keys.err" "bad-keys.yaml:6:68: steps[0].mysql_switchover.primary.password_file: give password_env or password_file, not both"
contains bad-keys-repl "$WORK/bad-keys.err" "steps[0].mysql_switchover.replication: give the replication account's password_env or password_file"
contains bad-keys-socket "$WORK/bad-keys.err" "replication.host and port say where the old primary reaches it"
check help-kind 0 help playbook mysql_switchover
contains help-kind-keys "$WORK/help-kind.out" "freeze_timeout"

# --- 2. Wrong password, refused port, missing privileges: one line naming the server.
DRCTL_TEST_DB_PASSWORD=wrong switch wrong-password 2 a b
step_is wrong-password 'd["evidence"]["error"]' auth
step_is wrong-password '"primary 127.0.0.1:'"$PORT_a"': authentication failed (1045)" in d["message"] or "candidate 127.0.0.1:'"$PORT_b"': authentication failed (1045)" in d["message"]' True
refused_port=$(closed_port)
PORT_x=$refused_port switch refused 2 x b
step_is refused 'd["status"] + " " + d["evidence"]["error"]' "unreachable refused"
step_is refused '"primary 127.0.0.1:'"$refused_port"': cannot connect (2002)" in d["message"]' True
USER_OVERRIDE=weak switch weak-user 2 a b
step_is weak-user 'd["evidence"]["error"]' privileges
report_is weak-user 'r["summary"]' "step 'db' failed; it changed nothing and no step before it did: nothing to roll back"
step_is weak-user 'd["message"]' "mysql primary 127.0.0.1:$PORT_a: user weak lacks READ_ONLY ADMIN, PROCESS, RELOAD, CONNECTION ADMIN, REPLICATION SLAVE ADMIN, BINLOG ADMIN (needed to switch roles)"
switch_yaml bad-repl-password a b
sed -i 's/replication: {user: repl, password_env: DRCTL_TEST_DB_PASSWORD}/replication: {user: repl, password_env: WRONG_REPL}/' "$WORK/bad-repl-password.yaml"
WRONG_REPL=not-it check bad-repl-password 2 run --yes --output json "$WORK/bad-repl-password.yaml"
step_is bad-repl-password 'd["evidence"]["error"]' replication_login
step_is bad-repl-password '"the replication account repl cannot log in from here" in d["message"]' True
# An emergency whose primary address is wrong, while the candidate still receives from the real
# one: refused (the candidate's own view says the primary is alive).
PORT_x=$refused_port switch emergency-typo 2 x b "mode: emergency
      allow_data_loss: true"
step_is emergency-typo 'd["evidence"]["error"]' primary_reachable
step_is emergency-typo '"still receives from its source 127.0.0.1:'"$PORT_a"' (IO thread running)" in d["message"]' True
for n in wrong-password refused weak-user bad-repl-password; do no_secret $n; done
roles_are "refused switches changed nothing" "${A_PRIMARY[@]}"

# --- 3. Preconditions that refuse and change nothing.
check promotable 0 probe mysql --method promotable --port "$PORT_b" --user dr --password-env DRCTL_TEST_DB_PASSWORD --primary-port "$PORT_a"
contains promotable-says "$WORK/promotable.out" "promotable: replicates from the primary 127.0.0.1:$PORT_a with both threads running, no errant transactions"
# A server without log_slave_updates cannot be switched (its re-point starts from its binlog).
start_mariadb d 4 "log-slave-updates=0"
sql d "$users"
switch no-slave-updates 2 d b
step_is no-slave-updates 'd["evidence"]["error"]' unsupported_setup
step_is no-slave-updates '"primary 127.0.0.1:'"$PORT_d"': log_slave_updates off" in d["message"]' True

# method lost on a healthy pair (or swapped) would freeze the live primary: refused.
check lost-healthy 1 probe mysql --method lost --output json --port "$PORT_b" --user dr --password-env DRCTL_TEST_DB_PASSWORD --primary-port "$PORT_a"
is lost-healthy 'c["evidence"]["error"]' not_a_successor
# Swapped the other way it is harmless: the "old primary" (b) is a read-only replica already.
check lost-swapped 0 probe mysql --method lost --output json --port "$PORT_a" --user dr --password-env DRCTL_TEST_DB_PASSWORD --primary-port "$PORT_b"
is lost-swapped 'c["changed"]' no
roles_are "lost on a healthy pair: nothing changed" "${A_PRIMARY[@]}"
# An errant transaction: a write on the replica with the binlog on.
sql b "SET GLOBAL read_only=0; INSERT INTO app.t (v) VALUES ('errant'); SET GLOBAL read_only=1"
errant=$(sql b "SELECT @@gtid_binlog_pos" | tr ',' '\n' | grep '^0-2-')
switch errant 2 a b
step_is errant 'd["evidence"]["error"]' errant
step_is errant '"has transactions the primary 127.0.0.1:'"$PORT_a"' never executed (errant): '"$errant"';" in d["message"]' True
check errant-probe 1 probe mysql --method promotable --port "$PORT_b" --user dr --password-env DRCTL_TEST_DB_PASSWORD --primary-port "$PORT_a"
contains errant-probe-names "$WORK/errant-probe.out" "(errant): $errant"
roles_are "errant: nothing changed" "${A_PRIMARY[@]}"
# Remove it: the row and the replica's own binlog history (its position stays as applied).
# (SET GLOBAL gtid_binlog_state=@@gtid_slave_pos hangs the server's session: set a literal.)
sql b "SET sql_log_bin=0; DELETE FROM app.t WHERE v='errant'; SET sql_log_bin=1; STOP SLAVE; RESET MASTER"
sql b "SET GLOBAL gtid_binlog_state='$(sql b "SELECT @@gtid_slave_pos")'; START SLAVE"
sql b "STOP SLAVE SQL_THREAD"
switch sql-stopped 2 a b
step_is sql-stopped 'd["evidence"]["error"] + " " + str(d["evidence"]["sql_running"])' "stopped False"
step_is sql-stopped '"replication stopped: IO=Yes SQL=No" in d["message"]' True
roles_are "stopped SQL thread: nothing changed" "writable" "read-only replica of a Yes/No"
sql b "START SLAVE SQL_THREAD"
switch wrong-source 2 c b
step_is wrong-source 'd["message"]' "mysql candidate 127.0.0.1:$PORT_b: replicates from 127.0.0.1:$PORT_a (server_id 1), not from the primary 127.0.0.1:$PORT_c (server_id 3)"
step_is wrong-source 'd["evidence"]["error"]' wrong_source
[ "$(sql c 'SELECT @@read_only')" = 0 ] && pass "wrong source: c untouched" || fail "wrong source: c was changed"
roles_are "wrong source: nothing changed" "${A_PRIMARY[@]}"

# --- 4. A planned switch under a concurrent writer: every acknowledged row is on the new
# primary, both tables' checksums agree, and the old primary replicates from the new one.
start_writer w1 writer "$PORT_a" 4000
wait_acks w1 300
before=$(sql a "SELECT @@gtid_binlog_pos")
switch planned 0 a b
wait "$WRITER_PID"
step_is planned 'd["evidence"]["rpo_transactions"]' 0
step_is planned 'd["evidence"]["final_gtid"] == d["evidence"]["candidate_gtid_after"]' True
step_is planned '0 < d["evidence"]["freeze_ms"] < 1000' True
step_is planned 'd["evidence"]["killed"]' "[]"
roles_are "planned: b is the primary" "${B_PRIMARY[@]}"
sql b "INSERT INTO app.t (v) VALUES ('after-switch')"
for _ in $(seq 100); do [ "$(sql a "SELECT COUNT(*) FROM app.t WHERE v='after-switch'")" = 1 ] && break; sleep 0.05; done
n_acked=$(acked w1 | wc -l)
[ "$n_acked" -ge 300 ] && [ "$n_acked" -lt 4000 ] && pass "planned: the writer was cut by the freeze after $n_acked acknowledged inserts" \
  || fail "planned: $n_acked acknowledged inserts (the switch did not land mid-stream)"
grep -q "1290" "$WORK/w1.errors" && pass "planned: later inserts were refused read-only (1290)" || fail "planned: no 1290 seen" "$(tail -2 "$WORK/w1.errors")"
[ "$(comm -23 <(acked w1) <(rows_on b w1) | wc -l)" = 0 ] && pass "planned: every acknowledged row is on the new primary" \
  || fail "planned: acknowledged rows missing on b: $(comm -23 <(acked w1) <(rows_on b w1) | head -3)"
[ "$(sql a 'CHECKSUM TABLE app.t' | cut -f2)" = "$(sql b 'CHECKSUM TABLE app.t' | cut -f2)" ] && pass "planned: CHECKSUM TABLE equal on both" || fail "planned: checksums differ"
planned_run=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["run_id"])' "$WORK/planned.out")
journal="$XDG_STATE_HOME/drctl/runs/$planned_run.jsonl"
for phase in freezing repointing; do
  grep -q "\"phase\":\"$phase\"" "$journal" && pass "planned: phase $phase journaled before it" || fail "planned: phase $phase not in the journal"
done
grep -qF "\"final_position\":\"$(sql b 'SELECT @@gtid_slave_pos')\"" "$journal" && pass "planned: the final position is journaled" || fail "planned: final position not journaled"
[ "$before" != "$(sql a "SELECT @@gtid_binlog_pos")" ] && pass "planned: positions moved ($before -> $(sql a 'SELECT @@gtid_binlog_pos'))" || fail "planned: no position change"
[ -n "$(sql b "SELECT run_id FROM drctl.promotions WHERE run_id='$planned_run'")" ] && pass "planned: the fence row names the run" || fail "planned: no fence row"

# The same switch again (b is the primary now): refused, saying why.
switch again 2 a b
step_is again 'd["evidence"]["error"]' not_a_replica
step_is again '"the primary 127.0.0.1:'"$PORT_a"' replicates from it: it is the primary already" in d["message"]' True

# --- 5. Back to a, with a write transaction left open on b when the freeze comes: b sets
# read_only at once; the transaction's COMMIT fails (1290), its row is on neither server.
mariadb -h127.0.0.1 -P"$PORT_b" -uwriter -p"$password" --skip-reconnect -e "BEGIN; INSERT INTO app.t (v) VALUES ('open-1'); SELECT SLEEP(1.5); COMMIT;" >"$WORK/open1.out" 2>&1 &
open_pid=$!
open_transaction_on b
switch open-txn 0 b a
wait "$open_pid"
step_is open-txn '[s["user"] for s in d["evidence"]["open_at_freeze"]]' "['writer']"
step_is open-txn 'd["evidence"]["killed"]' "[]"
grep -q "1290" "$WORK/open1.out" && pass "open-txn: its COMMIT failed read-only" || fail "open-txn: COMMIT did not fail" "$(cat "$WORK/open1.out")"
[ "$(sql a "SELECT COUNT(*) FROM app.t WHERE v='open-1'")$(sql b "SELECT COUNT(*) FROM app.t WHERE v='open-1'")" = 00 ] \
  && pass "open-txn: its row is on neither server" || fail "open-txn: the row was written"
roles_are "open-txn: a is the primary again" "${A_PRIMARY[@]}"
# With kill_after, the session is killed and named.
mariadb -h127.0.0.1 -P"$PORT_a" -uwriter -p"$password" --skip-reconnect -e "BEGIN; INSERT INTO app.t (v) VALUES ('open-2'); SELECT SLEEP(20); COMMIT;" >"$WORK/open2.out" 2>&1 &
open_pid=$!
open_transaction_on a
sleep 0.3
switch long-txn 2 a b "max_long_transaction: 200ms"
step_is long-txn 'd["evidence"]["error"]' long_transaction
step_is long-txn '"(max_long_transaction 200 ms): session" in d["message"] and "writer@127.0.0.1" in d["message"]' True
roles_are "long-txn: nothing changed" "${A_PRIMARY[@]}"
switch kill-txn 0 a b "kill_after: 200ms"
wait "$open_pid"
step_is kill-txn '[s["user"] + ":" + s["why"] for s in d["evidence"]["killed"]]' "['writer:open write transaction']"
step_is kill-txn '200 <= d["evidence"]["freeze_ms"] < 2000' True
grep -qi "lost connection\|server has gone away\|2013\|2006" "$WORK/open2.out" && pass "kill-txn: the session was killed" || fail "kill-txn: session not killed" "$(cat "$WORK/open2.out")"
roles_are "kill-txn: b is the primary" "${B_PRIMARY[@]}"

# --- 6. An application writing as an ALL PRIVILEGES user (READ_ONLY ADMIN: read_only does not
# stop it): refused without kill_after; killed at the freeze with it, and none of its
# acknowledged writes lost.
start_writer admin app "$PORT_b" 100000 0.005
wait_acks admin 20
switch admin-refused 2 b a
step_is admin-refused 'd["evidence"]["error"]' read_only_bypass
step_is admin-refused '"app@127.0.0.1" in d["message"]' True
roles_are "admin-refused: nothing changed" "${B_PRIMARY[@]}"
switch admin-killed 0 b a "kill_after: 100ms"
wait "$WRITER_PID"
step_is admin-killed '[s["user"] for s in d["evidence"]["killed"]]' "['app']"
roles_are "admin-killed: a is the primary" "${A_PRIMARY[@]}"
[ "$(comm -23 <(acked admin) <(rows_on a admin) | wc -l)" = 0 ] && [ "$(acked admin | wc -l)" -ge 20 ] \
  && pass "admin-killed: all $(acked admin | wc -l) acknowledged rows are on the new primary" \
  || fail "admin-killed: acknowledged rows missing on a: $(comm -23 <(acked admin) <(rows_on a admin) | head -3)"

# --- 7. A commit stuck behind semi-sync blocks SET GLOBAL read_only: the freeze gives up at
# freeze_timeout and the primary is left as it was.
sql a "SET GLOBAL rpl_semi_sync_master_enabled=1; SET GLOBAL rpl_semi_sync_master_timeout=8000"
# (as a user without READ_ONLY ADMIN: root's session would refuse the switch as a bypasser)
mariadb -h127.0.0.1 -P"$PORT_a" -uwriter -p"$password" -e "INSERT INTO app.t (v) VALUES ('semi-sync')" &
semi_pid=$!
for _ in $(seq 100); do [ "$(sql a "SHOW GLOBAL STATUS LIKE 'Rpl_semi_sync_master_wait_sessions'" | cut -f2)" = 1 ] && break; sleep 0.02; done
started=$(date +%s%N)
switch semi-sync 2 a b "freeze_timeout: 500ms"
took_ms=$(( ($(date +%s%N) - started) / 1000000 ))
step_is semi-sync 'd["status"] + " " + d["evidence"]["error"]' "timeout freeze_timeout"
step_is semi-sync 'd["evidence"]["semi_sync"]["rpl_semi_sync_master_enabled"]' ON
[ "$took_ms" -lt 4000 ] && pass "semi-sync: gave up in $took_ms ms, not behind the 8 s wait" || fail "semi-sync: took $took_ms ms"
roles_are "semi-sync: the primary was left as it was" "${A_PRIMARY[@]}"
sql a "SET GLOBAL rpl_semi_sync_master_enabled=0"
wait "$semi_pid"

# --- 8. A later step fails: the rollback restores the roles (no write taken), or switches back
# with the writes the new primary took.
switch fail-later 2 a b "" "  - name: later
    read_only: true
    exec: {argv: [\"false\"]}"
report_is fail-later '[x["name"] + ":" + x["status"] for x in r["rollbacks"]]' "['db:ok']"
report_is fail-later '"is the primary again" in r["rollbacks"][0]["message"]' True
roles_are "fail-later: a is the primary again" "${A_PRIMARY[@]}"
cat > "$WORK/write-on-b.sh" <<SH
mariadb -h127.0.0.1 -P$PORT_b -uwriter -e "INSERT INTO app.t (v) VALUES ('taken-1'),('taken-2')"
SH
switch fail-after-writes 2 a b "" "  - name: write-on-b
    exec: {argv: [sh, $WORK/write-on-b.sh], secret_env: {MYSQL_PWD: DRCTL_TEST_DB_PASSWORD}}
    rollback: {exec: {argv: [\"true\"]}}
  - name: later
    read_only: true
    exec: {argv: [\"false\"]}"
report_is fail-after-writes '[x["name"] + ":" + x["status"] for x in r["rollbacks"]]' "['write-on-b:ok', 'db:ok']"
[ "$(sql a "SELECT COUNT(*) FROM app.t WHERE v LIKE 'taken-%'")" = 2 ] && pass "fail-after-writes: a has the writes b took" || fail "fail-after-writes: writes lost"
roles_are "fail-after-writes: a is the primary again" "${A_PRIMARY[@]}"
no_secret fail-after-writes

# --- 9. drctl killed between the freeze and the promotion (the candidate applies with a 30 s
# delay, so the catch-up waits; a table lock would do too, but SHOW SLAVE STATUS then blocks
# behind the SQL thread): rollback leaves one writable primary and a replica.
sql b "STOP SLAVE; CHANGE MASTER TO MASTER_DELAY=30; START SLAVE"
sql a "INSERT INTO app.t (v) VALUES ('held')"
switch_yaml killed a b "catchup_timeout: 20s"
setsid "$DRCTL" run --yes "$WORK/killed.yaml" >"$WORK/killed.out" 2>&1 &
killed_pid=$!
for _ in $(seq 200); do [ "$(peek a 'SELECT @@read_only')" = 1 ] && break; sleep 0.02; done
sleep 0.1
kill -KILL -- "-$killed_pid" 2>/dev/null; wait "$killed_pid" 2>/dev/null
roles_are "killed: frozen, not promoted" "read-only" "read-only replica of a Yes/Yes"
[ "$(role a)" = read-only ] || cat "$WORK/killed.out"
killed_run=$(basename "$(grep -l '"name":"killed"' "$XDG_STATE_HOME"/drctl/runs/*.jsonl | head -1)" .jsonl)
check killed-rollback 0 rollback --yes --output json "$killed_run"
report_is killed-rollback '"had not promoted" in r["rollbacks"][0]["message"]' True
roles_are "killed-rollback: a writes again, b replicates" "${A_PRIMARY[@]}"
sql b "STOP SLAVE; CHANGE MASTER TO MASTER_DELAY=0; START SLAVE"
for _ in $(seq 200); do [ "$(sql b "SELECT COUNT(*) FROM app.t WHERE v='held'")" = 1 ] && break; sleep 0.05; done

# --- 9b. drctl killed while re-pointing the old primary (at a silent port: its IO thread never
# connects): --resume with the right port finishes the switch from the journal.
start_silent_listener
cat > "$WORK/repoint.yaml" <<YAML
version: 1
name: repoint
vars: {repl_port: "1"}
steps:
  - name: db
    timeout: 30s
    mysql_switchover:
      primary: {port: $PORT_a, user: dr, password_env: DRCTL_TEST_DB_PASSWORD}
      candidate: {port: $PORT_b, user: dr, password_env: DRCTL_TEST_DB_PASSWORD}
      replication: {user: repl, password_env: DRCTL_TEST_DB_PASSWORD, port: "\${vars.repl_port}"}
      catchup_timeout: 20s
YAML
setsid "$DRCTL" run --yes --var "repl_port=$SILENT_PORT" "$WORK/repoint.yaml" >"$WORK/repoint-killed.out" 2>&1 &
killed_pid=$!
for _ in $(seq 300); do [ "$(role a)" = "read-only replica of port $SILENT_PORT No/Yes" ] || [ "$(role a)" = "read-only replica of port $SILENT_PORT Connecting/Yes" ] && break; sleep 0.02; done
kill -KILL -- "-$killed_pid" 2>/dev/null; wait "$killed_pid" 2>/dev/null
roles_are "repoint killed: b promoted, a frozen" "read-only replica of port $SILENT_PORT Connecting/Yes" "writable"
[ "$(role b)" = writable ] || cat "$WORK/repoint-killed.out"
repoint_run=$(basename "$(grep -l '"name":"repoint"' "$XDG_STATE_HOME"/drctl/runs/*.jsonl | head -1)" .jsonl)
check repoint-resumed 0 run --yes --output json --resume "$repoint_run" --var "repl_port=$PORT_b" "$WORK/repoint.yaml"
step_is repoint-resumed 'd["evidence"]["resumed"]' True
step_is repoint-resumed '"finished after an interruption" in d["message"]' True
roles_are "repoint-resumed: b is the primary, a replicates from it" "${B_PRIMARY[@]}"
switch back-to-a 0 b a

# --- 9c. Under a run lock, the promotion row carries the lock's fencing token; a candidate a
# later run (a newer token) promoted refuses an older run's switch.
start_etcd K 1
switch_yaml locked a b
printf 'lock: {etcd: {endpoints: [%s]}, key: /drctl/locks/db, ttl: 5s}\n' "$ETCD_K" >> "$WORK/locked.yaml"
check locked 0 run --yes --output json "$WORK/locked.yaml"
token=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["lock"]["fencing_token"])' "$WORK/locked.out")
[ -n "$token" ] && [ "$(sql b "SELECT fencing_token FROM drctl.promotions ORDER BY promoted_at DESC LIMIT 1")" = "$token" ] \
  && pass "locked: the promotion row carries fencing token $token" || fail "locked: token '$token' not in drctl.promotions"
switch back-again 0 b a
sql b "SET sql_log_bin=0; INSERT INTO drctl.promotions VALUES (NOW(6), 'a-later-run', 999999999, 'x', ''); SET sql_log_bin=1"
switch_yaml stale a b
printf 'lock: {etcd: {endpoints: [%s]}, key: /drctl/locks/db, ttl: 5s}\n' "$ETCD_K" >> "$WORK/stale.yaml"
check stale 5 run --yes --output json "$WORK/stale.yaml"
report_is stale 'r["result"]' lock_lost
step_is stale 'd["evidence"]["error"]' fenced
step_is stale '"run a-later-run promoted it with fencing token 999999999" in d["message"]' True
roles_are "stale: nothing changed" "${A_PRIMARY[@]}"
sql b "SET sql_log_bin=0; DELETE FROM drctl.promotions WHERE run_id='a-later-run'; SET sql_log_bin=1"
# A stale undo: the rollback of a locked switch, after a later run (a newer token) promoted the
# old primary, is refused and changes nothing; without that row it switches back.
check locked-again 0 run --yes --output json "$WORK/locked.yaml"
locked_run=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["run_id"])' "$WORK/locked-again.out")
sql a "SET sql_log_bin=0; INSERT INTO drctl.promotions VALUES (NOW(6), 'a-later-run', 999999999, 'x', ''); SET sql_log_bin=1"
check stale-rollback 5 rollback --yes --output json --playbook "$WORK/locked.yaml" "$locked_run"
report_is stale-rollback '[x["name"] + ":" + x["evidence"].get("error", "") for x in r["rollbacks"]]' "['db:fenced']"
roles_are "stale-rollback: nothing changed" "${B_PRIMARY[@]}"
sql a "SET sql_log_bin=0; DELETE FROM drctl.promotions WHERE run_id='a-later-run'; SET sql_log_bin=1"
check fresh-rollback 0 rollback --yes --output json --playbook "$WORK/locked.yaml" "$locked_run"
roles_are "fresh-rollback: a is the primary again" "${A_PRIMARY[@]}"

# --- 10. The primary is gone: planned fails; emergency without allow_data_loss is refused
# (1); with it, b is promoted and, once a answers again, the transactions it lost are named.
sql b "STOP SLAVE IO_THREAD"
lost_from=$(( $(sql a "SELECT @@gtid_binlog_pos" | cut -d- -f3) + 1 ))
for i in 1 2 3; do sql a "INSERT INTO app.t (v) VALUES ('lost-$i')"; done
lost_to=$(sql a "SELECT @@gtid_binlog_pos" | cut -d- -f3)
a_pid=$(cat "$WORK/a/mysqld.pid")
kill -TERM "$a_pid"; for _ in $(seq 200); do kill -0 "$a_pid" 2>/dev/null || break; sleep 0.05; done
switch planned-gone 2 a b
step_is planned-gone 'd["status"]' unreachable
[ "$(role b)" = "read-only replica of a No/Yes" ] && pass "planned-gone: b unchanged" || fail "planned-gone: b is $(role b)"
switch emergency 0 a b "mode: emergency
      allow_data_loss: true"
step_is emergency 'd["evidence"]["last_gtid"]' "0-1-$((lost_from - 1))"
step_is emergency '"drctl probe mysql-lost" in " ".join(d["warnings"])' True
[ "$(role b)" = writable ] && pass "emergency: b is the primary" || fail "emergency: b is $(role b)"
setsid mariadbd --defaults-file="$WORK/a/my.cnf" </dev/null >/dev/null 2>&1 &
STARTED_PIDS+=($!)
for _ in $(seq 200); do mariadb-admin --defaults-file="$WORK/a/my.cnf" -uroot ping >/dev/null 2>&1 && break; sleep 0.05; done
check lost 1 probe mysql-lost --output json --port "$PORT_b" --user dr --password-env DRCTL_TEST_DB_PASSWORD --primary-port "$PORT_a"
is lost 'c["outputs"]["lost"]' "0-1-$lost_from..0-1-$lost_to"
is lost 'c["evidence"]["lost_transactions"]' 3
[ "$(sql a 'SELECT @@read_only')" = 1 ] && pass "lost: the old primary is kept read-only" || fail "lost: a is writable"
no_secret lost
# Rolling the emergency back, a is the primary again with what it had, and b receives it.
emergency_run=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["run_id"])' "$WORK/emergency.out")
check emergency-rollback 0 rollback --yes --output json "$emergency_run"
report_is emergency-rollback '"received 0-1-'"$lost_from"'..0-1-'"$lost_to"' it lacked" in r["rollbacks"][0]["message"]' True
roles_are "emergency-rollback: a is the primary again" "${A_PRIMARY[@]}"
for _ in $(seq 100); do [ "$(sql b "SELECT COUNT(*) FROM app.t WHERE v LIKE 'lost-%'")" = 3 ] && break; sleep 0.05; done
[ "$(sql b "SELECT COUNT(*) FROM app.t WHERE v LIKE 'lost-%'")" = 3 ] && pass "emergency-rollback: b has the 3 transactions again" || fail "emergency-rollback: b lacks them"

finish
