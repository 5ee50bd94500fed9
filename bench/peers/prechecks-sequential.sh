#!/usr/bin/env bash
# The peer: the three pre-switch checks as SREs script them today, one after another
# (as in the issue): curl | jq for Consul, the mysql client with grep/awk for lag, and a
# separate gRPC health probe process. Exit 0 when all pass.
# Usage: prechecks-sequential.sh CONSUL_URL DB_PORT GRPC_ADDR   (token and password from the
# environment; CONSUL_DC, default bantian)
set -u
consul=$1 db_port=$2 grpc=$3
passing=$(curl -s -H "X-Consul-Token: ${CONSUL_HTTP_TOKEN:-}" "$consul/v1/health/service/order-svc?passing&dc=${CONSUL_DC:-bantian}" | jq length)
[ "${passing:-0}" -ge 3 ] || { echo "consul: $passing passing"; exit 1; }
lag=$(mariadb -h 127.0.0.1 -P "$db_port" -u monitor -p"$DRCTL_DB_PASSWORD" -e 'SHOW SLAVE STATUS\G' | grep Seconds_Behind_Master | awk '{print $2}')
[ "${lag:-0}" -lt 200 ] || { echo "mysql: lag $lag"; exit 1; }
"$DRCTL" probe grpc --addr "$grpc" --rpc-timeout 5s >/dev/null || { echo "grpc: not serving"; exit 1; }
