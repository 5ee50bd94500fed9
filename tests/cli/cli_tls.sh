#!/usr/bin/env bash
# The http kind over TLS against a real TLS server (openssl s_server) with a CA made here:
# verification by `ca`, an unknown CA, `insecure`, and a client certificate (mutual TLS).
. "$(dirname "$0")/lib.sh"
require_tool openssl

cd "$WORK"
make_cert() {  # make_cert NAME CN [SAN]
  openssl req -newkey rsa:2048 -nodes -keyout "$1.key" -out "$1.csr" -subj "/CN=$2" 2>/dev/null
  printf '%s\n' "${3:-basicConstraints=CA:FALSE}" > "$1.ext"
  openssl x509 -req -in "$1.csr" -CA ca.pem -CAkey ca.key -CAcreateserial -out "$1.pem" -days 1 -extfile "$1.ext" 2>/dev/null
}
openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem -days 1 -subj "/CN=drctl test CA" 2>/dev/null
openssl req -x509 -newkey rsa:2048 -nodes -keyout other-ca.key -out other-ca.pem -days 1 -subj "/CN=someone else" 2>/dev/null
make_cert server 127.0.0.1 "subjectAltName=IP:127.0.0.1"
make_cert client drctl-client

start_tls() {  # start_tls NAME EXTRA-ARGS...: sets PORT_<NAME>
  local name=$1 port; shift
  port=$(closed_port)
  setsid openssl s_server -accept "127.0.0.1:$port" -cert server.pem -key server.key -www -quiet "$@" </dev/null >/dev/null 2>&1 &
  STARTED_PIDS+=($!)
  for _ in $(seq 100); do (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break; sleep 0.05; done
  printf -v "PORT_$name" '%s' "$port"
}
start_tls plain
start_tls mutual -Verify 1 -CAfile ca.pem

probe() {  # probe NAME EXIT HTTP-SPEC
  printf 'version: 1\nname: tls\nchecks:\n  - name: %s\n    timeout: 5s\n    http: %s\n' "$1" "$3" > "$WORK/$1.yaml"
  check "$1" "$2" check --output json "$WORK/$1.yaml"
}
message() { /usr/bin/python3 -c 'import json,sys; c=json.load(open(sys.argv[1]))["checks"][0]; print(c["status"]+"|"+c["message"])' "$WORK/$1.out"; }

U="https://127.0.0.1:$PORT_plain/"
probe verified 0 "{url: \"$U\", ca: $WORK/ca.pem}"
probe unknown-ca 1 "{url: \"$U\", ca: $WORK/other-ca.pem}"
got=$(message unknown-ca)
[[ $got == failed\|*"TLS:"* ]] && pass "an unknown CA is a TLS failure: ${got:0:90}" || fail "unknown CA: $got"
probe insecure 0 "{url: \"$U\", insecure: true}"

M="https://127.0.0.1:$PORT_mutual/"
probe mtls 0 "{url: \"$M\", ca: $WORK/ca.pem, cert: $WORK/client.pem, key: $WORK/client.key}"
probe mtls-no-cert 1 "{url: \"$M\", ca: $WORK/ca.pem}"
finish
