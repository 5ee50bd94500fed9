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
median() { python3 -c 'import statistics,sys; print(round(statistics.median(float(x) for x in sys.argv[1:]), 3))' "$@"; }
