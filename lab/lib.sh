# Shared by lab/up, lab/down, lab/status and lab/run: where the lab lives and how its
# processes are tracked. Every process is started with setsid, its PID in $LAB/pids/NAME.pid,
# so lab/down stops exactly what lab/up started (its process group), by PID.
LAB=${DRCTL_LAB_STATE:-${TMPDIR:-/tmp}/drctl-lab}
LAB_SOURCE=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
LAB_BUILD=${DRCTL_BUILD:-$LAB_SOURCE/build}
DRCTL=${DRCTL:-$LAB_BUILD/cli/drctl}

# The test suites' server helpers (etcd, MariaDB, nginx) work in $WORK and record PIDs in
# STARTED_PIDS; in the lab, $WORK is the lab's state dir and the PIDs are written to files.
WORK=$LAB
STARTED_PIDS=()
closed_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }

# remember NAME: the last process started (STARTED_PIDS' last entry) is NAME.
remember() { mkdir -p "$LAB/pids"; echo "${STARTED_PIDS[-1]}" > "$LAB/pids/$1.pid"; }

# alive NAME: its process is running.
alive() { [ -f "$LAB/pids/$1.pid" ] && kill -0 "$(cat "$LAB/pids/$1.pid")" 2>/dev/null; }

# stop NAME: TERM its process group, KILL it after 3 s.
stop() {
  local pid
  [ -f "$LAB/pids/$1.pid" ] || return 0
  pid=$(cat "$LAB/pids/$1.pid")
  kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true  # gone already: fine
  for _ in $(seq 60); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
  kill -KILL -- "-$pid" 2>/dev/null || true
  rm -f "$LAB/pids/$1.pid"
}

# The lab's facts (ports, topology), written by lab/up: KEY=VALUE lines, sourced.
lab_env() { [ -f "$LAB/lab.env" ] && . "$LAB/lab.env"; }
