# Shared helpers for the CLI suites: a private temp dir, real fixture servers started with
# setsid and stopped by PID on any exit, and assertions that count passes and failures.
set -u
: "${DRCTL:?DRCTL must point at the drctl binary}"
: "${SOURCE_DIR:?SOURCE_DIR must point at the source tree}"
export NO_COLOR=1

WORK=$(mktemp -d "${TMPDIR:-/tmp}/drctl-test.XXXXXX")
export XDG_STATE_HOME="$WORK/state"  # run journals stay in the test's own directory
STARTED_PIDS=()
PASSED=0
FAILED=0

cleanup() {
  for pid in "${STARTED_PIDS[@]}"; do
    kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null
  done
  for pid in "${STARTED_PIDS[@]}"; do
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
    kill -KILL -- "-$pid" 2>/dev/null || true
  done
  rm -rf "$WORK"
}
trap cleanup EXIT

pass() { PASSED=$((PASSED + 1)); echo "ok   - $1"; }
FAILED_NAMES=()
fail() { FAILED=$((FAILED + 1)); FAILED_NAMES+=("$1"); echo "FAIL - $1"; [ $# -gt 1 ] && printf '       %s\n' "${@:2}"; return 0; }

require_tool() {
  command -v "$1" >/dev/null 2>&1 && return 0
  if [ -n "${CI:-}" ]; then echo "missing $1 in CI: nothing may skip there"; exit 1; fi
  echo "skipped: $1 is not installed (run scripts/install-deps)"; exit 125
}

# run_drctl NAME ARGS...: runs drctl, keeps stdout/stderr in $WORK/NAME.{out,err}, sets RC.
run_drctl() {
  local name=$1; shift
  "$DRCTL" "$@" >"$WORK/$name.out" 2>"$WORK/$name.err" </dev/null
  RC=$?
}

expect_rc() {  # expect_rc DESCRIPTION WANTED
  if [ "$RC" -eq "$2" ]; then pass "$1 (exit $RC)"; else fail "$1: exit $RC, expected $2" "$(tail -5 "$WORK/$LAST.err" 2>/dev/null)"; fi
}

# check NAME EXPECTED_EXIT ARGS...: run_drctl and expect_rc in one.
check() {
  local name=$1 wanted=$2; shift 2
  LAST=$name
  run_drctl "$name" "$@"
  expect_rc "$name" "$wanted"
}

contains() {  # contains DESCRIPTION FILE TEXT
  if grep -qF -- "$3" "$2"; then pass "$1"; else fail "$1: '$3' not in $(basename "$2")" "$(head -c 600 "$2")"; fi
}

lacks() {  # lacks DESCRIPTION FILE TEXT
  if grep -qF -- "$3" "$2"; then fail "$1: '$3' found in $(basename "$2")"; else pass "$1"; fi
}

# start_fixture NAME SITE [EXTRA ARGS]: starts the fixture HTTP server; sets PORT_<NAME>.
start_fixture() {
  local name=$1 site=$2; shift 2
  : "${FIXTURE_HTTP:?FIXTURE_HTTP must point at drctl-fixture-http}"
  setsid "$FIXTURE_HTTP" --port-file "$WORK/$name.port" --site "$site" --lifetime 300 "$@" </dev/null >/dev/null 2>&1 &
  STARTED_PIDS+=($!)
  for _ in $(seq 100); do [ -s "$WORK/$name.port" ] && break; sleep 0.05; done
  [ -s "$WORK/$name.port" ] || { echo "fixture $name did not start"; exit 1; }
  printf -v "PORT_$name" '%s' "$(cat "$WORK/$name.port")"
}

# start_grpc NAME [ARGS]: starts the gRPC health fixture (tests/support/fixture_grpc_health.cpp);
# sets PORT_<NAME>.
start_grpc() {
  local name=$1; shift
  : "${FIXTURE_GRPC:?FIXTURE_GRPC must point at drctl-fixture-grpc}"
  setsid "$FIXTURE_GRPC" --port-file "$WORK/$name.port" --lifetime 300 "$@" </dev/null >"$WORK/$name.log" 2>&1 &
  STARTED_PIDS+=($!)
  for _ in $(seq 100); do [ -s "$WORK/$name.port" ] && break; sleep 0.05; done
  [ -s "$WORK/$name.port" ] || { echo "grpc fixture $name did not start: $(cat "$WORK/$name.log")"; exit 1; }
  printf -v "PORT_$name" '%s' "$(cat "$WORK/$name.port")"
}

# A free TCP port nobody listens on (for "connection refused").
closed_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }

# A port that accepts TCP and never says a word (a hung peer); sets SILENT_PORT.
start_silent_listener() {
  SILENT_PORT=$(closed_port)
  setsid /usr/bin/python3 -c 'import socket,time,sys; s=socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(16); time.sleep(300)' \
    "$SILENT_PORT" </dev/null >/dev/null 2>&1 &
  STARTED_PIDS+=($!)
  for _ in $(seq 50); do (exec 3<>"/dev/tcp/127.0.0.1/$SILENT_PORT") 2>/dev/null && return 0; sleep 0.05; done
  echo "the silent listener did not start"; exit 1
}

# is NAME PYTHON-EXPR EXPECTED: EXPR is evaluated with c = the first check of NAME's JSON report.
is() {
  local got
  got=$(/usr/bin/python3 -c 'import json,sys; c=json.load(open(sys.argv[1]))["checks"][0]; print(eval(sys.argv[2]))' "$WORK/$1.out" "$2" 2>&1)
  [ "$got" = "$3" ] && pass "$1: $2 == $3" || fail "$1: $2 is '$got', expected '$3'" "$(head -c 400 "$WORK/$1.out")"
}

# report_is NAME PYTHON-EXPR EXPECTED: like is, with r = NAME's whole JSON report and
# s = its steps by name (s["handoff"]["evidence"]["lost"]).
report_is() {
  local got
  got=$(/usr/bin/python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); s={x["name"]: x for x in r["steps"] + r["checks"]}; print(eval(sys.argv[2]))' \
    "$WORK/$1.out" "$2" 2>&1)
  [ "$got" = "$3" ] && pass "$1: $2 == $3" || fail "$1: $2 is '$got', expected '$3'" "$(head -c 600 "$WORK/$1.out")"
}

finish() {
  [ -n "${KEEP:-}" ] && cp -r "$WORK" "$KEEP"  # KEEP=DIR: keep the suite's files to look at
  echo "$PASSED passed, $FAILED failed"
  # CI keeps only the tail of a long log: name what failed where it is read.
  [ "$FAILED" -eq 0 ] || printf 'failed: %s\n' "${FAILED_NAMES[@]}"
  [ "$FAILED" -eq 0 ]
}
