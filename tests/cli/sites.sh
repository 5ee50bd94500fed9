# A backup "site" for the check suites and benchmarks (source after lib.sh and mariadb.sh):
# a Consul API with 3 passing order-svc instances, a MariaDB primary -> replica pair with a
# heartbeat table, and a gRPC server SERVING. Sets SITE_VARS (the --var flags for
# playbooks/examples/prechecks.yaml) and exports the secrets it reads.
start_sites() {
  : "${FIXTURE_CONSUL:?}" "${FIXTURE_GRPC:?}"
  export CONSUL_HTTP_TOKEN="acl-$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')"
  export DRCTL_DB_PASSWORD="pw-$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')"
  local instances='' i
  for i in 1 2 3; do
    instances+="${instances:+,}{\"node\": \"bak-node-$i\", \"id\": \"order-svc-$i\", \"checks\": {\"serfHealth\": \"passing\", \"service:order-svc-$i\": \"passing\"}}"
  done
  printf '{"datacenter": "bantian", "token": "%s", "index": 7, "mode": "normal", "delay_ms": 0, "services": {"order-svc": [%s]}}\n' \
    "$CONSUL_HTTP_TOKEN" "$instances" > "$WORK/consul.json"
  setsid "$FIXTURE_CONSUL" "$WORK/consul.json" "$WORK/consul.port" 600 </dev/null >/dev/null 2>&1 &
  STARTED_PIDS+=($!)
  setsid "$FIXTURE_GRPC" --port-file "$WORK/grpc.port" --lifetime 600 </dev/null >/dev/null 2>&1 &
  STARTED_PIDS+=($!)
  start_mariadb primary 1
  start_mariadb replica 2
  start_replication primary replica "$DRCTL_DB_PASSWORD"
  for _ in $(seq 100); do [ -s "$WORK/consul.port" ] && [ -s "$WORK/grpc.port" ] && break; sleep 0.05; done
  SITE_CONSUL="http://127.0.0.1:$(cat "$WORK/consul.port")"
  SITE_GRPC="127.0.0.1:$(cat "$WORK/grpc.port")"
  SITE_VARS=(--var "consul=$SITE_CONSUL" --var "db_port=$PORT_replica" --var "primary_db_port=$PORT_primary" --var "grpc_backup=$SITE_GRPC")
}
