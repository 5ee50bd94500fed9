#!/usr/bin/env bash
# Resume and rollback from the journal, against real etcd and nginx: a run killed (SIGKILL) in
# the middle of its routing step is resumed from another state dir using only the etcd copy of
# the journal, and completes; a third state dir then rolls the resumed run back to the first
# site. Also: resume refusals (another playbook, a finished run, an unknown run), `show` of a
# killed run from etcd (text and JUnit), and a journal that cannot be written (disk full).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/nginx.sh"
. "$(dirname "$0")/etcd.sh"
require_tool nginx
require_tool etcd
require_tool etcdctl

start_etcd K 1
start_fixture primary futian
start_fixture backup bantian
start_nginx "$PORT_primary"
cp "$NGINX_CONF" "$WORK/conf.before"
ectl K put /cfg/active-site futian > /dev/null
ectl K put /cfg/db-host db-futian > /dev/null

# Four steps: a flag in etcd, a cache snapshot, the nginx switch (its reload waits
# ${vars.pause} seconds after reloading, so a run can be killed in the middle of it), a marker.
bantian_conf=$(nginx_conf "$PORT_backup" | sed 's/^/          /')
cat > "$WORK/switch.yaml" <<YAML
version: 1
name: resumable-switch
vars: {pause: "0"}
lock: {etcd: {endpoints: [$ETCD_K]}, key: /drctl/locks/resume, ttl: 2s}
steps:
  - name: flag
    etcd_put: {etcd: {endpoints: [$ETCD_K]}, key: /cfg/active-site, value: bantian}
  - name: cache
    cache_warmup: {source: {endpoints: [$ETCD_K]}, prefix: /cfg/, dir: $WORK/cache}
  - name: route
    timeout: 60s
    routing_reload:
      file_and_exec:
        path: $NGINX_CONF
        content: |
$bantian_conf
        precheck: [nginx, -t, -q, -e, $WORK/nginx/error.log, -c, "{candidate}"]
        reload: [sh, -c, 'nginx -e $WORK/nginx/error.log -c $NGINX_CONF -s reload && echo \$\$ > $WORK/reload.pid && touch $WORK/reloaded && exec sleep \${vars.pause}']
      verify:
        url: http://127.0.0.1:$NGINX_PORT/site
        expect: {status: 200, headers: {X-Site: bantian}}
        consecutive: 3
        interval: 20ms
        timeout: 5s
  - name: announce
    exec: {argv: [sh, -c, 'echo announced >> $WORK/announced']}
    rollback:
      exec: {argv: [sh, -c, 'echo withdrawn >> $WORK/announced']}
YAML

# 1. The first run is killed with SIGKILL while the route step waits after its reload.
setsid "$DRCTL" --state-dir "$WORK/state-1" run --yes --var pause=30 "$WORK/switch.yaml" > "$WORK/killed.out" 2>&1 &
killed=$!
for _ in $(seq 200); do [ -e "$WORK/reloaded" ] && break; sleep 0.05; done
[ -e "$WORK/reloaded" ] && pass "killed: the route step reloaded nginx" || fail "killed: the route step never reloaded" "$(cat "$WORK/killed.out")"
kill -KILL -- "-$killed" 2>/dev/null; wait "$killed" 2>/dev/null
kill -KILL "$(cat "$WORK/reload.pid")" 2>/dev/null  # the reload's sleep, in a process group of its own
killed_id=$(basename "$(ls "$WORK"/state-1/runs/*.jsonl)" .jsonl)
wait_served bantian && pass "killed: nginx already serves bantian (5 answers in a row)" || fail "killed: serves '$(served_site)'"
[ "$(ectl K get /cfg/active-site --print-value-only)" = bantian ] && pass "killed: the flag was written" || fail "killed: flag not written"

# The etcd copy has it; `show` reads it from there (the state dir is not used), also as JUnit.
check show-etcd 0 --state-dir "$WORK/empty" show "$killed_id" --playbook "$WORK/switch.yaml"
contains show-etcd-route-unfinished "$WORK/show-etcd.out" "the run stopped in step 'route'"
check show-etcd-junit 0 --state-dir "$WORK/empty" show "$killed_id" --playbook "$WORK/switch.yaml" --junit "$WORK/killed.xml"
contains show-etcd-junit-route-failed "$WORK/killed.xml" "<failure type=\"unknown\" message=\"started at "
contains show-etcd-junit-flag-ok "$WORK/killed.xml" '<testcase name="flag"'
check runs-etcd 0 runs --playbook "$WORK/switch.yaml"
contains runs-etcd-lists-it "$WORK/runs-etcd.out" "$killed_id"
[ "$(python3 -c 'import sys,json; print(json.loads(sys.stdin.readline())["playbook"]["hash"][:8])' < <(ectl K get "/drctl/locks/resume/journal/$killed_id/000000" --print-value-only))" = "xxh3-128" ] \
  && pass "etcd copy: line 0 is run_started with the playbook hash" || fail "etcd copy: line 0 unreadable"

# Refusals: a run that is not there, another playbook, --dry-run with --resume.
check resume-unknown 64 --state-dir "$WORK/state-2" run --yes --resume 20990101T000000Z-000000 "$WORK/switch.yaml"
contains resume-unknown-says-where "$WORK/resume-unknown.err" "no run 20990101T000000Z-000000 in the etcd journal under /drctl/locks/resume/journal/"
sed 's/name: announce/name: announce-it/' "$WORK/switch.yaml" > "$WORK/changed.yaml"
check resume-changed 64 --state-dir "$WORK/state-2" run --yes --resume "$killed_id" "$WORK/changed.yaml"
contains resume-changed-says-why "$WORK/resume-changed.err" "was made from another version of the playbook"
check resume-dry 64 --state-dir "$WORK/state-2" run --dry-run --resume "$killed_id" "$WORK/switch.yaml"
check force-alone 64 --state-dir "$WORK/state-2" run --yes --force "$WORK/switch.yaml"
contains force-alone-says "$WORK/force-alone.err" "--force only goes with --resume"
check rollback-unknown 64 --state-dir "$WORK/state-2" rollback --yes 20990101T000000Z-000000
contains rollback-unknown-hints "$WORK/rollback-unknown.err" "--playbook FILE also reads the etcd copy"
printf 'version: 1\nname: no-lock\nsteps:\n  - name: a\n    exec: {argv: ["true"]}\n' > "$WORK/no-lock.yaml"
check runs-no-lock 64 runs --playbook "$WORK/no-lock.yaml"
contains runs-no-lock-says "$WORK/runs-no-lock.err" "has no lock:, so its runs have no etcd journal"
check rollback-no-lock 64 --state-dir "$WORK/state-2" rollback --yes 20990101T000000Z-000000 --playbook "$WORK/no-lock.yaml"
contains rollback-no-lock-says "$WORK/rollback-no-lock.err" "the playbook has no lock:, so no etcd copy"

# 2. Resumed from another state dir, with only the etcd copy of the journal (waiting for the
# killed run's lock to expire first).
wait_key_gone K /drctl/locks/resume 15 && pass "killed: its lock frees itself after the ttl" \
  || fail "killed: the lock is still held 15 s after the kill"
check resumed 0 --state-dir "$WORK/state-2" run --yes --output json --resume "$killed_id" "$WORK/switch.yaml"
resumed_id=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["run_id"])' "$WORK/resumed.out")
report_is resumed 'r["resumed_from"]' "$killed_id"
report_is resumed 's["flag"]["evidence"]["done_in_run"] == s["cache"]["evidence"]["done_in_run"] == "'"$killed_id"'"' True
report_is resumed 's["route"]["status"] + " " + str("done_in_run" in s["route"]["evidence"])' "ok False"
report_is resumed 's["announce"]["status"]' ok
report_is resumed 'r["sla"]["verdict"]' not_evaluated
[ "$(served_site)" = bantian ] && pass "resumed: nginx serves bantian" || fail "resumed: serves '$(served_site)'"
[ "$(grep -c announced "$WORK/announced")" = 1 ] && pass "resumed: announce ran once" || fail "resumed: announce ran $(grep -c announced "$WORK/announced") times"
check resume-done 64 --state-dir "$WORK/state-2" run --yes --resume "$resumed_id" "$WORK/switch.yaml"
contains resume-done-says-why "$WORK/resume-done.err" "completed: there is nothing to resume"

# 3. Rolled back from a third state dir: the route returns to futian (the config from before
# the killed run, journaled before it was overwritten), the flag to futian, the cache to none.
check rollback 0 --state-dir "$WORK/state-3" rollback --yes --output json "$resumed_id" --playbook "$WORK/switch.yaml"
report_is rollback 'r["mode"] + " " + r["rolls_back"]' "rollback $resumed_id"
report_is rollback '[x["name"] + ":" + x["status"] for x in r["rollbacks"]]' "['announce:ok', 'route:ok', 'cache:ok', 'flag:ok']"
[ "$(served_site)" = futian ] && pass "rollback: nginx serves futian again" || fail "rollback: serves '$(served_site)'"
cmp -s "$NGINX_CONF" "$WORK/conf.before" && pass "rollback: the nginx config is the one from before the killed run" || fail "rollback: config differs"
[ "$(ectl K get /cfg/active-site --print-value-only)" = futian ] && pass "rollback: the flag is futian again" || fail "rollback: flag is $(ectl K get /cfg/active-site --print-value-only)"
[ ! -e "$WORK/cache/current" ] && pass "rollback: the cache has no current again" || fail "rollback: cache current -> $(readlink "$WORK/cache/current")"
[ "$(tail -1 "$WORK/announced")" = withdrawn ] && pass "rollback: the declared rollback of announce ran" || fail "rollback: announce not withdrawn"
[ -z "$(ectl K get /drctl/locks/resume --print-value-only)" ] && pass "rollback: the lock is released" || fail "rollback: the lock is still held"
check rollback-again 0 --state-dir "$WORK/state-3" rollback --yes --output json "$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["run_id"])' "$WORK/rollback.out")"
report_is rollback-again '"has nothing left to roll back" in r["summary"]' True

# 4. The journal cannot be written (file size limit: write fails with EFBIG, as on a full
# disk): the step after the failed write is not started; exit 6.
cat > "$WORK/full.yaml" <<YAML
version: 1
name: journal-full
steps:
  - name: small
    read_only: true
    exec: {argv: [true]}
  - name: big
    read_only: true
    exec: {argv: [python3, -c, 'print("x" * 60000)']}
  - name: never
    read_only: true
    exec: {argv: [touch, $WORK/never-ran]}
YAML
# (The limit is on drctl alone; its report goes through a pipe, which has no size limit.)
( ulimit -f 16; exec "$DRCTL" --state-dir "$WORK/state-full" run --yes --output json "$WORK/full.yaml" 2>"$WORK/full.err" ) | cat > "$WORK/full.out"
RC=${PIPESTATUS[0]}; LAST=full
expect_rc "journal full: exit 6" 6
report_is full 'r["result"]' journal_failed
contains full-says-why "$WORK/full.out" "File too large; step 'never' and those after it were not started"
[ ! -e "$WORK/never-ran" ] && pass "journal full: the next step did not start" || fail "journal full: the next step ran"

finish
