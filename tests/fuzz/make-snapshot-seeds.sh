#!/usr/bin/env bash
# Writes the seed corpus of fuzz_snapshot, tests/fuzz/corpus/snapshot/, with drctl itself: a
# real etcd, a few keys (an empty value, a nested key, JSON), cache_warmup, and the files it
# wrote; then three damaged copies. Rerun after a format change: tests/fuzz/make-snapshot-seeds.sh [build dir]
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
# The damage of issue 15, item 14, which once crashed the readers: bit 61 of key_count, the
# middle index slot all 0xFF, and that slot 0xFFFFFFFFFFFF0000.
python3 - "$out" <<'PY'
import struct, sys
base = open(sys.argv[1] + "/four-keys.drs", "rb").read()
key_count, = struct.unpack_from("<Q", base, 32)
index_offset, = struct.unpack_from("<Q", base, 56)
middle = index_offset + 8 * (key_count // 2)
for name, at, patch in [("key-count-bit-61", 39, bytes([base[39] ^ 0x20])),
                        ("slot-all-ff", middle, b"\xff" * 8),
                        ("slot-high", middle, struct.pack("<Q", 0xFFFFFFFFFFFF0000))]:
    data = bytearray(base)
    data[at:at + len(patch)] = patch
    open(f"{sys.argv[1]}/damaged-{name}.drs", "wb").write(data)
PY
ls -l "$out"
