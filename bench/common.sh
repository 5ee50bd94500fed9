# Shared by the benchmark scripts (sourced from the repository root): the binary under test,
# the test suites' server helpers (tests/cli/lib.sh: temp dir, free ports, stop by PID), and a
# median. Usage: . bench/common.sh "${1:-build}"
build=$(cd "${1:-build}" && pwd)
export DRCTL="$build/cli/drctl" SOURCE_DIR=$PWD FIXTURE_HTTP="$build/tests/drctl-fixture-http"
export FIXTURE_CONSUL="$build/tests/drctl-fixture-consul" FIXTURE_GRPC="$build/tests/drctl-fixture-grpc"
[ -x "$DRCTL" ] || { echo "build first: scripts/build" >&2; exit 1; }
set +eu
. tests/cli/lib.sh
set -e
mkdir -p bench/results
# fanout_targets: one gRPC fixture server listening on 200 ports (stopped on exit), so every
# check dials its own target; writes $WORK/fanout-200.yaml, 200 grpc_health checks.
fanout_targets() {
  setsid "$FIXTURE_GRPC" --port-file "$WORK/fanout.ports" --listeners 200 --lifetime 600 </dev/null >/dev/null 2>&1 &
  STARTED_PIDS+=($!)
  for _ in $(seq 100); do [ -s "$WORK/fanout.ports" ] && break; sleep 0.05; done
  {
    printf 'version: 1\nname: fanout-200\nchecks:\n'
    local i=0 port
    while read -r port; do i=$((i + 1)); printf '  - {name: g%d, grpc_health: {address: "127.0.0.1:%s", rpc_timeout: 5s}}\n' "$i" "$port"; done < "$WORK/fanout.ports"
  } > "$WORK/fanout-200.yaml"
  [ "$(grep -c grpc_health "$WORK/fanout-200.yaml")" = 200 ] || { echo "fan-out fixture did not start"; exit 1; }
}
median() { python3 -c 'import statistics,sys; print(round(statistics.median(float(x) for x in sys.argv[1:]), 3))' "$@"; }

# The test suites' etcd helpers (start_etcd, ...), which do not run under set -eu.
load_etcd_helpers() {
  set +eu
  . tests/cli/etcd.sh
  set -e
}
