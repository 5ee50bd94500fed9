#!/usr/bin/env bash
# The live diff (`run --dry-run`, `plan --live`) against real etcd, nginx and MariaDB (a primary
# replicating to a read-only replica): the exact diff of an etcd value and of nginx's config,
# the route's target, both databases' roles; a later step read as after an earlier one; a
# secret masked; and every system byte for byte as it was (etcd revision, file hashes, no
# candidate left, read_only, gtid_binlog_pos, replica status). An expect_value that does not
# hold, a broken nginx candidate and a run lock held by another drctl each make the dry run
# `would_refuse` (exit 1), with every step still previewed and nothing rolled back.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/etcd.sh"
. "$(dirname "$0")/nginx.sh"
. "$(dirname "$0")/mariadb.sh"
require_tool etcd
require_tool etcdctl
require_tool nginx
require_tool curl
require_tool mariadbd
require_tool mariadb-install-db

password="pw-$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')"
export DRCTL_TEST_DB_PASSWORD="$password"
start_etcd E 1
start_fixture siteA futian
start_fixture siteB bantian
start_nginx "$PORT_siteA"
start_mariadb a 1
start_mariadb b 2
start_replication a b "$password"
sql a "CREATE USER 'dr'@'127.0.0.1' IDENTIFIED BY '$password';
  GRANT READ_ONLY ADMIN, PROCESS, RELOAD, CONNECTION ADMIN, REPLICATION SLAVE ADMIN, SLAVE MONITOR, BINLOG MONITOR, BINLOG ADMIN, SELECT ON *.* TO 'dr'@'127.0.0.1';
  GRANT CREATE, INSERT ON drctl.* TO 'dr'@'127.0.0.1';"
sql b "SET GLOBAL read_only=1"
for _ in $(seq 100); do [ "$(sql b "SELECT COUNT(*) FROM mysql.user WHERE user='dr'")" = 1 ] && break; sleep 0.05; done
ectl E put /routes/orders site-a >/dev/null

# The playbook: three etcd writes (the second expects what the first writes), nginx flipped to
# site B, the database's primary role moved a -> b, and a script.
content=$(nginx_conf "$PORT_siteB" | sed 's/^/          /')
playbook() {  # playbook FILE [EXPECTED VALUE OF /routes/orders] [EXTRA NGINX CONF TEXT]
  cat > "$1" <<YAML
version: 1
name: live
lock: {etcd: {endpoints: [$ETCD_E]}, key: /drctl/locks/live, ttl: 5s}
steps:
  - name: put-route
    etcd_put: {etcd: {endpoints: [$ETCD_E]}, key: /routes/orders, value: site-b, expect_value: ${2:-site-a}}
  - name: put-again
    etcd_put: {etcd: {endpoints: [$ETCD_E]}, key: /routes/orders, value: site-b2, expect_value: site-b}
  - name: put-secret
    etcd_put: {etcd: {endpoints: [$ETCD_E]}, key: /config/db, value: "password=\${env.DRCTL_TEST_DB_PASSWORD}"}
  - name: route
    routing_reload:
      file_and_exec:
        path: $NGINX_CONF
        content: |
$content
          ${3:-}
        precheck: [nginx, -t, -q, -e, $WORK/nginx/error.log, -c, "{candidate}"]
        reload: [nginx, -e, $WORK/nginx/error.log, -c, $NGINX_CONF, -s, reload]
      verify: {url: "http://127.0.0.1:$NGINX_PORT/site", expect: {status: 200, headers: {X-Site: bantian}}}
  - name: db
    timeout: 20s
    mysql_switchover:
      primary: {port: $PORT_a, user: dr, password_env: DRCTL_TEST_DB_PASSWORD}
      candidate: {port: $PORT_b, user: dr, password_env: DRCTL_TEST_DB_PASSWORD}
      replication: {user: repl, password_env: DRCTL_TEST_DB_PASSWORD}
  - name: notify
    exec: {argv: [/bin/true, notify-oncall]}
YAML
}
playbook "$WORK/live.yaml"

# Everything a preview must leave as it was.
peek() { MYSQL_PWD=$password mariadb -h127.0.0.1 -P"$1" -udr -N -B -e "$2"; }
db_state() {
  local port
  for port in "$PORT_a" "$PORT_b"; do
    peek "$port" "SELECT @@read_only, @@gtid_binlog_pos, @@gtid_slave_pos"
    MYSQL_PWD=$password mariadb -h127.0.0.1 -P"$port" -udr -e 'SHOW SLAVE STATUS\G' |
      grep -E ' (Master_Host|Master_Port|Slave_IO_Running|Slave_SQL_Running|Using_Gtid):'
  done
}
state() {
  echo "etcd revision $(etcd_revision E)"
  ectl E get / --prefix
  sha256sum "$NGINX_CONF"
  ls -a "$WORK/nginx"
  echo "served $(served_site)"
  db_state
}
state > "$WORK/state.before"
unchanged() {  # unchanged NAME: every system as it was before the first dry run
  state > "$WORK/state.$1"
  if diff -u "$WORK/state.before" "$WORK/state.$1" > "$WORK/state.$1.diff"; then
    pass "$1: etcd revision, keys, nginx config hash, its directory, the route and both databases unchanged"
  else
    fail "$1: something changed" "$(cat "$WORK/state.$1.diff")"
  fi
}
grep -q "etcd revision [0-9]" "$WORK/state.before" && grep -q "Slave_IO_Running: Yes" "$WORK/state.before" \
  && pass "the state compared holds the etcd revision and b's replication" || fail "state: $(cat "$WORK/state.before")"

# A dry run: every diff, exactly.
check dry 0 run --dry-run "$WORK/live.yaml"
out="$WORK/dry.out"
contains dry-etcd-what "$out" "    etcd /routes/orders:"
contains dry-etcd-header "$out" "      --- etcd /routes/orders (now)"
contains dry-etcd-after "$out" "      +++ etcd /routes/orders (after this step)"
contains dry-etcd-minus "$out" "      -site-a"
contains dry-etcd-plus "$out" "      +site-b"
contains dry-overlay "$out" "      --- etcd /routes/orders (as after step 'put-route')"
contains dry-overlay-plus "$out" "      +site-b2"
contains dry-secret-masked "$out" "      +password=***"
contains dry-nginx-header "$out" "      --- file $NGINX_CONF (now)"
contains dry-nginx-minus "$out" "      -    location / { proxy_pass http://127.0.0.1:$PORT_siteA; proxy_connect_timeout 1s; }"
contains dry-nginx-plus "$out" "      +    location / { proxy_pass http://127.0.0.1:$PORT_siteB; proxy_connect_timeout 1s; }"
contains dry-route "$out" "    route http://127.0.0.1:$NGINX_PORT/site: status 200, X-Site: futian -> status 200, X-Site: bantian"
contains dry-db-primary "$out" "    mysql 127.0.0.1:$PORT_a (primary): writable, not a replica, gtid 0-1-"
contains dry-db-primary-after "$out" "-> read-only, replica of 127.0.0.1:$PORT_b"
contains dry-db-candidate "$out" "    mysql 127.0.0.1:$PORT_b (candidate): read-only, replica of 127.0.0.1:$PORT_a (IO running, SQL running)"
contains dry-db-candidate-after "$out" "-> writable, not a replica (the primary)"
contains dry-exec-unreadable "$out" "    cannot read: exec cannot read what it would change: it would run"
contains dry-lock-free "$out" "dry run: run lock /drctl/locks/live is free"
contains dry-result "$out" "result: success (exit 0): dry run: checks passed, 6 steps previewed, nothing changed"
# The nginx diff, line for line what `diff -u` says between the file and the candidate.
awk -v start="    file $NGINX_CONF:" '$0 == start {on = 1; next} on && /^      / {print substr($0, 7); next} on {exit}' "$out" | tail -n +3 > "$WORK/nginx.hunk"
nginx_conf "$PORT_siteB" > "$WORK/nginx.candidate"
diff -u "$NGINX_CONF" "$WORK/nginx.candidate" | tail -n +3 > "$WORK/nginx.want"
grep -q '^@@ -12,6 +12,6 @@$' "$WORK/nginx.want" && [ "$(grep -c '^[-+]' "$WORK/nginx.want")" = 2 ] \
  && pass "dry: diff -u sees one hunk, one line changed" || fail "dry: diff -u says" "$(cat "$WORK/nginx.want")"
diff -u "$WORK/nginx.want" "$WORK/nginx.hunk" > "$WORK/nginx.hunk.diff" && pass "dry: the nginx diff is diff -u's, line for line" \
  || fail "dry: the nginx hunk differs from diff -u's" "$(cat "$WORK/nginx.hunk.diff")"
lacks dry-no-password "$out" "$password"
unchanged dry

# The same as JSON: the diff in evidence.preview.
check dry-json 0 run --dry-run --output json "$WORK/live.yaml"
report_is dry-json 'r["result"]' success
report_is dry-json 's["put-route"]["evidence"]["preview"]["changes"][0]["diff"]' \
  "$(printf -- '--- etcd /routes/orders (now)\n+++ etcd /routes/orders (after this step)\n@@ -1 +1 @@\n-site-a\n\\ No newline at end of file\n+site-b\n\\ No newline at end of file\n')"
report_is dry-json 's["put-again"]["evidence"]["preview"]["changes"][0]["as_after"]' put-route
report_is dry-json 's["put-secret"]["evidence"]["preview"]["changes"][0]["after"]' 'password=***'
report_is dry-json '[c["form"] for c in s["db"]["evidence"]["preview"]["changes"]]' "['state', 'state']"
report_is dry-json 's["db"]["evidence"]["preview"]["refusals"]' '[]'
report_is dry-json 's["route"]["evidence"]["preview"]["changes"][1]["before"]' 'status 200, X-Site: futian'
report_is dry-json 'len(s["notify"]["evidence"]["preview"]["unreadable"])' 1
lacks dry-json-no-password "$WORK/dry-json.out" "$password"
unchanged dry-json

# An expect_value that does not hold today: would refuse, exit 1, the later steps still shown.
playbook "$WORK/stale.yaml" site-x
check stale 1 run --dry-run --output json "$WORK/stale.yaml"
report_is stale 'r["result"]' would_refuse
report_is stale 's["put-route"]["status"]' failed
report_is stale 's["put-route"]["message"]' "would refuse: expect_value does not hold: now 'site-a' (expected 'site-x')"
report_is stale '"step '"'"'put-route'"'"' would refuse: expect_value does not hold: now '"'"'site-a'"'"'" in r["summary"]' True
report_is stale '"nothing was changed" in r["summary"]' True
report_is stale 'len(r["steps"]), len(r["rollbacks"])' '(6, 0)'
# put-again reads the key as it is (put-route would refuse, so it writes nothing): site-a.
report_is stale 's["put-again"]["message"]' "would refuse: expect_value does not hold: now 'site-a' (expected 'site-b')"
report_is stale 's["db"]["status"]' skipped
check stale-text 1 run --dry-run "$WORK/stale.yaml"
contains stale-text-line "$WORK/stale-text.out" "would refuse: expect_value does not hold: now 'site-a' (expected 'site-x')"
contains stale-text-result "$WORK/stale-text.out" "result: would_refuse (exit 1): dry run: not ready"
unchanged stale

# A broken nginx candidate: its precheck refuses, on a copy; the real file is untouched.
playbook "$WORK/broken.yaml" site-a "this is not nginx syntax;"
check broken 1 run --dry-run --output json "$WORK/broken.yaml"
report_is broken 'r["result"]' would_refuse
report_is broken 's["route"]["message"].startswith("would refuse: precheck fails on the candidate: `nginx -t -q -e")' True
report_is broken '"unknown directive \"this\"" in s["route"]["message"]' True
report_is broken 's["put-route"]["status"], s["db"]["status"]' "('skipped', 'skipped')"
unchanged broken

# The run lock held by another drctl: the dry run reads it (never takes it) and names the holder.
cat > "$WORK/holder.yaml" <<YAML
version: 1
name: holder
lock: {etcd: {endpoints: [$ETCD_E]}, key: /drctl/locks/live, ttl: 5s}
steps:
  - name: hold
    read_only: true
    timeout: 90s
    exec: {shell: true, command: 'touch $WORK/holding; sleep 60'}
YAML
"$DRCTL" run --yes "$WORK/holder.yaml" > "$WORK/holder.out" 2>&1 < /dev/null &
holder=$!
for _ in $(seq 400); do [ -e "$WORK/holding" ] && break; sleep 0.05; done
[ -e "$WORK/holding" ] && pass "holder: another drctl holds the lock" || fail "holder: never started" "$(cat "$WORK/holder.out")"
lock_revision=$(etcd_revision E)
check locked 1 run --dry-run --output json "$WORK/live.yaml"
report_is locked 'r["result"]' would_refuse
report_is locked '"run lock /drctl/locks/live is held by run " in r["summary"]' True
report_is locked '"(pid '"$holder"')" in r["summary"]' True
report_is locked 'len(r["steps"]), s["put-route"]["status"]' "(6, 'skipped')"
check plan-locked 1 plan --live "$WORK/live.yaml"
contains plan-locked-says "$WORK/plan-locked.out" "live: the real run would refuse at the run lock (exit 1, nothing was changed)"
contains plan-locked-holder "$WORK/plan-locked.out" "lock now: would refuse: run lock /drctl/locks/live is held by run"
[ "$(etcd_revision E)" = "$lock_revision" ] && pass "locked: the dry run and the plan took no lock (etcd revision unchanged)" \
  || fail "locked: etcd revision moved from $lock_revision to $(etcd_revision E)"
kill -TERM "$holder"
for _ in $(seq 200); do kill -0 "$holder" 2>/dev/null || break; sleep 0.05; done
kill -0 "$holder" 2>/dev/null && fail "holder: still running after SIGTERM" || pass "holder: stopped"
wait_key_gone E /drctl/locks/live 10 || fail "holder: its lock was not released"
state > "$WORK/state.before"  # the holder journaled its run under the lock's key: a new baseline

# plan --live: the same previews, no check run, nothing changed; JSON carries them.
check plan 0 plan --live "$WORK/live.yaml"
contains plan-etcd-minus "$WORK/plan.out" "-site-a"
contains plan-overlay "$WORK/plan.out" "--- etcd /routes/orders (as after step 'put-route')"
contains plan-nginx-plus "$WORK/plan.out" "+    location / { proxy_pass http://127.0.0.1:$PORT_siteB; proxy_connect_timeout 1s; }"
contains plan-db "$WORK/plan.out" "mysql 127.0.0.1:$PORT_b (candidate): read-only, replica of 127.0.0.1:$PORT_a (IO running, SQL running)"
contains plan-secret "$WORK/plan.out" "+password=***"
contains plan-lock-free "$WORK/plan.out" "lock now: free"
lacks plan-no-password "$WORK/plan.out" "$password"
check plan-json 0 plan --live --output json "$WORK/live.yaml"
got=$(python3 -c 'import json,sys; e={x["name"]: x for x in json.load(open(sys.argv[1]))["entries"]}; print(e["put-route"]["preview"]["changes"][0]["diff"].splitlines()[3:5], e["db"]["preview"]["refusals"])' "$WORK/plan-json.out")
[ "$got" = "['-site-a', '\\\\ No newline at end of file'] []" ] && pass "plan-json: the diff is in entries[].preview" || fail "plan-json: got $got"
check plan-stale 1 plan --live "$WORK/stale.yaml"
contains plan-stale-refusal "$WORK/plan-stale.out" "would refuse: expect_value does not hold: now 'site-a' (expected 'site-x')"
check plan-plain 0 plan "$WORK/live.yaml"
lacks plan-plain-no-preview "$WORK/plan-plain.out" "--- etcd"
unchanged plan

# Files only. A file that is not world-readable (it may hold credentials, here a password that
# came from ${env.X}) is shown as sizes, lines and sha256s, never its content, in text and JSON.
mkdir -m 0700 "$WORK/conf"
file_password="fpw-$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')"
new_password="npw-$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')"
export DRCTL_TEST_FILE_PASSWORD="$new_password"
printf 'user=app\npassword=%s\n' "$file_password" > "$WORK/conf/app.conf"
chmod 0600 "$WORK/conf/app.conf"
cat > "$WORK/private.yaml" <<YAML
version: 1
name: private
steps:
  - name: app
    routing_reload:
      file_and_exec:
        path: $WORK/conf/app.conf
        mode: "0600"
        content: "user=app\\npassword=\${env.DRCTL_TEST_FILE_PASSWORD}\\n"
        reload: [/bin/true]
      verify: {url: "http://127.0.0.1:$PORT_siteA/site", expect: {status: 200}}
YAML
old_sha=$(sha256sum < "$WORK/conf/app.conf" | cut -d' ' -f1)
new_sha=$(printf 'user=app\npassword=%s\n' "$new_password" | sha256sum | cut -d' ' -f1)
old_size=$(stat -c %s "$WORK/conf/app.conf")
new_size=$(printf 'user=app\npassword=%s\n' "$new_password" | wc -c)
check private 0 plan --live "$WORK/private.yaml"
contains private-why "$WORK/private.out" "file $WORK/conf/app.conf: not shown: $WORK/conf/app.conf is not world-readable (mode 0600): it may hold credentials"
contains private-hashes "$WORK/private.out" "$old_size bytes, 2 lines, sha256 $old_sha -> $new_size bytes, 2 lines, sha256 $new_sha"
lacks private-no-old-password "$WORK/private.out" "$file_password"
lacks private-no-new-password "$WORK/private.out" "$new_password"
lacks private-no-diff "$WORK/private.out" "+++ file"
check private-json 0 plan --live --output json "$WORK/private.yaml"
got=$(python3 -c 'import json,sys; c=json.load(open(sys.argv[1]))["entries"][0]["preview"]["changes"][0]; print(c["before"], c["after"], c["diff"] == "", c["before_summary"]["sha256"], c["after_summary"]["sha256"], c["after_summary"]["lines"])' "$WORK/private-json.out")
[ "$got" = "None None True $old_sha $new_sha 2" ] && pass "private-json: no text, no diff, both sha256s" || fail "private-json: got $got"
lacks private-json-no-old-password "$WORK/private-json.out" "$file_password"
lacks private-json-no-new-password "$WORK/private-json.out" "$new_password"
check private-dry 0 run --dry-run --output json "$WORK/private.yaml"
lacks private-dry-no-old-password "$WORK/private-dry.out" "$file_password"
lacks private-dry-no-new-password "$WORK/private-dry.out" "$new_password"
report_is private-dry 's["app"]["evidence"]["preview"]["changes"][0]["after_summary"]["sha256"]' "$new_sha"
[ "$(sha256sum < "$WORK/conf/app.conf" | cut -d' ' -f1)" = "$old_sha" ] && pass "private: the file is as it was" || fail "private: the file changed"

# A directory others can write: the real write refuses it, so the preview says it would refuse
# (exit 1) and writes no candidate there.
mkdir "$WORK/shared" && chmod 0777 "$WORK/shared"
echo old > "$WORK/shared/app.conf"
cat > "$WORK/shared.yaml" <<YAML
version: 1
name: shared
steps:
  - name: app
    routing_reload:
      file_and_exec: {path: $WORK/shared/app.conf, content: "new\\n", precheck: [/bin/true, "{candidate}"], reload: [/bin/true]}
      verify: {url: "http://127.0.0.1:$PORT_siteA/site", expect: {status: 200}}
YAML
check shared 1 plan --live "$WORK/shared.yaml"
contains shared-refuses "$WORK/shared.out" "would refuse: "
contains shared-says-why "$WORK/shared.out" "refusing to write $WORK/shared/app.conf"
contains shared-names-step "$WORK/shared.out" "live: the real run would refuse at step 'app'"
[ "$(ls -A "$WORK/shared")" = app.conf ] && pass "shared: no candidate written there" || fail "shared: $(ls -A "$WORK/shared")"

# An interrupt during a slow precheck: plan --live exits 130 at once, the precheck's process is
# stopped and its candidate (0600, a random name, beside the file) removed.
echo old > "$WORK/conf/slow.conf"
cat > "$WORK/slow.yaml" <<YAML
version: 1
name: slow
steps:
  - name: conf
    timeout: 60s
    routing_reload:
      file_and_exec:
        path: $WORK/conf/slow.conf
        content: "new\\n"
        precheck: [sh, -c, 'echo \$\$ > $WORK/precheck.pid; ls -l "\$1" > $WORK/candidate.ls; touch $WORK/MARK; exec sleep 20', sh, "{candidate}"]
        reload: [/bin/true]
      verify: {url: "http://127.0.0.1:$PORT_siteA/site", expect: {status: 200}}
YAML
interrupt() {  # interrupt NAME ARGS...: drctl ARGS in the background, SIGTERM once the precheck runs
  local name=$1; shift
  rm -f "$WORK/MARK" "$WORK/precheck.pid"
  "$DRCTL" "$@" > "$WORK/$name.out" 2> "$WORK/$name.err" < /dev/null &
  local pid=$!
  STARTED_PIDS+=("$pid")
  for _ in $(seq 400); do [ -e "$WORK/MARK" ] && break; sleep 0.05; done
  [ -e "$WORK/MARK" ] && pass "$name: the precheck runs" || fail "$name: the precheck never ran" "$(cat "$WORK/$name.err")"
  local start=$SECONDS
  kill -TERM "$pid"
  for _ in $(seq 200); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
  kill -0 "$pid" 2>/dev/null && { fail "$name: still running 10s after SIGTERM"; kill -KILL "$pid"; }
  wait "$pid"
  RC=$?
  LAST=$name
  ELAPSED=$((SECONDS - start))
}
interrupt plan-term plan --live "$WORK/slow.yaml"
expect_rc plan-term 130
[ "$ELAPSED" -le 5 ] && pass "plan-term: exits within 5s of SIGTERM (${ELAPSED}s)" || fail "plan-term: took ${ELAPSED}s"
contains plan-term-says "$WORK/plan-term.err" "plan --live interrupted: no plan shown, nothing was changed"
grep -Eq '^-rw------- .*/slow\.conf\.drctl-[A-Za-z0-9]{6}\.tmp$' "$WORK/candidate.ls" \
  && pass "plan-term: the candidate was 0600 under a random name" || fail "plan-term: candidate" "$(cat "$WORK/candidate.ls")"
[ "$(ls -A "$WORK/conf" | grep -c drctl)" = 0 ] && pass "plan-term: no candidate left" || fail "plan-term: left $(ls -A "$WORK/conf")"
kill -0 "$(cat "$WORK/precheck.pid")" 2>/dev/null && fail "plan-term: the precheck is still running" || pass "plan-term: no precheck left running"
[ "$(cat "$WORK/conf/slow.conf")" = old ] && pass "plan-term: the file is as it was" || fail "plan-term: the file changed"

# The same in a dry run: interrupted, and it says nothing was changed (no rollback, no resume).
interrupt dry-term run --dry-run --grace 1s "$WORK/slow.yaml"
expect_rc dry-term 130
contains dry-term-summary "$WORK/dry-term.out" "interrupted: a dry run, nothing was changed"
lacks dry-term-no-rollback "$WORK/dry-term.out" "drctl rollback"
[ "$(ls -A "$WORK/conf" | grep -c drctl)" = 0 ] && pass "dry-term: no candidate left" || fail "dry-term: left $(ls -A "$WORK/conf")"
kill -0 "$(cat "$WORK/precheck.pid")" 2>/dev/null && fail "dry-term: the precheck is still running" || pass "dry-term: no precheck left running"

finish
