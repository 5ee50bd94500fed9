#!/usr/bin/env bash
# The Debian package on a clean machine: a minimal Debian 12 root made by debootstrap (nothing of
# this build machine in it), where apt installs drctl_<version>_amd64.deb and pulls in its
# runtime dependencies from the archive. There the packaged drctl must run and load everything
# it loads only on first use: libcurl (probe grpc), the etcd module with grpc++ (probe etcd, a
# real etcd on the host's loopback), the MySQL connector module (probe mysql); its man page
# (made from drctl's own help) must be installed and name every command. Then it must uninstall
# cleanly. Before all that, lintian must find no error and no warning in the .deb (info and
# pedantic tags are allowed). Needs root (chroot, mount) and the Debian archive.
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
for f in copyright changelog.gz; do
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

if in_root dpkg --purge drctl >"$WORK/purge.log" 2>&1 && [ ! -e "$ROOT/usr/bin/drctl" ] && [ ! -e "$ROOT/usr/lib/drctl" ]; then
  pass "dpkg --purge removes it"
else
  fail "purge" "$(tail -3 "$WORK/purge.log")"
fi
finish
