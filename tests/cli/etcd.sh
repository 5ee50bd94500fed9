# Real etcd clusters for the suites (sourced after lib.sh): members on free loopback ports,
# their own data dirs under $WORK, stopped by PID with everything else.

# start_etcd NAME MEMBERS [ETCD ARGS]: starts a cluster and waits until every member is healthy.
# Sets ETCD_<NAME> ("127.0.0.1:p1,127.0.0.1:p2"), ETCD_<NAME>_LIST ("[127.0.0.1:p1, ...]"),
# ETCD_<NAME>_<i> (member i's client address) and ETCD_PID_<NAME>_<i>. Members are NAME1..NAMEn.
start_etcd() {
  local name=$1 members=$2; shift 2
  local cluster="" i clients=() peers=()
  for i in $(seq "$members"); do
    clients[i]=$(closed_port); peers[i]=$(closed_port)
    cluster+="${cluster:+,}$name$i=http://127.0.0.1:${peers[i]}"
  done
  for i in $(seq "$members"); do
    setsid etcd --name "$name$i" --data-dir "$WORK/etcd-$name-$i" \
      --listen-client-urls "http://127.0.0.1:${clients[i]}" --advertise-client-urls "http://127.0.0.1:${clients[i]}" \
      --listen-peer-urls "http://127.0.0.1:${peers[i]}" --initial-advertise-peer-urls "http://127.0.0.1:${peers[i]}" \
      --initial-cluster "$cluster" --initial-cluster-token "$name-$$" --initial-cluster-state new \
      --heartbeat-interval 50 --election-timeout 500 "$@" </dev/null >"$WORK/etcd-$name-$i.log" 2>&1 &
    STARTED_PIDS+=($!)
    printf -v "ETCD_PID_${name}_$i" '%s' "$!"
    printf -v "ETCD_${name}_$i" '127.0.0.1:%s' "${clients[i]}"
  done
  local all="" list=""
  for i in $(seq "$members"); do all+="${all:+,}127.0.0.1:${clients[i]}"; done
  list="[${all//,/, }]"
  printf -v "ETCD_$name" '%s' "$all"
  printf -v "ETCD_${name}_LIST" '%s' "$list"
  for i in $(seq "$members"); do
    for _ in $(seq 300); do
      curl -sf "http://127.0.0.1:${clients[i]}/health" 2>/dev/null | grep -q '"health":"true"' && break
      sleep 0.05
    done
    curl -sf "http://127.0.0.1:${clients[i]}/health" 2>/dev/null | grep -q '"health":"true"' \
      || { echo "etcd $name$i did not become healthy"; tail -5 "$WORK/etcd-$name-$i.log"; exit 1; }
  done
}

# etcdctl against a cluster: ectl NAME ARGS...
ectl() { local var="ETCD_$1"; shift; ETCDCTL_API=3 etcdctl --endpoints "${!var}" "$@"; }

# wait_key_gone CLUSTER KEY SECONDS: waits for a key (a killed run's lock) to disappear. etcd
# revokes an expired lease on a 500 ms sweep, through raft, and a leader change extends every
# lease, so a fixed sleep of "ttl plus a little" is flaky; returns 1 if the key outlives SECONDS.
wait_key_gone() {
  local cluster=$1 key=$2 deadline=$((SECONDS + $3))
  while [ "$SECONDS" -le "$deadline" ]; do
    [ -z "$(ectl "$cluster" get "$key" --print-value-only)" ] && return 0
    sleep 0.1
  done
  return 1
}

# The member number (1..n) of NAME's current leader.
etcd_leader() {
  local name=$1 i var
  for i in 1 2 3 4 5; do
    var="ETCD_${name}_$i"; [ -n "${!var:-}" ] || break
    if ETCDCTL_API=3 etcdctl --endpoints "${!var}" endpoint status -w json 2>/dev/null \
        | python3 -c 'import json,sys; s=json.load(sys.stdin)[0]["Status"]; sys.exit(0 if s["header"]["member_id"]==s["leader"] else 1)'; then
      echo "$i"; return 0
    fi
  done
  return 1
}

# The current revision of NAME.
etcd_revision() { ectl "$1" get /drctl-test-nothing -w json | python3 -c 'import json,sys; print(json.load(sys.stdin)["header"]["revision"])'; }

# The number of keys under a prefix of NAME.
etcd_count() { ectl "$1" get "$2" --prefix --keys-only -w json | python3 -c 'import json,sys; print(json.load(sys.stdin).get("count", 0))'; }

kill_member() { local var="ETCD_PID_$1_$2"; kill -KILL -- "-${!var}" 2>/dev/null || kill -KILL "${!var}"; }
