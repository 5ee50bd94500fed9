#!/usr/bin/env bash
# Benchmark (not a test) of issue 16: moving the primary role of ONE MariaDB pair (A, B on
# 127.0.0.1, GTID replication) back and forth while an application writes, by three tools in
# one run of this script:
#  1. drctl `mysql_switchover` (SWITCHES runs, default 20, A -> B, B -> A, ...): freeze_ms from
#     its JSON report (read_only ON on the old primary until the candidate is writable);
#  2. MHA's online switch, run as its users do: `masterha_master_switch --master_state=alive
#     --orig_master_is_new_slave --interactive=0`, MHA_SWITCHES runs (default 20) each way:
#     bare (MHA's own freeze) and with a master_ip_online_change_script
#     (bench/peers/mha_online_change: the sample MHA ships, filled in), through
#     bench/peers/mha_master_switch (MHA unchanged but for its known version-parsing bug, which
#     stops it at once against "10.11.x-MariaDB-0+deb12u1"). Its freeze: just before
#     read_only=1 on the old master until just after read_only=0 on the new one (timestamps
#     printed by the wrapper and the script). MHA needs no SSH for this switch (only for
#     failover and its monitor), so none is set up;
#  3. the floor: a hand-typed sequence of 4 `mariadb` client calls (read_only=1 on the primary;
#     read @@gtid_binlog_pos; MASTER_GTID_WAIT on the replica; STOP SLAVE, RESET SLAVE ALL,
#     read_only=0), SWITCHES runs; freeze = first call's start to last call's return. The old
#     primary is re-pointed (GTID) after each, outside the timed window.
# The application (bench/peers/db_writer.pl) inserts RATE rows/s (default 200) with ids
# 1, 2, 3, ... into bench.w as an account without READ_ONLY ADMIN, always on whichever server
# is writable (retrying 1290 on the other), and logs every acknowledged id with its time. The
# same yardsticks for all: the writer's gap from its last acknowledgement by the old primary to
# its first by the new one, and its longest gap between two acknowledgements from the tool's
# process start to its end. After every switch, every id
# acknowledged so far is on the new primary; at the end the writer stops, the replica catches
# up, every acknowledged id is on the final primary and CHECKSUM TABLE agrees on both.
# Usage: bench/db_switch.sh [BUILD_DIR]   (writes bench/results/db-switch.{txt,json}; needs
#        mariadb-server, and mha4mysql-manager/-node for part 2, else it says why and skips it;
#        SWITCHES, MHA_SWITCHES, RATE; ~2.5 minutes)
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/common.sh "${1:-build}"
perl -MDBI -MDBD::mysql -e 1 2>/dev/null || { echo "the writer needs Perl's DBD::mysql: scripts/install-deps" >&2; exit 1; }
set +eu
. tests/cli/mariadb.sh
set -e
# The binary under test and its modules copied first: a rebuild during the run changes nothing.
mkdir -p "$WORK/drctl/cli"
cp "$DRCTL" "$WORK/drctl/cli/drctl"
cp -r "$build/modules" "$WORK/drctl/modules"
export DRCTL="$WORK/drctl/cli/drctl" DRCTL_MODULE_DIR="$WORK/drctl/modules"
tree=$(git describe --always --dirty 2>/dev/null || echo unknown)
switches=${SWITCHES:-20} mha_switches=${MHA_SWITCHES:-20} rate=${RATE:-200}
now_us() { echo "${EPOCHREALTIME/./}"; }  # bash's clock, the writer's too (wall, microseconds)
secret() { openssl rand -hex 12; }
repl_pw=$(secret) dr_pw=$(secret) app_pw=$(secret) mha_pw=$(secret)
printf %s "$repl_pw" > "$WORK/repl.pw"
printf %s "$dr_pw" > "$WORK/dr.pw"
chmod 600 "$WORK"/*.pw
results=bench/results/db-switch
rm -rf "$results"; mkdir -p "$results"  # every drctl report, MHA's logs, the writer's log
: > "$results-runs.txt"
fail() { echo "db_switch: $*" >&2; exit 1; }
load_at_start=$(cut -d' ' -f1-3 /proc/loadavg)

# ---- one pair: A primary, B its read-only replica; drctl's account, the application's, MHA's
start_mariadb a 1
start_mariadb b 2
start_replication a b "$repl_pw"
sql b "SET GLOBAL read_only = 1"
sql a "CREATE USER 'dr'@'127.0.0.1' IDENTIFIED BY '$dr_pw';
  GRANT READ_ONLY ADMIN, PROCESS, RELOAD, CONNECTION ADMIN, REPLICATION SLAVE ADMIN, SLAVE MONITOR,
    BINLOG MONITOR, BINLOG ADMIN, SELECT ON *.* TO 'dr'@'127.0.0.1';
  GRANT CREATE, INSERT ON drctl.* TO 'dr'@'127.0.0.1';
  CREATE DATABASE bench;
  CREATE TABLE bench.w (id BIGINT PRIMARY KEY, port INT NOT NULL, at TIMESTAMP(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6));
  CREATE USER 'app'@'127.0.0.1' IDENTIFIED BY '$app_pw'; GRANT SELECT, INSERT ON bench.* TO 'app'@'127.0.0.1';
  CREATE USER 'mha'@'127.0.0.1' IDENTIFIED BY '$mha_pw'; GRANT ALL PRIVILEGES ON *.* TO 'mha'@'127.0.0.1' WITH GRANT OPTION;"
port_of() { local v="PORT_$1"; echo "${!v}"; }
other() { [ "$1" = a ] && echo b || echo a; }
# caught_up REPLICA PRIMARY: the replica has applied everything the primary has logged.
caught_up() {
  local pos
  pos=$(sql "$2" "SELECT @@gtid_binlog_pos")
  [ "$(sql "$1" "SELECT MASTER_GTID_WAIT('$pos', 10)")" = 0 ] || fail "$1 did not catch up with $2 ($pos)"
}
caught_up b a

# The client option file the hand-typed sequence uses (as an operator keeps ~/.my.cnf).
printf '[client]\nhost=127.0.0.1\nuser=dr\npassword=%s\n' "$dr_pw" > "$WORK/dr.cnf"
chmod 600 "$WORK/dr.cnf"

# ---- the application
DB_WRITER_PASSWORD=$app_pw setsid perl bench/peers/db_writer.pl "$PORT_a" "$PORT_b" app "$rate" "$results/writer.log" \
  </dev/null >/dev/null 2>"$WORK/writer.err" &
STARTED_PIDS+=($!)
writer=$!
sleep 1
[ -s "$results/writer.log" ] || fail "the writer acknowledged nothing: $(cat "$WORK/writer.err")"
last_acked() { tail -n 1 "$results/writer.log" | cut -d' ' -f1; }
# rpo_check TOOL RUN NEW: every id acknowledged up to now is on the new primary (ids are
# contiguous: the writer retries an id until it is acknowledged).
rpo_check() {
  local last have
  last=$(last_acked)
  have=$(sql "$3" "SELECT COUNT(*) FROM bench.w WHERE id <= $last")
  [ "$have" = "$last" ] || fail "$1 run $2: $((last - have)) acknowledged writes missing on the new primary $3 (ids <= $last: $have present)"
}
# record TOOL RUN FROM TO START_US END_US FREEZE_MS [MHA: FREEZE AFTER ITS SCRIPT'S WAITS, MS]
record() { echo "$*" >> "$results-runs.txt"; }

# ---- 1. drctl
cat > "$WORK/db-switch.yaml" <<YAML
version: 1
name: db-switch
vars: {a: "$PORT_a", b: "$PORT_b"}
steps:
  - name: db
    mysql_switchover:
      primary: {port: "\${vars.a}", user: dr, password_file: $WORK/dr.pw}
      candidate: {port: "\${vars.b}", user: dr, password_file: $WORK/dr.pw}
      replication: {user: repl, password_file: $WORK/repl.pw}
YAML
from=a
for i in $(seq "$switches"); do
  to=$(other "$from")
  start=$(now_us)
  rc=0
  "$DRCTL" -o json run --yes --var a="$(port_of "$from")" --var b="$(port_of "$to")" "$WORK/db-switch.yaml" \
    > "$results/drctl-$i.json" 2> "$results/drctl-$i.err" || rc=$?
  end=$(now_us)
  if [ "$rc" -ne 0 ]; then
    fail "drctl run $i ($from -> $to) exited $rc (report in $results/drctl-$i.json): $(tail -n 3 "$results/drctl-$i.err")"
  fi
  freeze=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["steps"][0]["evidence"]["freeze_ms"])' "$results/drctl-$i.json")
  record drctl "$i" "$from" "$to" "$start" "$end" "$freeze"
  rpo_check drctl "$i" "$to"
  from=$to
done

# ---- 3. the hand-typed sequence (the floor)
client() { mariadb --defaults-file="$WORK/dr.cnf" -P "$1" -N -B -e "$2"; }
for i in $(seq "$switches"); do
  to=$(other "$from")
  p=$(port_of "$from") c=$(port_of "$to")
  start=$(now_us)
  client "$p" "SET GLOBAL read_only = 1"
  pos=$(client "$p" "SELECT @@gtid_binlog_pos")
  waited=$(client "$c" "SELECT MASTER_GTID_WAIT('$pos', 5)")
  client "$c" "STOP SLAVE; RESET SLAVE ALL; SET GLOBAL read_only = 0"
  end=$(now_us)
  [ "$waited" = 0 ] || fail "hand run $i: MASTER_GTID_WAIT('$pos') on $to returned $waited"
  record hand "$i" "$from" "$to" "$start" "$end" "$(( (end - start) / 1000 )).$(printf %03d $(( (end - start) % 1000 )))"
  rpo_check hand "$i" "$to"
  # Outside the window: the old primary replicates from the new one, by GTID.
  sql "$from" "STOP SLAVE; SET GLOBAL gtid_slave_pos = @@gtid_binlog_pos;
    CHANGE MASTER TO MASTER_HOST='127.0.0.1', MASTER_PORT=$c, MASTER_USER='repl', MASTER_PASSWORD='$repl_pw',
    MASTER_USE_GTID=slave_pos, MASTER_CONNECT_RETRY=1; START SLAVE"
  caught_up "$from" "$to"
  from=$to
done

# ---- 2. MHA
# Two ways MHA's users run it: bare (MHA's own freeze: read_only=1 on the old master, wait for
# the new one to apply up to the old one's binlog position, read_only=0 on the new one), and
# with the online-change script that takes the application off the old master first.
mha_status="ran"
if [ "$mha_switches" -eq 0 ]; then
  mha_status="not run (MHA_SWITCHES=0)"
elif ! command -v masterha_master_switch >/dev/null; then
  mha_status="not run: masterha_master_switch is not installed (apt-get install mha4mysql-manager mha4mysql-node)"
else
  mkdir -p "$WORK/mha"
  for variant in mha mha_script; do
    {
      printf '[server default]\nuser=mha\npassword=%s\nrepl_user=repl\nrepl_password=%s\n' "$mha_pw" "$repl_pw"
      printf 'manager_workdir=%s\nremote_workdir=%s\n' "$WORK/mha" "$WORK/mha/remote"
      [ "$variant" = mha_script ] && printf 'master_ip_online_change_script=%s\n' "$PWD/bench/peers/mha_online_change"
      printf '[server1]\nhostname=127.0.0.1\nport=%s\ncandidate_master=1\nmaster_binlog_dir=%s\n' "$PORT_a" "$WORK/a"
      printf '[server2]\nhostname=127.0.0.1\nport=%s\ncandidate_master=1\nmaster_binlog_dir=%s\n' "$PORT_b" "$WORK/b"
    } > "$WORK/mha/$variant.cnf"
    chmod 600 "$WORK/mha/$variant.cnf"
    for i in $(seq "$mha_switches"); do
      to=$(other "$from")
      start=$(now_us)
      rc=0
      MHA_APP_USER=app MHA_BENCH_TIMES=1 bench/peers/mha_master_switch --master_state=alive --conf="$WORK/mha/$variant.cnf" \
        --new_master_host=127.0.0.1 --new_master_port="$(port_of "$to")" --orig_master_is_new_slave --interactive=0 \
        > "$results/$variant-$i.log" 2>&1 || rc=$?
      end=$(now_us)
      if [ "$rc" -ne 0 ]; then
        mha_status="$variant failed at run $i ($from -> $to), exit $rc: $(grep -m1 -E '\[error\]' "$results/$variant-$i.log" || tail -n 1 "$results/$variant-$i.log")"
        echo "db_switch: MHA $mha_status" >&2
        break 2
      fi
      # The freeze, as drctl's: just before read_only=1 on the old master until just after
      # read_only=0 on the new one (the first of each: with the script, the script's). With the
      # script, also from its kill on (the end of the sample's 0.5 s wait for running queries):
      # what MHA itself then takes.
      read -r freeze own < <(awk '$1 == "FREEZE-START" && !s {s = $2} $1 == "KILLED" {k = $2} $1 == "WRITABLE" && !e {e = $2}
        END {if (!s || !e) exit 1; printf "%.3f %s\n", (e - s) * 1000, k ? sprintf("%.3f", (e - k) * 1000) : ""}' "$results/$variant-$i.log") \
        || fail "$variant run $i: no FREEZE-START/WRITABLE times in $results/$variant-$i.log"
      record "$variant" "$i" "$from" "$to" "$start" "$end" "$freeze" $own
      rpo_check "$variant" "$i" "$to"
      caught_up "$from" "$to"
      from=$to
    done
  done
fi

# ---- the end: writer stopped, replica caught up, nothing acknowledged lost, same checksums
kill -TERM -- "-$writer"
for _ in $(seq 100); do kill -0 "$writer" 2>/dev/null || break; sleep 0.05; done
pids=(); for pid in "${STARTED_PIDS[@]}"; do [ "$pid" = "$writer" ] || pids+=("$pid"); done; STARTED_PIDS=("${pids[@]}")
[ -s "$WORK/writer.err" ] && fail "the writer failed: $(cat "$WORK/writer.err")"
primary=$from replica=$(other "$from")
caught_up "$replica" "$primary"
sql "$primary" "SELECT id FROM bench.w" > "$WORK/present.txt"
checksum_primary=$(sql "$primary" "CHECKSUM TABLE bench.w" | cut -f2)
checksum_replica=$(sql "$replica" "CHECKSUM TABLE bench.w" | cut -f2)
read_only_primary=$(sql "$primary" "SELECT @@read_only")
read_only_replica=$(sql "$replica" "SELECT @@read_only")
machine="$(date -u +%FT%TZ), $(nproc) cores, load average at the start $load_at_start; $(sql a 'SELECT VERSION()'); $("$DRCTL" version | head -n 1), built from $tree; MHA $(dpkg-query -W -f='${Version}' mha4mysql-manager 2>/dev/null || echo absent)"

python3 - "$results/writer.log" "$results-runs.txt" "$WORK/present.txt" "$rate" "$mha_status" \
  "$checksum_primary" "$checksum_replica" "$read_only_primary" "$read_only_replica" "$results.json" "$machine" "$PORT_a" "$PORT_b" <<'PY' | tee "$results.txt"
import json, os, statistics, sys
log, runs_path, present_path, rate, mha_status, ck_p, ck_r, ro_p, ro_r, out, machine, port_a, port_b = sys.argv[1:]
port = {"a": port_a, "b": port_b}
acks = [(int(l.split()[0]), int(l.split()[1]), l.split()[2]) for l in open(log)]
present = {int(x) for x in open(present_path)}
lost = [i for i, _, _ in acks if i not in present]
times = [t for _, t, _ in acks]
gaps = [(b - a) / 1000 for a, b in zip(times, times[1:])]
runs = {}
for line in open(runs_path):
    tool, i, frm, to, start, end, freeze, *own = line.split()
    start, end = int(start), int(end)
    # The writer's longest gap between two acknowledgements around the switch.
    gap = max((b - a) / 1000 for a, b in zip(times, times[1:]) if b >= start and a <= end)
    # The switch as the writer saw it: its last acknowledgement by the old primary to its first
    # by the new one.
    first_new = next(k for k, x in enumerate(acks) if x[1] >= start and x[2] == port[to])
    switch_gap = (acks[first_new][1] - acks[first_new - 1][1]) / 1000
    assert acks[first_new - 1][2] == port[frm], (tool, i)
    runs.setdefault(tool, []).append({"run": int(i), "from": frm, "to": to, "freeze_ms": float(freeze),
                                      "writer_gap_ms": gap, "switch_gap_ms": switch_gap, "wall_ms": (end - start) / 1000,
                                      **({"after_script_wait_ms": float(own[0])} if own else {})})
    if tool == "drctl":  # the step's phases, from its report
        e = json.load(open(f"{os.path.dirname(log)}/drctl-{i}.json"))["steps"][0]["evidence"]
        runs[tool][-1].update({k: e[k] for k in ("preconditions_ms", "read_only_set_ms", "catchup_ms", "repoint_ms", "total_ms")})
med = statistics.median
summary = {}
names = {"drctl": "drctl mysql_switchover", "mha": "MHA online switch",
         "mha_script": "MHA + online-change script", "hand": "hand-typed mariadb calls (floor)"}
print(machine)
print(f"One MariaDB pair on 127.0.0.1, the writer at {rate} inserts/s ({len(acks)} acknowledged; steady gap median {med(gaps):.2f} ms)")
print(f"{'':<40} {'freeze':^20} {'writer: old->new':^20} {'writer: longest':^20} {'process':>9}")
print(f"{'tool':<36} {'n':>3} {'median':>10} {'max':>9} {'median':>10} {'max':>9} {'median':>10} {'max':>9} {'median':>9}")
for tool in ("drctl", "mha", "mha_script", "hand"):
    r = runs.get(tool)
    if not r:
        continue
    s = {k: (med(x[k] for x in r), max(x[k] for x in r)) for k in ("freeze_ms", "switch_gap_ms", "writer_gap_ms", "wall_ms")}
    summary[tool] = {"runs": len(r), **{f"{k}_median": v[0] for k, v in s.items()}, **{f"{k}_max": v[1] for k, v in s.items()}}
    print(f"{names[tool]:<36} {len(r):>3}" + "".join(f" {s[k][0]:>7.2f} ms {s[k][1]:>6.2f} ms" for k in ("freeze_ms", "switch_gap_ms", "writer_gap_ms"))
          + f" {s['wall_ms'][0]:>6.0f} ms")
d = summary["drctl"]
for peer in ("mha", "mha_script", "hand"):
    if peer in summary:
        p = summary[peer]
        print(f"{peer} / drctl (medians): freeze {p['freeze_ms_median'] / d['freeze_ms_median']:.2f}x, "
              f"writer old->new {p['switch_gap_ms_median'] / d['switch_gap_ms_median']:.2f}x, "
              f"writer longest gap {p['writer_gap_ms_median'] / d['writer_gap_ms_median']:.2f}x")
slow = [r for r in runs["drctl"] if r["freeze_ms"] > 20]
for r in slow:
    print(f"  drctl run {r['run']}: freeze {r['freeze_ms']:.1f} ms, of which SET GLOBAL read_only took {r['read_only_set_ms']:.1f} ms"
          f" (it waits for commits in flight); the writer's longest gap around it {r['writer_gap_ms']:.1f} ms")
print(f"MHA: {mha_status}")
if "mha_script" in runs:
    own = [x["after_script_wait_ms"] for x in runs["mha_script"]]
    summary["mha_script"]["after_script_wait_ms_median"] = med(own)
    print(f"  MHA + script, its freeze from the end of the script's 0.5 s wait for running queries "
          f"(its kill, then MHA: read_only=1, the catch-up, then the script started again: read_only=0): median {med(own):.2f} ms, max {max(own):.2f} ms")
print(f"acknowledged writes lost: {len(lost)}{' (ids ' + ' '.join(map(str, lost[:20])) + ')' if lost else ''}; "
      f"CHECKSUM TABLE bench.w primary {ck_p}, replica {ck_r}: {'equal' if ck_p == ck_r else 'DIFFERENT'}; "
      f"read_only primary {ro_p}, replica {ro_r}")
print(f"target: drctl median freeze < 20 ms {'met' if d['freeze_ms_median'] < 20 else 'NOT met'}"
      + "".join(f", below {names[m]}'s {'yes' if d['freeze_ms_median'] < summary[m]['freeze_ms_median'] else 'NO'}"
                for m in ("mha", "mha_script") if m in summary))
json.dump({"rate": int(rate), "acknowledged": len(acks), "lost": lost, "checksums_equal": ck_p == ck_r,
           "mha_status": mha_status, "summary": summary, "runs": runs}, open(out, "w"), indent=1)
sys.exit(1 if lost or ck_p != ck_r or ro_p != "0" or ro_r != "1" else 0)
PY
