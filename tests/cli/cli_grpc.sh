#!/usr/bin/env bash
# grpc_health against real gRPC servers (tests/support/fixture_grpc_health.cpp) and etcd.
. "$(dirname "$0")/lib.sh"
require_tool openssl
: "${FIXTURE_GRPC:?FIXTURE_GRPC must point at drctl-fixture-grpc}"
printf -- '- SERVING\norder.Order SERVING\npay.Pay NOT_SERVING\n' > "$WORK/status"
start_grpc plain --status-file "$WORK/status"
start_grpc nohealth --no-health
G="127.0.0.1:$PORT_plain"

probe() {  # probe NAME EXIT SPEC
  printf 'version: 1\nname: grpc\nchecks:\n  - name: %s\n    timeout: 5s\n    grpc_health: %s\n' "$1" "$3" > "$WORK/$1.yaml"
  check "$1" "$2" check --output json "$WORK/$1.yaml"
}

probe serving 0 "{address: \"$G\"}"
is serving 'c["outputs"]["status"]' SERVING
is serving 'c["evidence"]["targets"][0]["rpc_ms"] > 0' True
probe service-serving 0 "{address: \"$G\", service: order.Order}"
probe not-serving 1 "{address: \"$G\", service: pay.Pay}"
is not-serving 'c["status"]' failed
is not-serving 'c["message"]' "$G service 'pay.Pay': NOT_SERVING"
printf -- '- SERVING\norder.Order NOT_SERVING\npay.Pay SERVING\n' > "$WORK/status"; sleep 0.3
probe switched-off 1 "{address: \"$G\", service: order.Order}"
probe switched-on 0 "{address: \"$G\", service: pay.Pay}"
probe unknown-service 1 "{address: \"$G\", service: nope.Nope}"
is unknown-service 'c["outputs"]["status"]' NOT_FOUND
is unknown-service '"does not know this service name" in c["message"]' True
probe no-health 1 "{address: \"127.0.0.1:$PORT_nohealth\"}"
is no-health 'c["status"]' invalid_answer
# UNIMPLEMENTED, or STREAM_RESET when curl 7.88 drops that answer (see lib/clients/grpc_health.cpp).
is no-health 'c["outputs"]["status"] in ("UNIMPLEMENTED", "STREAM_RESET")' True
refused="127.0.0.1:$(closed_port)"
probe refused 1 "{address: \"$refused\"}"
is refused 'c["status"]' unreachable
is refused 'c["duration_ms"] < 900' True
# A port that accepts TCP but never speaks HTTP/2: the connection never becomes ready.
start_silent_listener
silent_port=$SILENT_PORT
probe silent 1 "{address: \"127.0.0.1:$silent_port\", connect_timeout: 300ms}"
is silent 'c["status"]' timeout
is silent 'c["outputs"]["status"]' CONNECT_TIMEOUT

probe two-of-three 0 "{addresses: [\"$G\", \"$G\", \"$refused\"], min_serving: 2}"
is two-of-three 'c["evidence"]["serving"]' 2
probe three-of-three 1 "{addresses: [\"$G\", \"$G\", \"$refused\"]}"
is three-of-three 'c["evidence"]["min_serving"]' 3

# drctl probe grpc keeps grpc_health_probe's exit codes.
probe_rc() {  # probe_rc NAME WANTED ARGS...
  local name=$1 wanted=$2; shift 2
  LAST=$name; run_drctl "$name" probe grpc "$@"; expect_rc "probe grpc $name" "$wanted"
}
printf -- '- SERVING\norder.Order SERVING\npay.Pay NOT_SERVING\n' > "$WORK/status"; sleep 0.3
probe_rc serving 0 --addr "$G"
probe_rc service-serving 0 --addr "$G" --service order.Order
probe_rc not-serving 4 --addr "$G" --service pay.Pay
probe_rc unknown-service 3 --addr "$G" --service nope.Nope
probe_rc unimplemented 3 --addr "127.0.0.1:$PORT_nohealth"
probe_rc refused 2 --addr "$refused"
probe_rc silent 2 --addr "127.0.0.1:$silent_port" --connect-timeout 200ms
probe_rc missing-addr 1
probe_rc bad-duration 1 --addr "$G" --rpc-timeout 5
contains "a bad value names its flag" "$WORK/bad-duration.err" "drctl: error: --rpc-timeout: invalid duration '5'"
run_drctl probe-json probe grpc --addr "$G" --output json
/usr/bin/python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["checks"][0]["outputs"]["status"]=="SERVING"' "$WORK/probe-json.out" \
  && pass "probe grpc --output json" || fail "probe grpc --output json"

# TLS with a CA made here; the server's certificate names 127.0.0.1 and dr.example.
cd "$WORK"
openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem -days 1 -subj "/CN=drctl grpc CA" 2>/dev/null
openssl req -x509 -newkey rsa:2048 -nodes -keyout other.key -out other.pem -days 1 -subj "/CN=other CA" 2>/dev/null
openssl req -newkey rsa:2048 -nodes -keyout srv.key -out srv.csr -subj "/CN=dr.example" 2>/dev/null
printf 'subjectAltName=DNS:dr.example,IP:127.0.0.1\n' > srv.ext
openssl x509 -req -in srv.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out srv.pem -days 1 -extfile srv.ext 2>/dev/null
start_grpc tls --status-file "$WORK/status" --cert "$WORK/srv.pem" --key "$WORK/srv.key"
T="127.0.0.1:$PORT_tls"
probe tls-verified 0 "{address: \"$T\", ca: $WORK/ca.pem}"
probe tls-server-name 0 "{address: \"localhost:$PORT_tls\", ca: $WORK/ca.pem, server_name: dr.example}"
probe tls-wrong-ca 1 "{address: \"$T\", ca: $WORK/other.pem}"
is tls-wrong-ca 'c["status"]' unreachable
probe tls-insecure 0 "{address: \"$T\", tls: true, insecure: true}"
probe plaintext-to-tls 1 "{address: \"$T\"}"
probe_rc tls-probe 0 --addr "$T" --tls --ca "$WORK/ca.pem"
probe_rc tls-probe-name 0 --addr "localhost:$PORT_tls" --tls --ca "$WORK/ca.pem" --server-name dr.example
probe metadata 0 "{address: \"$G\", metadata: {x-drctl-run: test}, user_agent: drctl-test}"

# etcd's own gRPC health service (which says SERVING even without quorum: see etcd_health).
if command -v etcd >/dev/null; then
  cp=$(closed_port); pp=$(closed_port)
  setsid etcd --name m1 --data-dir "$WORK/etcd" --listen-client-urls "http://127.0.0.1:$cp" --advertise-client-urls "http://127.0.0.1:$cp" \
    --listen-peer-urls "http://127.0.0.1:$pp" --initial-advertise-peer-urls "http://127.0.0.1:$pp" --initial-cluster "m1=http://127.0.0.1:$pp" \
    </dev/null >"$WORK/etcd.log" 2>&1 &
  STARTED_PIDS+=($!)
  for _ in $(seq 100); do curl -sf "http://127.0.0.1:$cp/health" >/dev/null && break; sleep 0.1; done
  probe etcd 0 "{address: \"127.0.0.1:$cp\"}"
elif [ -n "${CI:-}" ]; then
  fail "etcd is not installed in CI"
else
  echo "note: etcd not installed; its health case was not run"
fi
finish
