#!/usr/bin/env bash
# cache_warmup and `drctl cache` against real etcd and a real HTTP server for the hooks: a
# full warmup, versions and keep, a pinned revision, rollback, concurrent readers, and the
# faults: file-size limit mid-write, an unusable dir, etcd frozen mid-read, a second writer,
# a hook that never turns ready, corrupt and truncated files.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/etcd.sh"
require_tool etcd
require_tool etcdctl
require_tool curl
LOAD="$SOURCE_DIR/tests/support/etcd_load.py"

start_etcd S 1
python3 "$LOAD" "$ETCD_S" /cfg/ 500 200
ectl S put /cfg/route '{"site":"bantian"}' >/dev/null
start_fixture svc1 b
start_fixture svc2 b
source_conn="{endpoints: [$ETCD_S]}"
dir="$WORK/cache"

warmup() {  # warmup NAME EXIT EXTRA-SPEC [more steps]
  printf 'version: 1\nname: %s\nsteps:\n  - name: cache\n    timeout: 30s\n    cache_warmup: {source: %s, prefix: /cfg/, dir: %s%s}\n%s' \
    "$1" "$source_conn" "${DIR:-$dir}" "$3" "${4:-}" > "$WORK/$1.yaml"
  check "$1" "$2" run --yes --output json "$WORK/$1.yaml"
}
only_snapshot_files() {  # only_snapshot_files NAME DIR: nothing but .lock, current and snapshot-*.drs
  local stray
  stray=$(ls -A "$2" | grep -vE '^(\.lock|current|snapshot-[0-9]{6}\.drs)$' || true)
  [ -z "$stray" ] && pass "$1: no temporary file left in the directory" || fail "$1: left behind: $stray"
}

hooks=", hooks: [{name: svc1, url: \"http://127.0.0.1:$PORT_svc1/warmup?ms=200\", ready_url: \"http://127.0.0.1:$PORT_svc1/ready\", interval: 50ms},
                 {name: svc2, url: \"http://127.0.0.1:$PORT_svc2/warmup?ms=100\", ready_url: \"http://127.0.0.1:$PORT_svc2/ready\", interval: 50ms, ready_expect: {status: 200, body_contains: ready}}]"
warmup full 0 "$hooks"
report_is full 's["cache"]["outputs"]["keys"]' 501
report_is full 's["cache"]["outputs"]["version"]' 000001
report_is full 's["cache"]["outputs"]["revision"] == s["cache"]["evidence"]["revision"]' True
report_is full '[h["name"] for h in s["cache"]["evidence"]["hooks"]]' "['svc1', 'svc2']"
report_is full 's["cache"]["evidence"]["hooks"][0]["ready_ms"] >= 200 and s["cache"]["evidence"]["hooks"][0]["polls"] >= 2' True
[ "$(readlink "$dir/current")" = snapshot-000001.drs ] && pass "full: current -> snapshot-000001.drs" || fail "full: current -> $(readlink "$dir/current")"
[ "$(stat -c %a "$dir/snapshot-000001.drs")" = 640 ] && pass "full: snapshot mode 0640" || fail "full: mode $(stat -c %a "$dir/snapshot-000001.drs")"
check verify-dir 0 cache verify "$dir"
check get 0 cache get "$dir" /cfg/route
contains get-value "$WORK/get.out" '{"site":"bantian"}'
check get-missing 1 cache get "$dir" /cfg/nope
check list 0 cache list "$dir" --prefix /cfg/0000001
[ "$(wc -l < "$WORK/list.out")" = 10 ] && pass "list: 10 keys under /cfg/0000001" || fail "list: $(wc -l < "$WORK/list.out") lines"
check info 0 cache info "$dir" --output json
is_json() { python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$WORK/$1.out" "$2"; }
[ "$(is_json info 'd["versions"][0]["keys"]')" = 501 ] && pass "info: 501 keys" || fail "info: $(head -c 300 "$WORK/info.out")"
check diff-same 0 cache diff "$dir" --endpoints "$ETCD_S"

# Versions: keep 2 of them; a pinned revision reads the past.
r_before=$(etcd_revision S)
ectl S put /cfg/route '{"site":"futian"}' >/dev/null
check diff-changed 1 cache diff "$dir" --endpoints "$ETCD_S"
contains diff-changed-names-key "$WORK/diff-changed.out" "changed /cfg/route"
warmup second 0 ", keep: 2"
warmup third 0 ", keep: 2"
[ "$(ls "$dir" | grep -c '^snapshot-')" = 2 ] && pass "keep: 2 versions left" || fail "keep: $(ls "$dir")"
[ "$(readlink "$dir/current")" = snapshot-000003.drs ] && pass "keep: current is the newest" || fail "keep: current -> $(readlink "$dir/current")"
warmup pinned 0 ", revision: $r_before"
check get-pinned 0 cache get "$dir" /cfg/route
contains get-pinned-old-value "$WORK/get-pinned.out" '{"site":"bantian"}'

# Rollback: a later step fails, current goes back.
before=$(readlink "$dir/current")
warmup rolled-back 2 "" "  - name: breaks
    read_only: true
    exec: {argv: [\"false\"]}
"
[ "$(readlink "$dir/current")" = "$before" ] && pass "rolled-back: current points at $before again" || fail "rolled-back: current -> $(readlink "$dir/current")"

# Readers during switches never see a partial file: verify through `current` while 8 runs switch it.
( for _ in $(seq 400); do "$DRCTL" cache verify "$dir/current" >/dev/null 2>"$WORK/reader.err" || echo bad; done > "$WORK/reader.log" ) &
reader=$!
for i in $(seq 8); do warmup "switch-$i" 0 ", keep: 3" >/dev/null; done
wait "$reader"
[ ! -s "$WORK/reader.log" ] && pass "readers: 400 verifications through current during 8 switches, none bad" \
  || fail "readers: $(wc -l < "$WORK/reader.log") bad reads" "$(cat "$WORK/reader.err")"

# Faults --------------------------------------------------------------------------
before=$(readlink "$dir/current")
# The disk fills up mid-write (a 64 KiB file-size limit; the snapshot is ~130 KiB).
printf 'version: 1\nname: full-disk\nsteps:\n  - name: cache\n    cache_warmup: {source: %s, prefix: /cfg/, dir: %s}\n' "$source_conn" "$dir" > "$WORK/full-disk.yaml"
( ulimit -f 64; "$DRCTL" run --yes --output json "$WORK/full-disk.yaml" >"$WORK/full-disk.out" 2>"$WORK/full-disk.err" ); RC=$?; LAST=full-disk
expect_rc "full-disk: the write fails" 2
contains full-disk-says-why "$WORK/full-disk.out" "File too large"
[ "$(readlink "$dir/current")" = "$before" ] && pass "full-disk: current untouched" || fail "full-disk: current -> $(readlink "$dir/current")"
only_snapshot_files full-disk "$dir"
check full-disk-verify 0 cache verify "$dir"

# An unusable directory.
touch "$WORK/a-file"
DIR="$WORK/a-file/cache" warmup bad-dir 2 ""
contains bad-dir-names-dir "$WORK/bad-dir.out" "$WORK/a-file/cache"

# A second writer: the directory's lock is held (flock(1), the same lock drctl takes).
flock "$dir/.lock" sleep 3 &
holder=$!
sleep 0.2
warmup locked 2 ""
contains locked-message "$WORK/locked.out" "is being written by another run"
wait "$holder"
[ "$(readlink "$dir/current")" = "$before" ] && pass "locked: current untouched" || fail "locked: current -> $(readlink "$dir/current")"

# etcd freezes mid-read (SIGSTOP): the step times out, nothing is switched or left behind.
# (10-key pages over 30,000 keys take seconds to read: etcd counts the rest on every page.)
python3 "$LOAD" "$ETCD_S" /cfg/big/ 30000 100
printf 'version: 1\nname: frozen\nsteps:\n  - name: cache\n    timeout: 3s\n    cache_warmup: {source: %s, prefix: /cfg/, dir: %s, page_size: 10}\n' "$source_conn" "$dir" > "$WORK/frozen.yaml"
"$DRCTL" run --yes --output json "$WORK/frozen.yaml" >"$WORK/frozen.out" 2>"$WORK/frozen.err" &
run_pid=$!
# Freeze it once the read has begun (the new snapshot is open in dir: an O_TMPFILE, or a
# .snapshot- file without one), however long drctl took to start (under ASan, seconds).
for _ in $(seq 600); do
  ls -l "/proc/$run_pid/fd" 2>/dev/null | grep -qE -- "-> $dir/(#|\.snapshot-)" && break
  sleep 0.02
done
sleep 0.2
kill -STOP "$ETCD_PID_S_1"
wait "$run_pid"; RC=$?; LAST=frozen
kill -CONT "$ETCD_PID_S_1"
expect_rc "frozen: etcd stops answering mid-read" 2
report_is frozen 's["cache"]["status"]' timeout
[ "$(readlink "$dir/current")" = "$before" ] && pass "frozen: current untouched" || fail "frozen: current -> $(readlink "$dir/current")"
only_snapshot_files frozen "$dir"
ectl S del /cfg/big/ --prefix >/dev/null

# A hook whose ready_url never turns ready: timeout, naming the hook; current switched back.
warmup hook-never-ready 2 ", hooks: [{name: stuck-svc, url: \"http://127.0.0.1:$PORT_svc1/warmup\", ready_url: \"http://127.0.0.1:$PORT_svc1/status/503\", interval: 50ms, timeout: 500ms}]"
report_is hook-never-ready 's["cache"]["status"]' timeout
contains hook-never-ready-names-hook "$WORK/hook-never-ready.out" "hook stuck-svc: http://127.0.0.1:$PORT_svc1/status/503 not ready after"
[ "$(readlink "$dir/current")" = "$before" ] && pass "hook-never-ready: current switched back" || fail "hook-never-ready: current -> $(readlink "$dir/current")"

# Corrupt and truncated files: verify fails and says where.
cp "$dir/$before" "$WORK/flipped.drs"
python3 - "$WORK/flipped.drs" <<'PY'
import sys
data = bytearray(open(sys.argv[1], "rb").read())
data[len(data) // 3] ^= 0x01
open(sys.argv[1], "wb").write(data)
PY
check verify-flipped 1 cache verify "$WORK/flipped.drs"
contains verify-flipped-names-entry "$WORK/verify-flipped.out" "checksum mismatch"
contains verify-flipped-names-offset "$WORK/verify-flipped.out" "at offset"
head -c 5000 "$dir/$before" > "$WORK/truncated.drs"
check verify-truncated 1 cache verify "$WORK/truncated.drs"
contains verify-truncated-says-so "$WORK/verify-truncated.out" "truncated"
check verify-dir-still-sound 0 cache verify "$dir"

# Corrupt files the readers used to trust (issue 15, item 14): get, list, diff and info refuse
# them with 65 and one line naming the file and what is wrong; never a crash (139), never a
# wrong answer (an empty list with 0, "no key" for a key that is there).
corrupt() {  # corrupt NAME PYTHON: a copy of the current version in $WORK/NAME, changed by PYTHON
  mkdir -p "$WORK/$1"
  cp "$dir/$before" "$WORK/$1/snapshot-000001.drs"
  ln -sfn snapshot-000001.drs "$WORK/$1/current"
  python3 - "$WORK/$1/snapshot-000001.drs" "$2" <<'PY'
import struct, sys
data = bytearray(open(sys.argv[1], "rb").read())
key_count, = struct.unpack_from("<Q", data, 32)
index_offset, = struct.unpack_from("<Q", data, 56)
middle = index_offset + 8 * (key_count // 2)  # the slot every binary search reads first
exec(sys.argv[2])
open(sys.argv[1], "wb").write(data)
PY
}
refuses() {  # refuses NAME WHAT: get, list, diff, info of $WORK/NAME: 65, one line naming it and WHAT
  local file="$WORK/$1/snapshot-000001.drs" cmd
  for cmd in get list diff info; do
    case $cmd in
      get) check "$1-get" 65 cache get "$WORK/$1" /cfg/route ;;
      list) check "$1-list" 65 cache list "$WORK/$1" ;;
      diff) check "$1-diff" 65 cache diff "$WORK/$1" --endpoints "$ETCD_S" ;;
      info) check "$1-info" 65 cache info "$WORK/$1" ;;
    esac
    [ "$(wc -l < "$WORK/$1-$cmd.err")" = 1 ] && pass "$1-$cmd: one line on stderr" \
      || fail "$1-$cmd: stderr is not one line" "$(head -c 600 "$WORK/$1-$cmd.err")"
    contains "$1-$cmd: names the file" "$WORK/$1-$cmd.err" "$file: "
    contains "$1-$cmd: says what is wrong" "$WORK/$1-$cmd.err" "$2"
    contains "$1-$cmd: says it is corrupt" "$WORK/$1-$cmd.err" "(corrupt snapshot: refused)"
  done
  check "$1-verify" 1 cache verify "$WORK/$1"
}
corrupt key-count-bit-61 'data[32 + 7] ^= 0x20'  # key_count * 8 wraps around to the index's size
refuses key-count-bit-61 "damaged header: key_count 2305843009213694453 does not match the index"  # 2^61 + 501
corrupt slot-all-ff 'data[middle:middle + 8] = b"\xff" * 8'  # offset + 24 wraps around
refuses slot-all-ff "points at 18446744073709551615, outside the entries section"
corrupt slot-high 'data[middle:middle + 8] = struct.pack("<Q", 0xFFFFFFFFFFFF0000)'
refuses slot-high "points at 18446744073709486080, outside the entries section"
# Two index slots swapped: they no longer increase.
corrupt slots-swapped 'a, b = middle, middle + 8; data[a:a + 8], data[b:b + 8] = data[b:b + 8], data[a:a + 8]'
refuses slots-swapped "not after entry"
# Damage only a read finds (opening checks the structure, not every entry): a value's byte.
# What is read through it is refused; a sound entry elsewhere is still answered.
corrupt value-flipped 'data[len(data) // 3] ^= 0x01'
check value-flipped-list 65 cache list "$WORK/value-flipped"
contains value-flipped-list-says-where "$WORK/value-flipped-list.err" "checksum mismatch"
check value-flipped-diff 65 cache diff "$WORK/value-flipped" --endpoints "$ETCD_S"
contains value-flipped-diff-says-where "$WORK/value-flipped-diff.err" "checksum mismatch"
check value-flipped-get-route 0 cache get "$WORK/value-flipped" /cfg/route
check value-flipped-info 0 cache info "$WORK/value-flipped"
check sound-list 0 cache list "$dir"
[ "$(wc -l < "$WORK/sound-list.out")" = 501 ] && pass "sound-list: 501 keys" || fail "sound-list: $(wc -l < "$WORK/sound-list.out") lines"

finish
