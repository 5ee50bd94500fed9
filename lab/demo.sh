#!/usr/bin/env bash
# The Quick start demo, and CI's end-to-end test of the lab: bring the two-site lab up, switch
# A -> B with every step timed against its budget and the 23 s SLA, show where traffic went and
# which database is the primary and what became of the orders written meanwhile (the write
# probe: every acknowledged order read back), fail back B -> A, and take the lab down (also on
# failure). Each run's HTML drill report is kept beside the lab's state dir, which goes.
# Usage: lab/demo.sh [build dir] [--etcd same-cluster|mirrored]
# Exit: drctl's exit code for the first run that did not succeed; 1 if drctl claimed success
# and traffic is not where it should be.
set -euo pipefail
cd "$(dirname "$0")/.."
build=$(cd "${1:-build}" && pwd)
shift || true
export DRCTL_BUILD=$build
export DRCTL_LAB_STATE=${DRCTL_LAB_STATE:-$(mktemp -d "${TMPDIR:-/tmp}/drctl-lab.XXXXXX")/lab}
export NO_COLOR=${NO_COLOR:-1}
trap 'lab/down >/dev/null 2>&1 || true' EXIT

lab/up "$@"
. lab/lib.sh
lab_env
served_site() { curl -s -m 2 -D - -o /dev/null "$LAB_ENTRY/site" | tr -d '\r' | awk -F': ' 'tolower($1)=="x-site" {print $2}'; }
# primary_database: which site's database is the writable primary, as lab/status shows it.
primary_database() { lab/status | awk '/mariadb-. .* primary \(writable\)/ {sub("mariadb-", "", $1); print $1}'; }
# The drill reports outlive the lab (lab/down removes $LAB): beside it under a name of its own
# (not $(dirname "$LAB")/reports, which is /tmp/reports for DRCTL_LAB_STATE=/tmp/lab), and
# readable by this user only.
REPORTS="${LAB%/}-reports"
mkdir -m 700 -p "$REPORTS"
last_run() { "$DRCTL" --state-dir "$LAB/drctl" runs --output json | jq -r '.[0].run_id'; }
# writes_kept RUN: the run's write probe read back every acknowledged order and none was lost.
writes_kept() {
  local probe
  probe=$("$DRCTL" --state-dir "$LAB/drctl" show "$1" --output json | jq -c '.sla.write_probe')
  echo "lab: orders during run $1: $(jq -r '"\(.acknowledged) acknowledged, \(.failed) refused, \(.unknown) unknown, lost \(.lost), longest write gap \(.longest_write_gap_ms | floor) ms (\(.longest_write_gap_during))"' <<<"$probe")"
  [ "$(jq -r '.verdict' <<<"$probe")" = met ] && [ "$(jq -r '.lost' <<<"$probe")" = 0 ] \
    || { echo "lab: the write probe did not prove 0 orders lost in run $1" >&2; exit 1; }
}
echo
echo "lab: traffic goes to site $(served_site); switching to B"
echo
lab/run switchover --junit "$LAB/switchover.xml" --html "$REPORTS/switchover.html" || { rc=$?; echo "lab: the switchover failed (exit $rc)"; exit $rc; }
site=$(served_site)
writes_kept "$(last_run)"
echo
echo "lab: traffic now goes to site $site; the fallback snapshot:"
"$DRCTL" cache info "$LAB/cache"
[ "$site" = b ] || { echo "lab: drctl reported success but traffic is on site '$site', not b" >&2; exit 1; }
lab/status | grep mariadb
[ "$(primary_database)" = b ] || { echo "lab: drctl reported success but the primary database is not B's" >&2; exit 1; }
echo
echo "lab: failing back to A"
echo
lab/run failback || { rc=$?; echo "lab: the failback failed (exit $rc)"; exit $rc; }
site=$(served_site)
run=$(last_run)
writes_kept "$run"
"$DRCTL" --state-dir "$LAB/drctl" report "$run" --html "$REPORTS/failback.html"
echo
echo "lab: traffic now goes to site $site"
[ "$site" = a ] || { echo "lab: drctl reported success but traffic is on site '$site', not a" >&2; exit 1; }
lab/status | grep mariadb
[ "$(primary_database)" = a ] || { echo "lab: drctl reported success but the primary database is not A's" >&2; exit 1; }
"$DRCTL" --state-dir "$LAB/drctl" runs
echo
echo "lab: drill reports (open in a browser, or print): $REPORTS/switchover.html $REPORTS/failback.html"
