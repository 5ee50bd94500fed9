#!/usr/bin/env bash
# The Debian package on a clean machine: a minimal Debian 12 root made by debootstrap (nothing of
# this build machine in it), where apt installs drctl_<version>_amd64.deb and pulls in its
# runtime dependencies from the archive. There the packaged drctl must run and load everything
# it loads only on first use: libcurl (probe grpc), the etcd module with grpc++ (probe etcd, a
# real etcd on the host's loopback), the MySQL connector module (probe mysql); its man page
# (made from drctl's own help) must be installed and name every command; drctl serve's systemd
# unit must pass systemd-analyze verify and its command line must serve as a user of no account.
# Then it must uninstall cleanly. Before all that, lintian must find no error and no warning in
# the .deb (info and pedantic tags are allowed). Needs root (chroot, mount) and the Debian archive.
. "$(dirname "$0")/../cli/lib.sh"
. "$(dirname "$0")/../cli/etcd.sh"
require_tool debootstrap
require_tool cpack
require_tool etcd
require_tool lintian
require_tool man
: "${BUILD_DIR:?BUILD_DIR must point at the build directory}"
if [ "$(id -u)" -ne 0 ]; then
  [ -n "${CI:-}" ] && { echo "CI must run this as root (chroot)"; exit 1; }
  echo "skipped: needs root for chroot and mount"; exit 125
fi

ROOT="$WORK/root"
# /proc is mounted inside the root: unmount it before the work dir is removed, whatever happens
# (lazily if something still holds it, so the removal never walks into a live procfs).
trap 'umount "$ROOT/proc" 2>/dev/null || umount -l "$ROOT/proc" 2>/dev/null; cleanup' EXIT

# The host's Debian mirror (the one apt already reaches), else the default.
mirror=$(grep -hoE '^(URIs:|deb) +https?://[^ ]*/debian/?( |$)' /etc/apt/sources.list /etc/apt/sources.list.d/*.sources /etc/apt/sources.list.d/*.list 2>/dev/null \
  | grep -oE 'https?://[^ ]*' | head -1)
mirror=${DRCTL_DEBIAN_MIRROR:-${mirror:-http://deb.debian.org/debian}}

(cd "$BUILD_DIR" && cpack -G DEB -B "$WORK/pkg" >"$WORK/cpack.log" 2>&1) || { fail "cpack failed" "$(tail -5 "$WORK/cpack.log")"; finish; exit; }
version=$("$DRCTL" version | awk '{print $2; exit}')
deb="drctl_${version}_amd64.deb"
[ -f "$WORK/pkg/$deb" ] && pass "package: $deb built" || { fail "package: no $deb" "$(ls "$WORK/pkg")"; finish; exit; }
depends=$(dpkg-deb -f "$WORK/pkg/$deb" Depends)
for lib in libcurl4 libgrpc++1.51 libmysqlcppconn7v5 libyaml-0-2 libfmt9; do
  grep -q "$lib" <<<"$depends" && pass "package depends on $lib" || fail "package: $lib not in Depends: $depends"
done

# Debian's conventions: exit 2 on any error or warning (--fail-on), every tag shown on failure.
if lintian --fail-on error,warning --tag-display-limit 0 -I "$WORK/pkg/$deb" >"$WORK/lintian.out" 2>"$WORK/lintian.err"; then
  pass "lintian: no error or warning in $deb ($(grep -c '^I: ' "$WORK/lintian.out") info tags)"
else
  fail "lintian finds errors or warnings in $deb" "$(grep -E '^[EW]: ' "$WORK/lintian.out")" "$(tail -3 "$WORK/lintian.err")"
fi

if debootstrap --variant=minbase bookworm "$ROOT" "$mirror" >"$WORK/debootstrap.log" 2>&1; then
  pass "a clean Debian 12 root from $mirror"
else
  fail "debootstrap failed" "$(tail -5 "$WORK/debootstrap.log")"; finish; exit
fi
[ ! -e "$ROOT/usr/lib/x86_64-linux-gnu/libgrpc++.so.1.51" ] && [ ! -e "$ROOT/usr/lib/x86_64-linux-gnu/libcurl.so.4" ] \
  && pass "the clean root has neither gRPC nor libcurl" || fail "the clean root is not clean"
cp /etc/resolv.conf "$ROOT/etc/resolv.conf"
cp "$WORK/pkg/$deb" "$ROOT/tmp/"
mount -t proc proc "$ROOT/proc"
in_root() { chroot "$ROOT" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root NO_COLOR=1 "$@"; }

if in_root sh -c "apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends /tmp/$deb" \
  >"$WORK/apt.log" 2>&1; then
  pass "apt installs $deb and its dependencies"
else
  fail "apt install failed" "$(tail -5 "$WORK/apt.log")"; finish; exit
fi
[ "$(in_root dpkg-query -W -f='${Status} ${Version}' drctl)" = "install ok installed $version" ] \
  && pass "dpkg: drctl $version is installed" || fail "dpkg: $(in_root dpkg-query -W -f='${Status} ${Version}' drctl 2>&1)"

# check_in_root NAME EXPECTED_EXIT ARGS...: the installed drctl, its output in $WORK/NAME.out.
check_in_root() {
  local name=$1 wanted=$2; shift 2
  LAST=$name
  in_root drctl "$@" >"$WORK/$name.out" 2>"$WORK/$name.err" </dev/null
  RC=$?
  expect_rc "installed: $name" "$wanted"
}
check_in_root version 0 version
contains "installed: drctl version names $version" "$WORK/version.out" "drctl $version"
check_in_root dash-version 0 --version
contains "installed: drctl --version names $version" "$WORK/dash-version.out" "drctl $version"
check_in_root validate 0 validate /usr/share/doc/drctl/two-sites.yaml

# The man page: installed, readable by man, naming every command drctl --help lists (both come
# from the same binary), --version and the exit codes.
man_page="$ROOT/usr/share/man/man1/drctl.1.gz"
[ -f "$man_page" ] && pass "installed: /usr/share/man/man1/drctl.1.gz" || fail "installed: no man page"
MANWIDTH=100 man -l "$man_page" >"$WORK/man.out" 2>"$WORK/man.err" && [ ! -s "$WORK/man.err" ] \
  && pass "man -l renders it without a warning" || fail "man -l drctl.1.gz" "$(head -5 "$WORK/man.err")"
commands=$("$DRCTL" --help | awk '/^Subcommands:/ {on = 1; next} on && NF {print $1}')
[ "$(echo "$commands" | wc -w)" -ge 10 ] || fail "drctl --help lists too few commands: $commands"
missing=""
for c in $commands; do
  grep -qxE "   drctl $c" "$WORK/man.out" || missing+=" $c"  # its .SS heading
done
[ -z "$missing" ] && pass "the man page has a section for each of the $(echo "$commands" | wc -w) commands" \
  || fail "the man page lacks the commands:$missing"
contains "the man page names --version" "$WORK/man.out" "--version"
contains "the man page has the exit codes" "$WORK/man.out" "EXIT STATUS"
contains "the man page's exit codes come from drctl help exit-codes" "$WORK/man.out" "rolled_back"
for f in copyright changelog.gz prometheus/drctl.rules.yml; do
  [ -f "$ROOT/usr/share/doc/drctl/$f" ] && pass "installed: /usr/share/doc/drctl/$f" || fail "installed: no /usr/share/doc/drctl/$f"
done
check_in_root help 0 help playbook routing_reload

start_etcd P 1
check_in_root probe-etcd 0 probe etcd --endpoints "$ETCD_P"
contains "installed: the etcd module (grpc++) loads and answers" "$WORK/probe-etcd.out" "1 of 1 endpoints healthy"
check_in_root probe-grpc 0 probe grpc --addr "${ETCD_P#http://}"
contains "installed: libcurl loads (gRPC health over HTTP/2)" "$WORK/probe-grpc.out" "SERVING"
check_in_root probe-mysql 1 probe mysql --host 127.0.0.1 --port "$(closed_port)" --user monitor --max-lag 1s
contains "installed: the MySQL module loads (a refused port is its connector's error 2002)" "$WORK/probe-mysql.out" "cannot connect (2002)"

# drctl serve's systemd template unit: installed, accepted by Debian 12's own systemd-analyze
# (systemd installed into the root for it; PID 1 is not needed) for an instance named by a
# playbook's path, with the drop-in docs/serve.md shows; then the command line it runs works as
# a user of no account (as DynamicUser=): it serves, reloads on SIGHUP, exits 0 on SIGTERM.
unit_file=usr/lib/systemd/system/drctl-serve@.service
[ -f "$ROOT/$unit_file" ] && in_root dpkg -L drctl | grep -qx "/$unit_file" \
  && pass "installed: /$unit_file" || fail "installed: no /$unit_file" "$(in_root dpkg -L drctl | grep systemd)"
[ -f "$ROOT/usr/share/doc/drctl/serve.md" ] && pass "installed: the unit's Documentation= (serve.md)" || fail "installed: no serve.md"
if in_root sh -c "DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends systemd procps" >"$WORK/apt-systemd.log" 2>&1; then
  pass "apt installs systemd and procps (the unit's /bin/kill) into the root"
else
  fail "apt install systemd failed" "$(tail -5 "$WORK/apt-systemd.log")"
fi
playbook=/etc/drctl/site-b.yaml
unit="drctl-serve@$(in_root systemd-escape --path "$playbook").service"
mkdir -p "$ROOT/etc/drctl" "$ROOT/etc/systemd/system/$unit.d"
printf '[Service]\nEnvironment="DRCTL_SERVE_OPTS=--listen 0.0.0.0:9464 --interval 15s --log-format json"\nLoadCredential=token:/etc/drctl/serve-token\nExecStart=\nExecStart=/usr/bin/drctl serve %%f $DRCTL_SERVE_OPTS --token-file ${CREDENTIALS_DIRECTORY}/token\n' \
  >"$ROOT/etc/systemd/system/$unit.d/override.conf"
# Every warning counts (an unknown key, a specifier that does not resolve), not only the exit code.
if in_root systemd-analyze verify --man=no "$unit" >"$WORK/verify.out" 2>&1 && [ ! -s "$WORK/verify.out" ]; then
  pass "systemd-analyze verify accepts $unit with a drop-in, without a warning"
else
  fail "systemd-analyze verify $unit" "$(head -5 "$WORK/verify.out")"
fi
in_root systemd-analyze verify --man=no "drctl-serve@.service" >"$WORK/verify-template.out" 2>&1 && [ ! -s "$WORK/verify-template.out" ] \
  && pass "systemd-analyze verify accepts the template itself" || fail "systemd-analyze verify the template" "$(head -5 "$WORK/verify-template.out")"

# ExecStart as systemd runs it, %f and $DRCTL_SERVE_OPTS filled in (the port a free one, as a
# drop-in would set it), as uid 61234 with no account, no HOME, from /.
exec_start=$(sed -n 's/^ExecStart=//p' "$ROOT/$unit_file")
[ "$exec_start" = '/usr/bin/drctl serve %f $DRCTL_SERVE_OPTS' ] && pass "the unit runs drctl serve %f \$DRCTL_SERVE_OPTS" \
  || fail "the unit's ExecStart: $exec_start"
cat > "$ROOT$playbook" <<'YAML'
version: 1
name: site-b
checks:
  - name: sane
    exec: {argv: ["true"]}
YAML
mkdir -p "$ROOT/run/credentials/$unit"
printf 'tok-%s\n' "$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')" >"$ROOT/run/credentials/$unit/token"
chown -R 61234:61234 "$ROOT/run/credentials/$unit"; chmod 0400 "$ROOT/run/credentials/$unit/token"
serve_port=$(closed_port)
opts="--listen 127.0.0.1:$serve_port --interval 1s --token-file /run/credentials/$unit/token"
exec_start=${exec_start//%f/$playbook}
read -ra serve_argv <<<"${exec_start//\$DRCTL_SERVE_OPTS/$opts}"
chroot --userspec=61234:61234 "$ROOT" /usr/bin/env -i PATH=/usr/bin:/bin "${serve_argv[@]}" \
  </dev/null >"$WORK/serve.out" 2>"$WORK/serve.err" &
SERVE_PID=$!
STARTED_PIDS+=($SERVE_PID)
token=$(cat "$ROOT/run/credentials/$unit/token")
readiness() {  # readiness [CURL ARGS]: the "ready" field of /readiness, or the HTTP status
  curl -s -w '\n%{http_code}' "$@" "http://127.0.0.1:$serve_port/readiness" \
    | python3 -c 'import json,sys; *body, code = sys.stdin.read().split("\n"); print(json.loads("".join(body))["ready"] if code == "200" else code)' 2>/dev/null
}
for _ in $(seq 100); do [ "$(readiness -H "Authorization: Bearer $token")" = True ] && break; sleep 0.1; done
ready=$(readiness -H "Authorization: Bearer $token"); unauthorized=$(readiness)
[ "$ready" = True ] && [ "$unauthorized" = 401 ] && pass "as uid 61234: it serves $playbook, its token read from the credentials directory" \
  || fail "served as uid 61234: ready=$ready with the token, $unauthorized without" "$(tail -3 "$WORK/serve.err")"
kill -HUP "$SERVE_PID"
for _ in $(seq 100); do grep -q 'reloaded' "$WORK/serve.err" && break; sleep 0.05; done
contains "SIGHUP (ExecReload) reloads the playbook" "$WORK/serve.err" "reloaded $playbook"
# Within the unit's TimeoutStopSec (else systemd would SIGKILL it), which exceeds the default --grace.
stop_timeout=$(sed -n 's/^TimeoutStopSec=\([0-9]*\)s$/\1/p' "$ROOT/$unit_file")
[ "${stop_timeout:-0}" -gt 10 ] && pass "TimeoutStopSec=${stop_timeout}s exceeds the default --grace 10s" || fail "TimeoutStopSec: '$stop_timeout'"
kill -TERM "$SERVE_PID"
for _ in $(seq $((${stop_timeout:-10} * 10))); do kill -0 "$SERVE_PID" 2>/dev/null || break; sleep 0.1; done
kill -0 "$SERVE_PID" 2>/dev/null && kill -KILL "$SERVE_PID"
wait "$SERVE_PID"; RC=$?; LAST=serve
expect_rc "SIGTERM (systemctl stop) ends it within TimeoutStopSec" 0

if in_root dpkg --purge drctl >"$WORK/purge.log" 2>&1 && [ ! -e "$ROOT/usr/bin/drctl" ] && [ ! -e "$ROOT/usr/lib/drctl" ] \
  && [ ! -e "$ROOT/$unit_file" ]; then
  pass "dpkg --purge removes it"
else
  fail "purge" "$(tail -3 "$WORK/purge.log")"
fi
finish
