#!/usr/bin/env bash
# The HTML drill report (--html FILE, drctl report RUN_ID --html FILE) of real runs: a run with
# steps of different lengths, one failing and rolled back, a secret in play; a check run; a
# killed run; a run under an etcd lock, reported from the journal's etcd copy; a 500-step run.
# Each report passes xmllint's HTML parser, holds no secret, opens
# in headless Chromium, and its Gantt's bars follow the journal's order with x and width linear
# in milliseconds (asserted on the SVG's coordinates, not on pixels).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/etcd.sh"
require_tool xmllint
require_tool chromium
require_tool etcd
STATE="$WORK/state"
token="tok-$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')"
export DRCTL_TEST_TOKEN="$token"

cat > "$WORK/p.yaml" <<'YAML'
version: 1
name: html-drill
sla: {total: 10s}
checks:
  - name: tool
    exec: {argv: [sh, -c, 'sleep 0.05']}
  - name: quick
    exec: {argv: ["true"]}
steps:
  - name: fast
    budget: 1s
    exec:
      argv: [sh, -c, 'echo "token=$TOKEN"; sleep 0.1']
      secret_env: {TOKEN: DRCTL_TEST_TOKEN}
    rollback: {exec: {argv: [sh, -c, 'sleep 0.05']}}
  - name: medium
    budget: 1s
    exec: {argv: [sh, -c, 'sleep 0.3']}
    rollback: {exec: {argv: ["true"]}}
  - name: slow
    budget: 500ms
    exec: {argv: [sh, -c, 'sleep 0.6']}
    rollback: {exec: {argv: ["true"]}}
  - name: breaks
    exec:
      argv: [sh, -c, 'echo "<script>alert(1)</script> $TOKEN" >&2; exit 3']
      secret_env: {TOKEN: DRCTL_TEST_TOKEN}
    rollback: {exec: {argv: ["true"]}}
YAML

# xml_ok NAME FILE: xmllint's HTML parser reads it. libxml2's parser knows HTML 4 only, so it
# names each HTML5 and SVG element "invalid" (and exits 0): any other complaint fails.
xml_ok() {
  if xmllint --html --noout "$2" 2>"$WORK/$1.xmllint"; then pass "$1: xmllint --html accepts it"; else fail "$1: xmllint --html exit $?" "$(head -5 "$WORK/$1.xmllint")"; fi
  local other
  other=$(grep 'parser error' "$WORK/$1.xmllint" | grep -vE 'Tag [A-Za-z]+ invalid$' | head -5)
  [ -z "$other" ] && pass "$1: no HTML error other than HTML5/SVG tag names" || fail "$1: xmllint complains" "$other"
}

# geometry NAME HTML JSON: the Gantt's bars against the JSON report's entries: same order, x and
# width linear in ms with one scale, starts where the entries started.
geometry() {
  if /usr/bin/python3 - "$2" "$3" >"$WORK/$1.geometry" 2>&1 <<'PY'
import json, re, sys, datetime
import xml.etree.ElementTree as ET
html = open(sys.argv[1], encoding="utf-8").read()
report = json.load(open(sys.argv[2]))
svg_text = re.search(r'<svg class="gantt".*?</svg>', html, re.S).group(0)
svg = ET.fromstring(svg_text)  # the SVG itself is well-formed XML
mpp = float(svg.get("data-ms-per-px"))
left = float(svg.get("data-left"))
min_width = float(svg.get("data-min-width"))
bars = [e for e in svg.iter("rect") if e.get("class", "").split()[:1] == ["bar"]]
entries = report["checks"] + report["steps"] + report["rollbacks"]
got = [(b.get("data-phase"), b.get("data-name")) for b in bars]
want = [(e["phase"], e["name"]) for e in entries]
assert got == want, f"order {got} != {want}"
assert [int(b.get("data-index")) for b in bars] == list(range(len(bars)))
def ms(text):
    return datetime.datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(
        tzinfo=datetime.timezone.utc).timestamp() * 1000
origin = ms(report["started_at"])
for bar, entry in zip(bars, entries):
    start, duration = float(bar.get("data-start-ms")), float(bar.get("data-duration-ms"))
    x, width = float(bar.get("x")), float(bar.get("width"))
    assert abs(duration - entry["duration_ms"]) < 0.01, (entry["name"], duration)
    assert abs(start - (ms(entry["started_at"]) - origin)) < 1.5, (entry["name"], start)
    assert abs(x - (left + start / mpp)) < 0.01, (entry["name"], x)
    assert abs(width - max(duration / mpp, min_width)) < 0.01, (entry["name"], width)
# Proportional: width / duration is one constant (1 / ms-per-px) for every bar above the
# minimum width, to the rounding of three decimals.
wide = [b for b in bars if float(b.get("width")) > min_width + 0.01]
assert wide, "no bar above the minimum width"
for b in wide:
    width, duration = float(b.get("width")), float(b.get("data-duration-ms"))
    assert abs(width / duration * mpp - 1) < 0.001 / width + 1e-6, (b.get("data-name"), width, duration)
print(len(bars), "bars", f"{mpp:.4f} ms/px")
PY
  then pass "$1: bars in journal order, x and width linear in ms ($(cat "$WORK/$1.geometry"))"
  else fail "$1: geometry" "$(tail -5 "$WORK/$1.geometry")"; fi
}

# screenshot NAME HTML: headless Chromium renders it (its own profile; killed by PID after 60 s).
screenshot() {
  local png="$WORK/$1.png" pid
  setsid chromium --headless --no-sandbox --disable-gpu --user-data-dir="$WORK/chromium-$1" \
    --screenshot="$png" --window-size=1200,1600 "file://$2" >"$WORK/$1.chromium" 2>&1 </dev/null &
  pid=$!
  STARTED_PIDS+=("$pid")
  for _ in $(seq 600); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  if kill -0 "$pid" 2>/dev/null; then
    kill -KILL -- "-$pid" 2>/dev/null
    fail "$1: chromium still running after 60 s (killed)"
  fi
  wait "$pid" 2>/dev/null
  local size
  size=$(stat -c %s "$png" 2>/dev/null || echo 0)
  [ "$size" -gt 20000 ] && pass "$1: headless Chromium renders it ($size-byte PNG)" || fail "$1: no real screenshot ($size bytes)" "$(tail -3 "$WORK/$1.chromium")"
}

# ---------------------------------------------------------------- a run, then `drctl report`
check run 2 --state-dir "$STATE" run --yes --html "$WORK/run.html" "$WORK/p.yaml"
run_id=$(sed -n 's/.*(run \([0-9A-Za-z-]*\)).*/\1/p' "$WORK/run.out" | head -1)
[ -n "$run_id" ] && pass "run id $run_id" || fail "no run id" "$(head -3 "$WORK/run.out")"
[ -s "$WORK/run.html" ] && pass "run --html wrote the report" || fail "run --html wrote nothing"
[ "$(stat -c %a "$WORK/run.html")" = 644 ] && pass "the report is mode 0644" || fail "mode $(stat -c %a "$WORK/run.html")"
check show-json 0 --state-dir "$STATE" show "$run_id" --output json
report_is show-json 'r["result"]' rolled_back
report_is show-json '[x["name"] for x in r["rollbacks"]]' "['breaks', 'slow', 'medium', 'fast']"
# Proof the secret reached the step (masked in its output), so its absence below means something.
report_is show-json 's["fast"]["outputs"]["stdout"]' "token=***"

check report 0 --state-dir "$STATE" report "$run_id" --html "$WORK/report.html"
contains "report says what it wrote" "$WORK/report.err" "wrote $WORK/report.html (run $run_id: rolled_back)"
for f in run report; do
  xml_ok "$f" "$WORK/$f.html"
  lacks "$f: no secret" "$WORK/$f.html" "$token"
  lacks "$f: no <script" "$WORK/$f.html" "<script"
  contains "$f: the failing step's stderr, escaped" "$WORK/$f.html" "&lt;script&gt;alert(1)&lt;/script&gt; ***"
  if grep -qE '(src|href)=|@import|url\(http' "$WORK/$f.html"; then fail "$f: an external resource"; else pass "$f: no external resource"; fi
  contains "$f: the SLA verdict" "$WORK/$f.html" "<small>of 10 s</small>"
  contains "$f: no read probe" "$WORK/$f.html" "no read probe"
  contains "$f: no write probe" "$WORK/$f.html" "no write probe"
  contains "$f: the operator" "$WORK/$f.html" "<dt>operator</dt><dd>$(id -un) @ $(hostname)</dd>"
  geometry "$f" "$WORK/$f.html" "$WORK/show-json.out"
done
# The sleeps, seen in the widths: slow (0.6 s) > medium (0.3 s) > fast (0.1 s).
widths=$(python3 -c 'import re,sys; h=open(sys.argv[1]).read(); print(" ".join(re.search(r"data-phase=\"step\" data-name=\"%s\"[^>]* width=\"([^\"]+)\"" % n, h).group(1) for n in ("fast","medium","slow")))' "$WORK/report.html")
python3 -c 'import sys; f,m,s=map(float,sys.argv[1:]); assert s > m > f, (f,m,s)' $widths \
  && pass "widths follow the sleeps: $widths" || fail "widths: $widths"
contains "the over-budget step's bracket" "$WORK/report.html" 'class="budget over"'
contains "the rollbacks' lane" "$WORK/report.html" '>rollbacks</text>'
screenshot report "$WORK/report.html"

# Print: Chromium's PDF of it is A4 (the page's @page rule), several pages long at most.
setsid chromium --headless --no-sandbox --disable-gpu --user-data-dir="$WORK/chromium-pdf" \
  --no-pdf-header-footer --print-to-pdf="$WORK/report.pdf" "file://$WORK/report.html" >"$WORK/pdf.chromium" 2>&1 </dev/null &
pdf_pid=$!
STARTED_PIDS+=("$pdf_pid")
for _ in $(seq 600); do kill -0 "$pdf_pid" 2>/dev/null || break; sleep 0.1; done
kill -KILL -- "-$pdf_pid" 2>/dev/null; wait "$pdf_pid" 2>/dev/null
if python3 - "$WORK/report.pdf" <<'PY'
import re, sys
pdf = open(sys.argv[1], "rb").read()
boxes = re.findall(rb"/MediaBox\s*\[\s*0 0 ([\d.]+) ([\d.]+)\s*\]", pdf)
assert boxes, "no page"
for w, h in boxes:
    assert abs(float(w) - 595.3) < 2 and abs(float(h) - 841.9) < 2, (w, h)
PY
then pass "prints on A4 pages"; else fail "the PDF is not A4" "$(tail -3 "$WORK/pdf.chromium")"; fi

# show writes it too; report needs --html and a run that exists.
check show-html 0 --state-dir "$STATE" show "$run_id" --html "$WORK/show.html"
cmp -s "$WORK/show.html" "$WORK/report.html" && pass "show --html writes the same report" || fail "show --html differs from report --html"
check report-no-html 64 --state-dir "$STATE" report "$run_id"
[ "$(wc -l < "$WORK/report-no-html.err")" -eq 1 ] && contains "report without --html: one line" "$WORK/report-no-html.err" "--html FILE is required" || fail "report without --html: $(cat "$WORK/report-no-html.err")"
check report-unknown 64 --state-dir "$STATE" report 20200101T000000Z-000000 --html "$WORK/none.html"
[ ! -e "$WORK/none.html" ] && pass "nothing written for an unknown run" || fail "a report for an unknown run"
mkdir -p "$WORK/shared" && chmod 0777 "$WORK/shared"
check html-shared-dir 64 --state-dir "$STATE" run --yes --html "$WORK/shared/r.html" "$WORK/p.yaml"
contains "--html into a directory others can write: refused before anything runs" "$WORK/html-shared-dir.err" "--html $WORK/shared/r.html: "
[ ! -e "$WORK/shared/r.html" ] && pass "nothing ran, nothing written" || fail "wrote into a shared directory"

# ---------------------------------------------------------------- a check run (only checks)
check check 0 --state-dir "$STATE" check --html "$WORK/check.html" "$WORK/p.yaml"
xml_ok check "$WORK/check.html"
contains "check: no steps" "$WORK/check.html" ">no steps<"
[ "$(grep -o 'class="bar ' "$WORK/check.html" | wc -l)" -eq 2 ] && pass "check: two bars" || fail "check: $(grep -o 'class="bar ' "$WORK/check.html" | wc -l) bars"

# ---------------------------------------------------------------- a killed run (no end)
cat > "$WORK/k.yaml" <<'YAML'
version: 1
name: killed
steps:
  - name: first
    exec: {argv: ["true"]}
  - name: sleepy
    exec: {argv: [sleep, "30"]}
YAML
setsid "$DRCTL" --state-dir "$STATE" run --yes "$WORK/k.yaml" >"$WORK/killed.out" 2>&1 </dev/null &
killed_pid=$!
STARTED_PIDS+=("$killed_pid")
for _ in $(seq 200); do grep -q "step     sleepy (exec" "$WORK/killed.out" && break; sleep 0.05; done
kill -KILL -- "-$killed_pid" 2>/dev/null; wait "$killed_pid" 2>/dev/null
killed_id=$(sed -n 's/.*(run \([0-9A-Za-z-]*\)).*/\1/p' "$WORK/killed.out" | head -1)
journal="$STATE/runs/$killed_id.jsonl"
sleepy_pgid=$(python3 -c 'import json,sys; print([json.loads(l)["pgid"] for l in open(sys.argv[1]) if "\"entry_process\"" in l][-1])' "$journal" 2>/dev/null)
[ -n "$sleepy_pgid" ] && kill -KILL -- "-$sleepy_pgid" 2>/dev/null
check report-killed 0 --state-dir "$STATE" report "$killed_id" --html "$WORK/killed.html"
xml_ok killed "$WORK/killed.html"
contains "killed: no exit code" "$WORK/killed.html" "none (the run has no end)"
contains "killed: the step without an end is unknown" "$WORK/killed.html" 'class="bar unknown unknown"'
contains "killed: the operator's host, from the journal" "$WORK/killed.html" " @ $(hostname)</dd>"

# ---------------------------------------------------------------- from the etcd copy (--playbook)
start_etcd E 1
cat > "$WORK/e.yaml" <<YAML
version: 1
name: locked
lock: {etcd: {endpoints: [$ETCD_E]}, key: /drctl/locks/html, ttl: 2s}
steps:
  - name: one
    exec: {argv: [sh, -c, 'sleep 0.1']}
  - name: two
    exec: {argv: ["true"]}
YAML
check etcd-run 0 --state-dir "$WORK/state-e" run --yes "$WORK/e.yaml"
etcd_id=$(sed -n 's/.*(run \([0-9A-Za-z-]*\)).*/\1/p' "$WORK/etcd-run.out" | head -1)
check etcd-report-local 64 --state-dir "$WORK/empty" report "$etcd_id" --html "$WORK/nowhere.html"
contains "not in an empty state dir: says --playbook reads the etcd copy" "$WORK/etcd-report-local.err" "--playbook FILE also reads the etcd copy"
check etcd-report 0 --state-dir "$WORK/empty" report "$etcd_id" --playbook "$WORK/e.yaml" --html "$WORK/etcd.html"
xml_ok etcd "$WORK/etcd.html"
contains "etcd copy: the run's report" "$WORK/etcd.html" "<dt>run id</dt><dd>$etcd_id</dd>"
[ "$(grep -o 'class="bar ' "$WORK/etcd.html" | wc -l)" -eq 2 ] && pass "etcd copy: two bars" || fail "etcd copy: $(grep -o 'class="bar ' "$WORK/etcd.html" | wc -l) bars"

# ---------------------------------------------------------------- 500 steps
{
  printf 'version: 1\nname: five-hundred\nsteps:\n'
  for i in $(seq 499); do printf '  - name: s%d\n    exec: {argv: ["true"]}\n' "$i"; done
  # One long step, so that one bar stays wider than the minimum however slow the 499 others are
  # (under ASan they can stretch the scale until every short bar is at the minimum).
  printf '  - name: s500\n    exec: {argv: [sleep, "1"]}\n'
} > "$WORK/big.yaml"
check big-run 0 --state-dir "$STATE" run --yes -q --html "$WORK/big-run.html" "$WORK/big.yaml"
big_id=$(python3 -c 'import json,sys; print([r["run_id"] for r in json.load(sys.stdin) if r["playbook"] == "five-hundred"][0])' < <("$DRCTL" --state-dir "$STATE" runs --output json))
check big-report 0 --state-dir "$STATE" report "$big_id" --html "$WORK/big.html"
size=$(stat -c %s "$WORK/big.html")
[ "$size" -lt 2000000 ] && pass "500 steps: $size bytes (< 2 MB)" || fail "500 steps: $size bytes"
xml_ok big "$WORK/big.html"
[ "$(grep -o 'class="bar ' "$WORK/big.html" | wc -l)" -eq 500 ] && pass "500 steps: 500 bars" || fail "500 steps: $(grep -o 'class="bar ' "$WORK/big.html" | wc -l) bars"
check big-json 0 --state-dir "$STATE" show "$big_id" --output json
geometry big "$WORK/big.html" "$WORK/big-json.out"

# ---------------------------------------------------------------- bash completion
complete_words() {  # complete_words WORDS...: what the completion offers for the last word
  XDG_STATE_HOME="$WORK" bash -c '. "$1"; shift; COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); _drctl; printf "%s\n" "${COMPREPLY[@]}"' _ \
    "$SOURCE_DIR/cli/drctl.bash-completion" "$@"
}
ln -sfn "$STATE" "$WORK/drctl"  # the completion reads run ids from $XDG_STATE_HOME/drctl/runs
[ "$(complete_words drctl rep)" = report ] && pass "completion: drctl rep -> report" || fail "completion: drctl rep -> $(complete_words drctl rep)"
complete_words drctl report --h | grep -qx -- --html && pass "completion: report --h -> --html" || fail "completion: report --h"
complete_words drctl run --ht | grep -qx -- --html && pass "completion: run --ht -> --html (global)" || fail "completion: run --ht"
complete_words drctl report "${run_id:0:8}" | grep -qx -- "$run_id" && pass "completion: report completes run ids" || fail "completion: report run ids"
finish
