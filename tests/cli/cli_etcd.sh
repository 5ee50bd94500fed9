#!/usr/bin/env bash
# The etcd kinds against real etcd (etcd-server from Debian): health and quorum loss, the
# watch handoff in both topologies under load, a leader killed mid-handoff, compaction,
# a mirror, auth, etcd_put with its compare and undo, and the watch-latency probe.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/etcd.sh"
require_tool etcd
require_tool etcdctl
require_tool curl
WRITER="$SOURCE_DIR/tests/support/etcd_writer.py"

# A playbook with one step (or check) from its YAML body: playbook NAME PHASE BODY
playbook() {
  printf 'version: 1\nname: %s\n%s:\n  - name: %s\n    timeout: 60s\n%s\n' "$1" "$2" "$1" "$3" > "$WORK/$1.yaml"
}
run_step() {  # run_step NAME EXIT BODY
  playbook "$1" steps "$3"
  check "$1" "$2" run --yes --output json "$WORK/$1.yaml"
}
run_check() {  # run_check NAME EXIT BODY
  playbook "$1" checks "$3"
  check "$1" "$2" check --output json "$WORK/$1.yaml"
}
# Every write the writer had acknowledged up to the step's proof revision appears exactly once
# in the step's events file, in order; and at least MIN such writes happened.
writes_seen_once() {  # writes_seen_once NAME WRITER-LOG MIN
  local verdict
  verdict=$(python3 - "$2" "$WORK/$1.events" "$WORK/$1.out" "$3" <<'PY'
import collections, json, sys
proof = json.load(open(sys.argv[3]))["steps"][0]["evidence"]["verified_at_revision"]
written = [w for w in (line.split() for line in open(sys.argv[1]) if line.strip()) if int(w[0]) <= proof]
if len(written) < int(sys.argv[4]):
    print(f"only {len(written)} writes before the proof at revision {proof}")
    sys.exit()
events = [json.loads(line) for line in open(sys.argv[2])]
seen = collections.Counter((e["revision"], e["key"]) for e in events)
missing = [w for w in written if seen[(int(w[0]), w[1])] != 1]
dupes = [k for k, n in seen.items() if n > 1]
order = all(a["revision"] <= b["revision"] for a, b in zip(events, events[1:]))
print(f"writes={len(written)} missing={len(missing)} dupes={len(dupes)} ordered={order}")
PY
)
  case "$verdict" in
    *"missing=0 dupes=0 ordered=True") pass "$1: every acknowledged write seen once, in order ($verdict)" ;;
    *) fail "$1: $verdict" ;;
  esac
}

# ---------------------------------------------------------------- a 3-member cluster
start_etcd A 3
conn="{endpoints: $ETCD_A_LIST}"

run_check health 0 "    etcd_health: {etcd: $conn}"
is health 'c["evidence"]["healthy"]' 3
is health 'all(m["raft_lag"] <= 50 and m["alarms"] == [] for m in c["evidence"]["members"])' True
is health 'c["evidence"]["raft_lag_max"] == max(m["raft_lag"] for m in c["evidence"]["members"])' True
cluster_id=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["checks"][0]["outputs"]["cluster_id"])' "$WORK/health.out")
run_check health-cluster-id 0 "    etcd_health: {etcd: $conn, cluster_id: $cluster_id}"
run_check health-wrong-cluster 1 "    etcd_health: {etcd: $conn, cluster_id: abc123}"
is health-wrong-cluster 'c["evidence"]["error"]' wrong_cluster
contains health-wrong-cluster-message "$WORK/health-wrong-cluster.out" "cluster_id $cluster_id (expected abc123)"

closed=$(closed_port)
run_check health-refused 1 "    etcd_health: {etcd: {endpoints: [127.0.0.1:$closed], dial_timeout: 300ms}}"
is health-refused 'c["status"]' unreachable
contains health-refused-names-endpoint "$WORK/health-refused.out" "127.0.0.1:$closed: unreachable"

# Same-cluster handoff while a separate writer keeps putting (at least 1,000 puts fall in the
# proven window). The revision is captured before the writer starts.
ectl A put /cfg/seed s0 >/dev/null
r0=$(etcd_revision A)
setsid python3 "$WRITER" "$ETCD_A" /cfg/ 1000000 "$WORK/writer.log" </dev/null &
writer=$!
STARTED_PIDS+=($writer)
run_step handoff 0 "    etcd_watch_handoff:
      prefix: /cfg/
      from: {endpoints: [$ETCD_A_1]}
      to: {endpoints: [$ETCD_A_3, $ETCD_A_2]}
      from_revision: $((r0 + 1))
      move_leader_to: A3
      watch_for: 6s
      events_file: $WORK/handoff.events"
kill -TERM -- "-$writer"
report_is handoff 's["handoff"]["evidence"]["lost"]' 0
report_is handoff 's["handoff"]["evidence"]["duplicates"]' 0
report_is handoff 's["handoff"]["evidence"]["out_of_order"]' 0
report_is handoff '"move_leader_ms" in s["handoff"]["evidence"]' True
report_is handoff 's["handoff"]["outputs"]["revision"]' "$r0"
report_is handoff 'float(s["handoff"]["outputs"]["canary_ms"]) > 0' True
[ "$(etcd_leader A)" = 3 ] && pass "handoff: the leader moved to A3" || fail "handoff: the leader is A$(etcd_leader A), not A3"
writes_seen_once handoff "$WORK/writer.log" 1000

# A marker outside the prefix is refused before anything runs.
run_step handoff-marker-outside 65 "    etcd_watch_handoff: {prefix: /cfg/, marker_key: /elsewhere, from: $conn, to: $conn}"
contains handoff-marker-outside-message "$WORK/handoff-marker-outside.err" "must be under prefix '/cfg/'"

# Compaction before the watch starts: the start revision is gone, the step re-lists.
ectl A put /cfg/before-compaction 1 >/dev/null
rc=$(etcd_revision A)
ectl A put /cfg/after-compaction 2 >/dev/null
ectl A compact "$(etcd_revision A)" >/dev/null
keys=$(etcd_count A /cfg/)
run_step compacted 0 "    etcd_watch_handoff: {prefix: /cfg/, from: $conn, to: $conn, from_revision: $rc}"
report_is compacted 's["compacted"]["evidence"]["compacted"]' True
report_is compacted 's["compacted"]["evidence"]["relisted_keys"]' "$keys"
report_is compacted 's["compacted"]["evidence"]["lost"]' 0
contains compacted-warns "$WORK/compacted.out" "watchers must re-list the prefix"
run_step compacted-strict 2 "    etcd_watch_handoff: {prefix: /cfg/, from: $conn, to: $conn, from_revision: $rc, allow_relist: false}"
report_is compacted-strict 's["compacted-strict"]["evidence"]["error"]' compacted

# A later step resumes from an earlier one's revision: ${steps.*} in an integer field is typed
# just before the step runs, and a value that is not an integer fails the step, naming it.
printf 'version: 1\nname: chained\nsteps:\n  - name: first\n    etcd_watch_handoff: {prefix: /chain/, from: %s, to: %s}\n  - name: second\n    etcd_watch_handoff: {prefix: /chain/, from: %s, to: %s, from_revision: "${steps.first.revision}"}\n' \
  "$conn" "$conn" "$conn" "$conn" > "$WORK/chained.yaml"
check chained 0 run --yes --output json "$WORK/chained.yaml"
report_is chained 's["second"]["evidence"]["revision"] == int(s["first"]["outputs"]["revision"]) - 1' True
sed 's/steps.first.revision/steps.first.canary_ms/' "$WORK/chained.yaml" > "$WORK/chained-bad.yaml"
check chained-bad 2 run --yes --output json "$WORK/chained-bad.yaml"
contains chained-bad-message "$WORK/chained-bad.out" "etcd_watch_handoff: from_revision: resolved to"
report_is chained-bad 's["second"]["evidence"]["error"]' late_reference

# Failover: the first endpoint refuses, the second answers.
run_step put-failover 0 "    etcd_put: {etcd: {endpoints: [127.0.0.1:$closed, $ETCD_A_2], dial_timeout: 500ms}, key: /failover, value: ok}"
[ "$(ectl A get /failover --print-value-only)" = ok ] && pass "put-failover: written through the second endpoint" || fail "put-failover: not written"

# etcd_put: compare, then undo restores the previous value when a later step fails.
ectl A put /route/site futian >/dev/null
run_step put-compare-fails 2 "    etcd_put: {etcd: $conn, key: /route/site, value: bantian, expect_value: longgang}"
contains put-compare-message "$WORK/put-compare-fails.out" "compare failed: value is 'futian'"
[ "$(ectl A get /route/site --print-value-only)" = futian ] && pass "put-compare-fails: value untouched" || fail "put-compare-fails: value changed"
printf 'version: 1\nname: put-undo\nsteps:\n  - name: flip\n    etcd_put: {etcd: %s, key: /route/site, value: bantian, expect_value: futian}\n  - name: breaks\n    read_only: true\n    exec: {argv: [false]}\n' \
  "$conn" > "$WORK/put-undo.yaml"
check put-undo 2 run --yes --output json "$WORK/put-undo.yaml"
[ "$(ectl A get /route/site --print-value-only)" = futian ] && pass "put-undo: previous value restored" || fail "put-undo: value is $(ectl A get /route/site --print-value-only)"

# The watch-latency probe: puts through one member, watched through another.
check probe-watch 0 probe etcd-watch --put-endpoints "$ETCD_A_1" --watch-endpoints "$ETCD_A_2" --prefix /lat/ --count 100 --rate 200 --output json
is probe-watch 'c["evidence"]["propagation"]["samples"]' 100
is probe-watch 'c["evidence"]["lost"]' 0
check probe-watch-too-slow 1 probe etcd-watch --put-endpoints "$ETCD_A_1" --watch-endpoints "$ETCD_A_2" --prefix /lat/ --count 20 --rate 0 --max-p99 0ms --output json
is probe-watch-too-slow 'c["evidence"]["error"]' slow
[ "$(etcd_count A /lat/)" = 0 ] \
  && pass "probe-watch: the canary key was deleted" || fail "probe-watch: canary keys left behind"

# The leader killed during a handoff under load: the watch, connected to the leader, must
# resume on another member without losing an event.
leader=$(etcd_leader A)
others=()
for i in 1 2 3; do [ "$i" != "$leader" ] && others+=("$i"); done
lv="ETCD_A_$leader"; o1="ETCD_A_${others[0]}"; o2="ETCD_A_${others[1]}"
r1=$(etcd_revision A)
setsid python3 "$WRITER" "${!o1},${!o2}" /cfg/ 1000000 "$WORK/leader-killed.writer" </dev/null &
writer=$!
STARTED_PIDS+=($writer)
playbook leader-killed steps "    etcd_watch_handoff:
      prefix: /cfg/
      from: {endpoints: [${!o1}, ${!o2}]}
      to: {endpoints: [${!lv}, ${!o1}, ${!o2}]}
      from_revision: $((r1 + 1))
      watch_for: 4s
      events_file: $WORK/leader-killed.events"
"$DRCTL" run --yes --output json "$WORK/leader-killed.yaml" >"$WORK/leader-killed.out" 2>"$WORK/leader-killed.err" &
drctl_pid=$!
# Kill the leader 1 s into the handoff (not into drctl's start, which ASan makes slow).
for _ in $(seq 300); do grep -qs '"name":"leader-killed".*"type":"entry_started"' "$XDG_STATE_HOME"/drctl/runs/*.jsonl && break; sleep 0.05; done
sleep 1
kill_member A "$leader"
wait "$drctl_pid"; RC=$?; LAST=leader-killed
kill -TERM -- "-$writer"
expect_rc "leader-killed: the handoff completes through the remaining members" 0
report_is leader-killed 's["leader-killed"]["evidence"]["reconnects"] >= 1' True
report_is leader-killed 's["leader-killed"]["evidence"]["lost"]' 0
writes_seen_once leader-killed "$WORK/leader-killed.writer" 300

# Quorum loss: one of three members left. etcd's gRPC health still says SERVING; etcd_health
# says there is no quorum.
kill_member A "${others[0]}"
sleep 1
check quorum-grpc-health 0 probe grpc --addr "${!o2}"
run_check no-quorum 1 "    etcd_health: {etcd: {endpoints: [${!o2}]}, read_timeout: 1s}"
is no-quorum 'c["evidence"]["error"]' no_quorum
contains no-quorum-message "$WORK/no-quorum.out" "no quorum"

# ---------------------------------------------------------------- two clusters and a mirror
start_etcd P 1
start_etcd B 1
for i in $(seq 20); do ectl P put "/cfg/k$i" "v$i" >/dev/null; done
setsid env ETCDCTL_API=3 etcdctl --endpoints "$ETCD_P" make-mirror --prefix /cfg/ "$ETCD_B" </dev/null >"$WORK/mirror.log" 2>&1 &
mirror=$!
STARTED_PIDS+=($mirror)
for _ in $(seq 100); do [ "$(ectl B get /cfg/k20 --print-value-only 2>/dev/null)" = v20 ] && break; sleep 0.05; done
mirrored="topology: mirrored, prefix: /cfg/, from: {endpoints: [$ETCD_P]}, to: {endpoints: [$ETCD_B]}"
run_step mirrored 0 "    etcd_watch_handoff: {$mirrored, record_key: /drctl/handoff, converge_timeout: 3s}"
report_is mirrored 's["mirrored"]["evidence"]["compare"]["missing"] + s["mirrored"]["evidence"]["compare"]["extra"]' 0
report_is mirrored 's["mirrored"]["evidence"]["mapping"]["to_revision"] == int(s["mirrored"]["outputs"]["to_revision"])' True
recorded=$(ectl B get /drctl/handoff --print-value-only)
python3 -c 'import json,sys; d=json.loads(sys.argv[1]); assert d["from_revision"] > 0 and d["to_revision"] > 0' "$recorded" \
  && pass "mirrored: the mapping is recorded on the backup" || fail "mirrored: record_key holds '$recorded'"

ectl B del /cfg/k7 >/dev/null
run_step mirror-diverged 2 "    etcd_watch_handoff: {$mirrored, converge_timeout: 500ms}"
report_is mirror-diverged 's["mirror-diverged"]["evidence"]["error"]' diverged
contains mirror-diverged-names-key "$WORK/mirror-diverged.out" "1 missing (first: /cfg/k7)"

ectl P put /cfg/k7 v7 >/dev/null   # the mirror copies it back
for _ in $(seq 100); do [ "$(ectl B get /cfg/k7 --print-value-only 2>/dev/null)" = v7 ] && break; sleep 0.05; done
kill -TERM -- "-$mirror" 2>/dev/null
run_step mirror-stopped 2 "    etcd_watch_handoff: {$mirrored, canary_timeout: 1s}"
report_is mirror-stopped 's["mirror-stopped"]["evidence"]["error"]' canary_timeout
contains mirror-stopped-message "$WORK/mirror-stopped.out" "did not reach the backup's watch within 1s (is the mirror running?)"

# ---------------------------------------------------------------- the marker's write-ahead undo
# The handoff journals its marker's undo state (the value it is about to write) before writing
# it. A run killed before it learned the marker's revision is rolled back by that value: the
# marker goes if it still holds it, and one written since by someone else stays.
playbook handoff-wa steps "    etcd_watch_handoff: {topology: same_cluster, prefix: /cfg/, from: {endpoints: [$ETCD_P]}, to: {endpoints: [$ETCD_P]}}"
check handoff-wa 0 --state-dir "$WORK/state-wa" run --yes "$WORK/handoff-wa.yaml"
killed_journal() {  # killed_journal RUN_ID MARKER_VALUE: the real run's journal, cut short in the step
  python3 - "$WORK/state-wa/runs" "$1" "$2" <<'PY'
import glob, json, sys
runs, run_id, value = sys.argv[1:]
source = next(f for f in glob.glob(runs + "/*.jsonl")
              if json.loads(open(f).readline())["mode"] == "run" and not f.endswith(("aaaaaa.jsonl", "bbbbbb.jsonl")))
lines = []
for line in open(source):
    l = json.loads(line)
    if l["type"] == "run_started":
        l["run_id"] = run_id
    lines.append(l)
    if l["type"] == "entry_started" and l["phase"] == "step":
        break
lines.append({"type": "entry_undo", "phase": "step", "name": "handoff-wa",
              "undo": {"marker": "/cfg/__drctl_marker", "marker_value": value, "marker_revision": 0}})
with open(f"{runs}/{run_id}.jsonl", "w") as out:
    out.writelines(json.dumps(l) + "\n" for l in lines)
PY
}
killed_journal 20990101T000000Z-aaaaaa '{"run_id":"killed-a"}'
ectl P put /cfg/__drctl_marker '{"run_id":"killed-a"}' >/dev/null
check wa-rollback 0 --state-dir "$WORK/state-wa" rollback --yes 20990101T000000Z-aaaaaa
[ -z "$(ectl P get /cfg/__drctl_marker --print-value-only)" ] && pass "wa-rollback: the marker it was writing is deleted" \
  || fail "wa-rollback: the marker is still there"
killed_journal 20990101T000000Z-bbbbbb '{"run_id":"killed-b"}'
ectl P put /cfg/__drctl_marker '{"run_id":"someone-else"}' >/dev/null
check wa-rollback-changed 0 --state-dir "$WORK/state-wa" rollback --yes 20990101T000000Z-bbbbbb
[ "$(ectl P get /cfg/__drctl_marker --print-value-only)" = '{"run_id":"someone-else"}' ] && pass "wa-rollback-changed: another run's marker stays" \
  || fail "wa-rollback-changed: the marker was changed"
contains wa-rollback-changed-says "$WORK/wa-rollback-changed.out" "never written by this run, or changed since; left alone"

# ---------------------------------------------------------------- auth
start_etcd S 1
password="pw-$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')"
ectl S user add "root:$password" >/dev/null
ectl S user grant-role root root >/dev/null
ectl S auth enable >/dev/null
export DRCTL_TEST_ETCD_PASSWORD="$password" DRCTL_TEST_ETCD_WRONG="wrong-$password"
run_check auth-ok 0 "    etcd_health: {etcd: {endpoints: [$ETCD_S], user: root, password_env: DRCTL_TEST_ETCD_PASSWORD}}"
run_step auth-put 0 "    etcd_put: {etcd: {endpoints: [$ETCD_S], user: root, password_env: DRCTL_TEST_ETCD_PASSWORD}, key: /a, value: b}"
run_check auth-wrong 1 "    etcd_health: {etcd: {endpoints: [$ETCD_S], user: root, password_env: DRCTL_TEST_ETCD_WRONG}}"
is auth-wrong 'c["evidence"]["members"][0]["error"]' auth
contains auth-wrong-message "$WORK/auth-wrong.out" "authentication failed"
for f in auth-ok auth-put auth-wrong; do
  lacks "$f: the password is in no output" "$WORK/$f.out" "$password"
  lacks "$f: the password is in no error output" "$WORK/$f.err" "$password"
done

# ---------------------------------------------------------------- TLS with client certificates
if command -v openssl >/dev/null; then
  tls="$WORK/tls"; mkdir -p "$tls"
  make_cert() {  # make_cert NAME CN [EXT]
    openssl req -newkey rsa:2048 -nodes -keyout "$tls/$1.key" -out "$tls/$1.csr" -subj "/CN=$2" 2>/dev/null
    printf '%s\n' "${3:-basicConstraints=CA:FALSE}" > "$tls/$1.ext"
    openssl x509 -req -in "$tls/$1.csr" -CA "$tls/ca.pem" -CAkey "$tls/ca.key" -CAcreateserial -out "$tls/$1.pem" -days 1 -extfile "$tls/$1.ext" 2>/dev/null
  }
  openssl req -x509 -newkey rsa:2048 -nodes -keyout "$tls/ca.key" -out "$tls/ca.pem" -days 1 -subj "/CN=drctl test CA" 2>/dev/null
  openssl req -x509 -newkey rsa:2048 -nodes -keyout "$tls/other.key" -out "$tls/other.pem" -days 1 -subj "/CN=someone else" 2>/dev/null
  make_cert server 127.0.0.1 "subjectAltName=IP:127.0.0.1"
  make_cert client drctl-client
  cp_tls=$(closed_port); pp_tls=$(closed_port)
  setsid etcd --name t1 --data-dir "$WORK/etcd-tls" --listen-client-urls "https://127.0.0.1:$cp_tls" --advertise-client-urls "https://127.0.0.1:$cp_tls" \
    --listen-peer-urls "http://127.0.0.1:$pp_tls" --initial-advertise-peer-urls "http://127.0.0.1:$pp_tls" --initial-cluster "t1=http://127.0.0.1:$pp_tls" \
    --cert-file "$tls/server.pem" --key-file "$tls/server.key" --client-cert-auth --trusted-ca-file "$tls/ca.pem" </dev/null >"$WORK/etcd-tls.log" 2>&1 &
  STARTED_PIDS+=($!)
  for _ in $(seq 200); do
    curl -sf --cacert "$tls/ca.pem" --cert "$tls/client.pem" --key "$tls/client.key" "https://127.0.0.1:$cp_tls/health" | grep -q true && break
    sleep 0.05
  done
  run_check tls-mutual 0 "    etcd_health: {etcd: {endpoints: [https://127.0.0.1:$cp_tls], ca: $tls/ca.pem, cert: $tls/client.pem, key: $tls/client.key}}"
  run_check tls-no-client-cert 1 "    etcd_health: {etcd: {endpoints: [https://127.0.0.1:$cp_tls], ca: $tls/ca.pem, dial_timeout: 1s}}"
  run_check tls-unknown-ca 1 "    etcd_health: {etcd: {endpoints: [https://127.0.0.1:$cp_tls], ca: $tls/other.pem, cert: $tls/client.pem, key: $tls/client.key, dial_timeout: 1s}}"
  is tls-unknown-ca 'c["evidence"]["members"][0]["error"]' unreachable
elif [ -n "${CI:-}" ]; then
  fail "openssl is not installed in CI"
fi

finish
