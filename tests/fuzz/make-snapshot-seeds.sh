#!/usr/bin/env bash
# Writes the seed corpus of fuzz_snapshot, tests/fuzz/corpus/snapshot/, with drctl itself: a
# real etcd, a few keys (an empty value, a nested key, JSON), cache_warmup, and the files it
# wrote. Rerun after a format change: tests/fuzz/make-snapshot-seeds.sh [build dir]
set -euo pipefail
cd "$(dirname "$0")/../.."
build=$(cd "${1:-build}" && pwd)
export DRCTL="$build/cli/drctl" SOURCE_DIR=$PWD
set +eu
. tests/cli/lib.sh
. tests/cli/etcd.sh
set -e
out=tests/fuzz/corpus/snapshot
mkdir -p "$out"
start_etcd S 1
ectl S put /cfg/a 1 >/dev/null
ectl S put /cfg/b "" >/dev/null
ectl S put /cfg/route '{"site":"bantian"}' >/dev/null
ectl S put /cfg/z/deep x >/dev/null
snapshot() {  # snapshot NAME PREFIX: cache_warmup of PREFIX, copied to $out/NAME.drs
  printf 'version: 1\nname: seed\nsteps:\n  - name: cache\n    cache_warmup: {source: {endpoints: [%s]}, prefix: %s, dir: %s}\n' \
    "$ETCD_S" "$2" "$WORK/$1" > "$WORK/$1.yaml"
  "$DRCTL" run -q --yes "$WORK/$1.yaml" >/dev/null
  "$DRCTL" cache verify "$WORK/$1" >/dev/null
  cp "$WORK/$1/$(readlink "$WORK/$1/current")" "$out/$1.drs"
}
snapshot four-keys /cfg/
snapshot one-key /cfg/z/
snapshot no-keys /none/
ls -l "$out"
