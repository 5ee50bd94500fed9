#!/usr/bin/env bash
# The files drctl creates and the journals it trusts (issue 15, items 9-11; docs/security.md),
# against real etcd (cache_warmup) and a real HTTP server (routing_reload's proof):
# - a symlink planted where drctl creates a file (the cache dir's .lock, the JUnit temp file,
#   file_and_exec's temp file beside the config) is never followed: the victim is unchanged;
#   a directory others can write without the sticky bit is refused (unsafe_path, or 64 for
#   --junit);
# - --state-dir never changes the mode of a directory that exists (1777 refused, a symlink's
#   target left alone);
# - under umask 000 every directory and file drctl creates has its own mode;
# - a journal someone else could have written is never trusted: rollback refuses it and
#   nothing in it runs.
# As root, the attacker is `nobody` (setpriv); otherwise the cases that need two users are
# skipped, saying so.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/etcd.sh"
require_tool etcd
require_tool etcdctl

OTHER=()
if [ "$(id -u)" = 0 ] && id nobody >/dev/null 2>&1 && command -v setpriv >/dev/null; then
  OTHER=(setpriv --reuid=nobody --regid="$(id -gn nobody)" --clear-groups)
  chmod 711 "$WORK"  # nobody may pass through to the directories it is given
else
  echo "note: not root (or no user nobody): the cases where another user plants files are skipped"
fi
as_other() { "${OTHER[@]}" "$@"; }

start_etcd S 1
ectl S put /cfg/a 1 >/dev/null
ectl S put /cfg/b 2 >/dev/null
source_conn="{endpoints: [$ETCD_S]}"
start_fixture web b
export XDG_STATE_HOME="$WORK/state"

victim() { printf 'precious\n' > "$WORK/victim"; chmod 600 "$WORK/victim"; }
victim_unchanged() {  # victim_unchanged NAME
  if [ "$(cat "$WORK/victim")" = precious ] && [ "$(stat -c %a "$WORK/victim")" = 600 ]; then
    pass "$1: the victim is unchanged"
  else
    fail "$1: the victim was changed" "$(stat -c '%a %s bytes' "$WORK/victim"): $(head -c 60 "$WORK/victim")"
  fi
}
mode_is() {  # mode_is DESCRIPTION PATH MODE
  local got
  got=$(stat -c %a "$2" 2>&1)
  [ "$got" = "$3" ] && pass "$1: $(basename "$2") is $3" || fail "$1: $2 is $got, expected $3"
}
warmup_playbook() {  # warmup_playbook NAME DIR
  printf 'version: 1\nname: %s\nsteps:\n  - name: cache\n    timeout: 30s\n    cache_warmup: {source: %s, prefix: /cfg/, dir: %s}\n' \
    "$1" "$source_conn" "$2" > "$WORK/$1.yaml"
}
run_id_of() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["run_id"])' "$WORK/$1.out"; }
printf 'version: 1\nname: ok\nsteps:\n  - name: a\n    exec: {argv: [touch, %s]}\n' "$WORK/ok-ran" > "$WORK/ok.yaml"

# 9. Symlinks planted where drctl creates files ----------------------------------------------
# The cache dir is writable by everyone (no sticky bit), with .lock -> victim planted in it.
victim
mkdir -m 777 "$WORK/cache-shared"
if [ ${#OTHER[@]} -gt 0 ]; then as_other ln -s "$WORK/victim" "$WORK/cache-shared/.lock"; else ln -s "$WORK/victim" "$WORK/cache-shared/.lock"; fi
warmup_playbook cache-shared "$WORK/cache-shared"
check cache-shared 2 run --yes --output json "$WORK/cache-shared.yaml"
report_is cache-shared 's["cache"]["evidence"]["error"]' unsafe_path
contains cache-shared-names-dir "$WORK/cache-shared.out" "$WORK/cache-shared is writable by group or others (mode 0777) and not sticky"
victim_unchanged cache-shared
[ -z "$(ls "$WORK/cache-shared" | grep snapshot)" ] && pass "cache-shared: no snapshot written" || fail "cache-shared: $(ls "$WORK/cache-shared")"

# A sticky 1777 dir is usable, but .lock -> victim is not followed: the step fails naming it.
# (Planted as ourselves: a symlink of one's own is followed even where fs.protected_symlinks
# would stop another user's.)
victim
mkdir -m 1777 "$WORK/cache-sticky"
ln -s "$WORK/victim" "$WORK/cache-sticky/.lock"
warmup_playbook cache-sticky "$WORK/cache-sticky"
check cache-sticky 2 run --yes --output json "$WORK/cache-sticky.yaml"
report_is cache-sticky 's["cache"]["evidence"]["error"]' unsafe_path
contains cache-sticky-names-lock "$WORK/cache-sticky.out" "$WORK/cache-sticky/.lock is a symlink: not followed"
victim_unchanged cache-sticky
# ... and without the planted link it works there (a fresh .lock, 0640).
rm "$WORK/cache-sticky/.lock"
check cache-sticky-clean 0 run --yes --output json "$WORK/cache-sticky.yaml"
mode_is cache-sticky-clean "$WORK/cache-sticky/.lock" 640
mode_is cache-sticky-clean "$WORK/cache-sticky/snapshot-000001.drs" 640

# cache_warmup's rollback: the directory became writable by everyone and .lock a symlink
# since the run; `drctl rollback` refuses it and changes nothing.
victim
mkdir -m 755 "$WORK/cache-rb"
warmup_playbook cache-rb "$WORK/cache-rb"
check cache-rb 0 run --yes --output json "$WORK/cache-rb.yaml"
rb_run=$(run_id_of cache-rb)
chmod 777 "$WORK/cache-rb"
rm "$WORK/cache-rb/.lock"
ln -s "$WORK/victim" "$WORK/cache-rb/.lock"
check cache-rb-undo 3 rollback "$rb_run" --yes --output json
report_is cache-rb-undo 'r["rollbacks"][0]["evidence"]["error"]' unsafe_path
victim_unchanged cache-rb-undo
[ "$(readlink "$WORK/cache-rb/current")" = snapshot-000001.drs ] && pass "cache-rb-undo: current untouched" || fail "cache-rb-undo: current -> $(readlink "$WORK/cache-rb/current")"

# --junit: FILE.tmp planted as a symlink (the old probe and the old writer both opened it).
victim
mkdir -m 755 "$WORK/j"
ln -s "$WORK/victim" "$WORK/j/r.xml.tmp"
check junit-tmp 0 run --yes --junit "$WORK/j/r.xml" "$WORK/ok.yaml"
victim_unchanged junit-tmp
contains junit-tmp-written "$WORK/j/r.xml" "<testsuites"
[ -L "$WORK/j/r.xml.tmp" ] && pass "junit-tmp: the planted link is left alone" || fail "junit-tmp: r.xml.tmp is gone"
[ -z "$(ls "$WORK/j" | grep drctl-)" ] && pass "junit-tmp: no temp file left" || fail "junit-tmp: $(ls "$WORK/j")"
# The report's own name planted as a symlink: replaced, never written through.
victim
ln -s "$WORK/victim" "$WORK/j/s.xml"
check junit-link 0 run --yes --junit "$WORK/j/s.xml" "$WORK/ok.yaml"
victim_unchanged junit-link
[ -f "$WORK/j/s.xml" ] && [ ! -L "$WORK/j/s.xml" ] && pass "junit-link: s.xml is a file of its own" || fail "junit-link: s.xml is still a link"
# A directory others can write: refused before anything runs (64).
mkdir -m 777 "$WORK/j-shared"
rm -f "$WORK/ok-ran"
check junit-shared 64 run --yes --junit "$WORK/j-shared/r.xml" "$WORK/ok.yaml"
contains junit-shared-names-dir "$WORK/junit-shared.err" "--junit $WORK/j-shared/r.xml: $WORK/j-shared is writable by group or others (mode 0777) and not sticky"
[ ! -e "$WORK/ok-ran" ] && pass "junit-shared: nothing ran" || fail "junit-shared: the step ran"

# file_and_exec (a routing_reload action): its temp file beside the config was
# CONFIG.drctl-PID.tmp; links planted for the next few thousand pids. The new one is random.
route_playbook() {  # route_playbook NAME PATH
  cat > "$WORK/$1.yaml" <<YAML
version: 1
name: $1
steps:
  - name: route
    timeout: 20s
    routing_reload:
      file_and_exec: {path: $2, content: "new\n", mode: "0644", reload: ["true"]}
      verify: {url: "http://127.0.0.1:$PORT_web/site", expect: {status: 200}, consecutive: 1, interval: 20ms, timeout: 3s}
YAML
}
victim
mkdir -m 755 "$WORK/conf"
printf 'old\n' > "$WORK/conf/app.conf"
route_playbook route "$WORK/conf/app.conf"
python3 - "$WORK/victim" "$WORK/conf/app.conf" <<'PY'
import os, sys
try:
    last = int(open("/proc/sys/kernel/ns_last_pid").read())
except OSError:
    last = os.getpid()
for pid in range(last + 1, last + 4000):
    os.symlink(sys.argv[1], f"{sys.argv[2]}.drctl-{pid}.tmp")
PY
check route 0 run --yes --output json "$WORK/route.yaml"
victim_unchanged route
[ "$(cat "$WORK/conf/app.conf")" = new ] && [ ! -L "$WORK/conf/app.conf" ] && pass "route: app.conf written" || fail "route: app.conf is $(ls -l "$WORK/conf/app.conf")"
mode_is route "$WORK/conf/app.conf" 644
find "$WORK/conf" -name 'app.conf.drctl-*.tmp' -type l -delete
[ -z "$(ls "$WORK/conf" | grep -v '^app.conf$')" ] && pass "route: no temp file left" || fail "route: $(ls "$WORK/conf" | head -3)"
# The config's directory writable by everyone: refused, nothing written.
chmod 777 "$WORK/conf"
printf 'old\n' > "$WORK/conf/app.conf"
check route-shared 2 run --yes --output json "$WORK/route.yaml"
report_is route-shared 's["route"]["evidence"]["error"]' unsafe_path
contains route-shared-names-dir "$WORK/route-shared.out" "$WORK/conf is writable by group or others (mode 0777) and not sticky"
[ "$(cat "$WORK/conf/app.conf")" = old ] && pass "route-shared: app.conf unchanged" || fail "route-shared: app.conf is $(cat "$WORK/conf/app.conf")"

# etcd_watch_handoff's events_file (was opened O_TRUNC through whatever its name pointed at).
victim
mkdir -m 755 "$WORK/ev"
ln -s "$WORK/victim" "$WORK/ev/events.jsonl"
printf 'version: 1\nname: handoff\nsteps:\n  - name: handoff\n    timeout: 30s\n    etcd_watch_handoff: {prefix: /cfg/, from: %s, to: %s, events_file: %s}\n' \
  "$source_conn" "$source_conn" "$WORK/ev/events.jsonl" > "$WORK/handoff.yaml"
check handoff 0 run --yes --output json "$WORK/handoff.yaml"
victim_unchanged handoff
[ -f "$WORK/ev/events.jsonl" ] && [ ! -L "$WORK/ev/events.jsonl" ] && pass "handoff: events_file is a file of its own" || fail "handoff: events_file is $(ls -l "$WORK/ev/events.jsonl")"
chmod 777 "$WORK/ev"
check handoff-shared 2 run --yes --output json "$WORK/handoff.yaml"
report_is handoff-shared 's["handoff"]["evidence"]["error"]' unsafe_path
contains handoff-shared-names-dir "$WORK/handoff-shared.out" "$WORK/ev is writable by group or others (mode 0777) and not sticky"

# A sticky directory others can write is only as safe as its owner (who may remove or rename
# anything in it): one of another user's is refused.
if [ ${#OTHER[@]} -gt 0 ]; then
  mkdir -m 1777 "$WORK/their-sticky"
  chown nobody "$WORK/their-sticky"
  warmup_playbook their-sticky "$WORK/their-sticky/cache"
  check their-sticky 2 run --yes --output json "$WORK/their-sticky.yaml"
  report_is their-sticky 's["cache"]["evidence"]["error"]' unsafe_path
  contains their-sticky-says-why "$WORK/their-sticky.out" "$WORK/their-sticky is writable by group or others (mode 1777) and owned by uid $(id -u nobody)"
  [ ! -e "$WORK/their-sticky/cache" ] && pass "their-sticky: nothing created" || fail "their-sticky: cache created"
fi

# 10. --state-dir never changes an existing directory's mode ---------------------------------
mkdir -m 1777 "$WORK/shared-state"
rm -f "$WORK/ok-ran"
check state-sticky 64 --state-dir "$WORK/shared-state" run --yes "$WORK/ok.yaml"
mode_is state-sticky "$WORK/shared-state" 1777
contains state-sticky-says-why "$WORK/state-sticky.err" "state dir $WORK/shared-state: $WORK/shared-state is writable by group or others (mode 1777)"
[ ! -e "$WORK/ok-ran" ] && [ ! -e "$WORK/shared-state/runs" ] && pass "state-sticky: nothing ran, nothing created" || fail "state-sticky: ran or created runs/"
check state-sticky-rollback 64 --state-dir "$WORK/shared-state" rollback --yes 20990101T000000Z-000000
mode_is state-sticky-rollback "$WORK/shared-state" 1777

mkdir -m 755 "$WORK/real-state"
ln -s "$WORK/real-state" "$WORK/state-link"
check state-link-rollback 64 --state-dir "$WORK/state-link" rollback --yes 20990101T000000Z-000000
mode_is state-link-rollback "$WORK/real-state" 755
check state-link-run 0 --state-dir "$WORK/state-link" run --yes "$WORK/ok.yaml"
mode_is state-link-run "$WORK/real-state" 755
mode_is state-link-run "$WORK/real-state/runs" 700
[ "$(ls "$WORK/real-state/runs" | grep -c '\.jsonl$')" = 1 ] && pass "state-link-run: journaled in the link's target" || fail "state-link-run: $(ls "$WORK/real-state/runs")"

# 11. umask 000: explicit modes everywhere ---------------------------------------------------
mkdir -m 755 "$WORK/um"
cat > "$WORK/um.yaml" <<YAML
version: 1
name: um
steps:
  - name: cache
    timeout: 30s
    cache_warmup: {source: $source_conn, prefix: /cfg/, dir: $WORK/um-cache/a/b}
YAML
LAST=umask
( umask 000; HOME="$WORK/home" XDG_STATE_HOME='' exec "$DRCTL" run --yes --junit "$WORK/um/r.xml" "$WORK/um.yaml" ) >"$WORK/umask.out" 2>"$WORK/umask.err" </dev/null
RC=$?
expect_rc "umask 000: run" 0
for dir in home home/.local home/.local/state home/.local/state/drctl home/.local/state/drctl/runs; do
  mode_is umask "$WORK/$dir" 700
done
for journal in "$WORK"/home/.local/state/drctl/runs/*.jsonl; do mode_is umask-journal "$journal" 600; done
mode_is umask-junit "$WORK/um/r.xml" 644
for dir in um-cache um-cache/a um-cache/a/b; do mode_is umask-cache "$WORK/$dir" 750; done
mode_is umask-cache "$WORK/um-cache/a/b/.lock" 640
mode_is umask-cache "$WORK/um-cache/a/b/snapshot-000001.drs" 640

# 11. A journal someone else could have written is never trusted ----------------------------
printf 'version: 1\nname: pwn\nsteps:\n  - name: a\n    exec: {argv: ["true"]}\n    rollback:\n      exec: {argv: [touch, %s]}\n' \
  "$WORK/pwned" > "$WORK/pwn.yaml"
check pwn-run 0 --state-dir "$WORK/src-state" run --yes --output json "$WORK/pwn.yaml"
pwn_run=$(run_id_of pwn-run)
journal_name="runs/$pwn_run.jsonl"
copy_state() { rm -rf "$WORK/$1"; cp -a "$WORK/src-state" "$WORK/$1"; }
refused() {  # refused NAME STATE-DIR TEXT: rollback and show refuse the journal; nothing ran
  rm -f "$WORK/pwned"
  check "$1" 64 --state-dir "$2" rollback "$pwn_run" --yes
  contains "$1-says-why" "$WORK/$1.err" "$3"
  [ ! -e "$WORK/pwned" ] && pass "$1: the journal's rollback never ran" || fail "$1: the forged rollback ran"
  check "$1-show" 64 --state-dir "$2" show "$pwn_run"
  check "$1-runs" 0 --state-dir "$2" runs
  lacks "$1-runs-not-listed" "$WORK/$1-runs.out" "$pwn_run"
}
# The control: an intact copy is trusted, and its rollback runs.
copy_state trusted
check trusted-rollback 0 --state-dir "$WORK/trusted" rollback "$pwn_run" --yes
[ -e "$WORK/pwned" ] && pass "trusted-rollback: the rollback ran" || fail "trusted-rollback: the rollback did not run"

copy_state journal-0666
chmod 666 "$WORK/journal-0666/$journal_name"
refused journal-0666 "$WORK/journal-0666" "$WORK/journal-0666/$journal_name is writable by group or others (mode 0666)"
copy_state runs-0770
chmod 770 "$WORK/runs-0770/runs"
refused runs-0770 "$WORK/runs-0770" "$WORK/runs-0770/runs is writable by group or others (mode 0770)"
copy_state journal-link
mv "$WORK/journal-link/$journal_name" "$WORK/elsewhere.jsonl"
ln -s "$WORK/elsewhere.jsonl" "$WORK/journal-link/$journal_name"
refused journal-link "$WORK/journal-link" "$WORK/journal-link/$journal_name is a symlink"

if [ ${#OTHER[@]} -gt 0 ]; then
  nobody_uid=$(id -u nobody)
  copy_state journal-nobody
  chown nobody "$WORK/journal-nobody/$journal_name"
  refused journal-nobody "$WORK/journal-nobody" "$WORK/journal-nobody/$journal_name is owned by uid $nobody_uid, neither you nor root"
  copy_state state-nobody
  chown -R nobody "$WORK/state-nobody"
  refused state-nobody "$WORK/state-nobody" "$WORK/state-nobody is owned by uid $nobody_uid, neither you nor root"
  # The issue's attack: ~/.local/state left 0777 (an old drctl under umask 000); nobody puts a
  # state dir of its own there with a journal whose playbook's rollback runs a command.
  H="$WORK/h"
  mkdir -m 755 "$H" "$H/.local"
  mkdir -m 777 "$H/.local/state"
  cp "$WORK/src-state/$journal_name" "$WORK/forged.jsonl"
  chmod 644 "$WORK/forged.jsonl"
  as_other sh -c "umask 077 && mkdir -p '$H/.local/state/drctl/runs' && cp '$WORK/forged.jsonl' '$H/.local/state/drctl/$journal_name'"
  [ -e "$H/.local/state/drctl/$journal_name" ] && pass "forged: nobody planted a journal" || fail "forged: could not plant the journal"
  rm -f "$WORK/pwned"
  LAST=forged
  HOME="$H" XDG_STATE_HOME='' "$DRCTL" rollback "$pwn_run" --yes >"$WORK/forged.out" 2>"$WORK/forged.err" </dev/null
  RC=$?
  expect_rc "forged: rollback refuses the state dir" 64
  contains forged-says-why "$WORK/forged.err" "$H/.local/state is writable by group or others (mode 0777) and not sticky"
  [ ! -e "$WORK/pwned" ] && pass "forged: the planted rollback never ran as root" || fail "forged: the planted rollback ran as root"
  mode_is forged "$H/.local/state" 777
else
  echo "skipped: a journal and a state dir owned by another user, and the planted state dir (need root and the user nobody)"
fi

finish
