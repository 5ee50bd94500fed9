#!/usr/bin/env bash
# The consul check against a server that speaks Consul's health API (see fixture_consul.cpp).
. "$(dirname "$0")/lib.sh"
require_tool python3
: "${FIXTURE_CONSUL:?FIXTURE_CONSUL must point at drctl-fixture-consul}"

state="$WORK/consul.json"
token="acl-$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')"
set_state() {  # set_state MODE DELAY TOKEN [order-svc instances JSON]
  local instances=${4:-'[
    {"node": "bak-node-1", "id": "order-svc-1", "tags": ["v2"], "checks": {"serfHealth": "passing", "service:order-svc-1": "passing"}},
    {"node": "bak-node-2", "id": "order-svc-2", "tags": ["v2"], "checks": {"serfHealth": "passing", "service:order-svc-2": "passing"}},
    {"node": "bak-node-3", "id": "order-svc-3", "tags": ["v1"], "checks": {"serfHealth": "passing", "service:order-svc-3": "critical"}}]'}
  printf '{"datacenter": "bantian", "token": "%s", "index": 4242, "mode": "%s", "delay_ms": %s, "services": {"order-svc": %s}}\n' \
    "$3" "$1" "$2" "$instances" > "$state.tmp" && mv "$state.tmp" "$state"
}
set_state normal 0 ""
setsid "$FIXTURE_CONSUL" "$state" "$WORK/consul.port" 300 </dev/null >/dev/null 2>&1 &
STARTED_PIDS+=($!)
for _ in $(seq 100); do [ -s "$WORK/consul.port" ] && break; sleep 0.05; done
C="http://127.0.0.1:$(cat "$WORK/consul.port")"

consul() {  # consul NAME EXIT SPEC-EXTRA [TIMEOUT]
  printf 'version: 1\nname: consul\nchecks:\n  - name: %s\n    timeout: %s\n    consul: {address: "%s", service: order-svc%s}\n' \
    "$1" "${4:-2s}" "$C" "$3" > "$WORK/$1.yaml"
  check "$1" "$2" check --output json "$WORK/$1.yaml"
}

consul two-of-two 0 ", min_passing: 2"
is two-of-two 'c["evidence"]["instances_passing"]' 2
is two-of-two 'c["evidence"]["consul_index"]' 4242
is two-of-two 'c["outputs"]["passing"]' 2
consul need-three 1 ", min_passing: 3"
is need-three 'c["evidence"]["error"]' too_few_passing
is need-three 'c["message"]' "consul $C service 'order-svc': 2 of 2 instance(s) passing, need 3"

set_state ignore_passing 0 ""
consul lying-passing 1 ", min_passing: 3"
is lying-passing 'c["evidence"]["instances_returned"]' 3
is lying-passing 'c["evidence"]["instances_passing"]' 2
is lying-passing 'c["evidence"]["failing_checks"][0]' "bak-node-3/order-svc-3: check service:order-svc-3 (critical)"
is lying-passing 'len(c["warnings"])' 1

set_state normal 0 "$token"
consul no-token 1 ""
is no-token 'c["evidence"]["error"]' acl_denied
is no-token 'c["message"].startswith("consul %s service '"'"'order-svc'"'"': ACL denied (403)" % "'"$C"'")' True
export DRCTL_TEST_CONSUL_BAD=not-the-token-at-all
consul wrong-token 1 ", token_env: DRCTL_TEST_CONSUL_BAD"
is wrong-token 'c["message"].endswith("ACL denied (403): ACL not found")' True
export DRCTL_TEST_CONSUL_TOKEN="$token"
consul env-token 0 ", token_env: DRCTL_TEST_CONSUL_TOKEN"
printf '%s\n' "$token" > "$WORK/token"
consul file-token 0 ", token_file: $WORK/token"
for f in no-token wrong-token env-token file-token; do lacks "token absent from $f output" "$WORK/$f.out" "$token"; lacks "token absent from $f log" "$WORK/$f.err" "$token"; done

set_state error500 0 ""
consul server-error 1 ""
is server-error 'c["evidence"]["error"]' server_error
is server-error 'c["message"].endswith("server error (500): No cluster leader")' True
set_state normal 1500 ""
consul slow 1 "" 300ms
is slow 'c["status"]' timeout
set_state notjson 0 ""
consul not-json 1 ""
is not-json 'c["status"]' invalid_answer
is not-json 'c["message"].endswith("invalid answer: the body is not JSON")' True
set_state truncated 0 ""
consul truncated 1 ""
is truncated 'c["status"]' invalid_answer
set_state bad_shape 0 ""
consul bad-shape 1 ""
is bad-shape 'c["message"].endswith("invalid answer: element 0 lacks Node, Service or a Checks array")' True
is bad-shape 'c["evidence"]["error"]' bad_shape

set_state normal 0 ""
consul right-dc 0 ", dc: bantian, min_passing: 2"
consul wrong-dc 1 ", dc: nowhere"
is wrong-dc 'c["message"].endswith("server error (500): No path to datacenter")' True
consul filter-v2 0 ', filter: "Service.Tags contains \"v2\"", min_passing: 2'
consul filter-v1 1 ', filter: "Service.Tags contains \"v1\"", min_passing: 1'
is filter-v1 'c["evidence"]["instances_returned"]' 0
consul bad-filter 1 ', filter: "Service.Nope == 1"'
is bad-filter 'c["evidence"]["error"]' client_error
set_state acl_filtered 0 ""
consul acl-filtered 0 ""
is acl-filtered 'c["evidence"]["filtered_by_acls"]' True
is acl-filtered '"filtered by ACLs" in c["warnings"][0]' True

# drctl probe consul: the same check from flags (0 pass, 1 fail, 64 usage).
set_state normal 0 "$token"
check probe-pass 0 probe consul --address "$C" --service order-svc --min-passing 2 --token-env DRCTL_TEST_CONSUL_TOKEN
contains "probe prints the measured count" "$WORK/probe-pass.out" "2 of 2 instance(s) passing, need 2"
lacks "probe never prints the token" "$WORK/probe-pass.out" "$token"
check probe-fail 1 probe consul --address "$C" --service order-svc --min-passing 3 --token-env DRCTL_TEST_CONSUL_TOKEN
check probe-denied 1 probe consul --address "$C" --service order-svc
contains "probe says ACL denied" "$WORK/probe-denied.out" "ACL denied (403)"
check probe-usage 64 probe consul --address "$C"
check probe-bad-address 64 probe consul --address ftp://x --service order-svc
contains "a bad value names its flag" "$WORK/probe-bad-address.err" "drctl: error: --address: expected an http:// or https:// URL"
set_state normal 0 ""

refused="http://127.0.0.1:$(closed_port)"
printf 'version: 1\nname: consul\nchecks:\n  - name: refused\n    consul: {address: "%s", service: order-svc}\n' "$refused" > "$WORK/refused.yaml"
check refused 1 check --output json "$WORK/refused.yaml"
is refused 'c["status"]' unreachable
is refused 'c["message"].startswith("consul %s service" % "'"$refused"'")' True
finish
