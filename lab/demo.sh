#!/usr/bin/env bash
# The local lab for the Quick start: two "sites" (real HTTP servers answering with X-Site a or
# b, with /warmup and /ready), one etcd member holding order-svc's config, and nginx as the entry
# router in front of site a. Runs playbooks/examples/local-switchover.yaml against it, shows
# where traffic went, and stops everything it started (by PID, also on failure).
# Usage: lab/demo.sh [build dir]   (the exit code is drctl's; 1 if it claims success and traffic
# is not on site b)
set -euo pipefail
cd "$(dirname "$0")/.."
build=$(cd "${1:-build}" && pwd)
export DRCTL="$build/cli/drctl" SOURCE_DIR=$PWD FIXTURE_HTTP="$build/tests/drctl-fixture-http"
set +eu
. tests/cli/lib.sh
. tests/cli/etcd.sh
. tests/cli/nginx.sh
set -e

start_fixture a a
start_fixture b b
start_etcd LAB 1
for key in feature-flags rate-limits pricing-endpoint; do ectl LAB put "/config/order-svc/$key" "value-of-$key" >/dev/null; done
start_nginx "$PORT_a"
echo "lab: nginx http://127.0.0.1:$NGINX_PORT -> site a (127.0.0.1:$PORT_a); site b at 127.0.0.1:$PORT_b; etcd $ETCD_LAB"
echo "lab: traffic now goes to site $(served_site)"
echo

set +e
"$DRCTL" run "$SOURCE_DIR/playbooks/examples/local-switchover.yaml" --yes \
  --var entry="http://127.0.0.1:$NGINX_PORT" --var backup="http://127.0.0.1:$PORT_b" --var etcd="$ETCD_LAB" \
  --var nginx_conf="$NGINX_CONF" --var backup_conf="$(nginx_conf "$PORT_b")" --var nginx_log="$WORK/nginx/error.log" \
  --var cache_dir="$WORK/cache" --junit "$WORK/junit.xml" ${DEMO_ARGS:-}
rc=$?
set -e
echo
site=$(served_site)
echo "lab: traffic now goes to site $site; fallback snapshot:"
"$DRCTL" cache info "$WORK/cache" || true
if [ "$rc" -eq 0 ] && [ "$site" != b ]; then
  echo "lab: drctl reported success but traffic is not on site b" >&2
  exit 1
fi
exit $rc
