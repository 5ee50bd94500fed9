#!/usr/bin/env bash
# JSON on stdout (logs on stderr), typed fields, and JUnit read back by a real XML parser.
. "$(dirname "$0")/lib.sh"
require_tool xmllint
require_tool python3
/usr/bin/python3 -c 'import jsonschema' 2>/dev/null || { [ -n "${CI:-}" ] && exit 1; echo "skipped: python3-jsonschema missing"; exit 125; }

cat > "$WORK/p.yaml" <<YAML
version: 1
name: reports & <co>
sla: {total: 10s}
checks:
  - {name: c1, exec: {argv: ["true"]}}
  - {name: c2, exec: {argv: [echo, hello]}}
steps:
  - {name: s1, budget: 5s, exec: {argv: [echo, "rev=42"]}, rollback: {exec: {argv: ["true"]}}}
  - {name: s2, exec: {argv: [sh, -c, 'echo "got \$0"', "\${steps.s1.stdout}"]}, rollback: {exec: {argv: ["true"]}}}
  - {name: s3, exec: {argv: [sh, -c, 'exit 4']}, rollback: {exec: {argv: ["true"]}}}
YAML
check json 2 run --yes --output json --junit "$WORK/junit.xml" "$WORK/p.yaml"
if /usr/bin/python3 - "$WORK/json.out" <<'PY'
import json, sys
doc = json.load(open(sys.argv[1]))            # stdout is exactly one JSON document
assert doc["schema"] == "drctl.report/v1"
assert doc["result"] == "rolled_back" and doc["exit_code"] == 2
assert isinstance(doc["run_id"], str) and doc["playbook"]["name"] == "reports & <co>"
assert doc["playbook"]["hash"].startswith("xxh3-128:")
for section in ("checks", "steps", "rollbacks"):
    for e in doc[section]:
        assert isinstance(e["duration_ms"], (int, float)), e
        assert isinstance(e["attempts"], int) and e["attempts"] >= 1, e
        for key in ("name", "kind", "status", "message", "started_at", "finished_at"):
            assert isinstance(e[key], str), (key, e)
        assert e["started_at"].endswith("Z") and isinstance(e["evidence"], dict)
assert [s["status"] for s in doc["steps"]] == ["ok", "ok", "failed"]
assert doc["steps"][1]["outputs"]["stdout"] == "got rev=42"
assert doc["steps"][2]["evidence"]["exit_code"] == 4
assert [r["name"] for r in doc["rollbacks"]] == ["s3", "s2", "s1"]
assert doc["totals"]["checks"]["ok"] == 2
assert doc["sla"]["verdict"] == "not_evaluated" and doc["sla"]["total_budget_ms"] == 10000
PY
then pass "JSON report: one document, typed fields, outputs and evidence"; else fail "JSON report content" "$(head -c 400 "$WORK/json.out")"; fi
contains "progress went to stderr" "$WORK/json.err" "step     s1 ok"
# Every report validates against the report's own JSON Schema (`drctl schema report`), and
# outputs keep their types: exit_code is a number, text stays text.
"$DRCTL" schema report > "$WORK/report.schema.json"
valid_report() {  # valid_report NAME: NAME.out against the schema
  if /usr/bin/python3 - "$WORK/report.schema.json" "$WORK/$1.out" 2>"$WORK/$1.schema.err" <<'PY'
import json, sys, jsonschema
schema = json.load(open(sys.argv[1]))
errors = list(jsonschema.Draft7Validator(schema).iter_errors(json.load(open(sys.argv[2]))))
for e in errors[:5]: print(list(e.absolute_path), e.message, file=sys.stderr)
sys.exit(1 if errors else 0)
PY
  then pass "$1: the report is valid against 'drctl schema report'"; else fail "$1: report not valid" "$(cat "$WORK/$1.schema.err")"; fi
}
valid_report json
report_is json 's["s3"]["outputs"]["exit_code"]' 4
report_is json 'type(s["s1"]["outputs"]["stdout"]).__name__' str
# A run with the availability probe (a fixture answering 200), and its dry run.
start_fixture probed a
cat > "$WORK/probe.yaml" <<YAML
version: 1
name: probed
sla: {total: 10s, probe: {url: "http://127.0.0.1:$PORT_probed/health", interval: 20ms, p99: 2s, max_error_rate: "50%"}}
steps:
  - {name: pause, read_only: true, exec: {argv: [sleep, "0.3"]}}
YAML
check probe-report 0 run --yes --output json "$WORK/probe.yaml"
valid_report probe-report
report_is probe-report 'r["sla"]["probe"]["requests"] > 3' True
check dry-report 0 run --dry-run --output json "$WORK/probe.yaml"
valid_report dry-report

if xmllint --noout "$WORK/junit.xml" 2>"$WORK/xmllint.err"; then pass "JUnit is well-formed XML"; else fail "JUnit XML" "$(cat "$WORK/xmllint.err")"; fi
cases=$(xmllint --xpath 'count(//testcase)' "$WORK/junit.xml")
[ "$cases" = "8" ] && pass "JUnit has one testcase per check, step and rollback (8)" || fail "JUnit testcases: $cases"
failures=$(xmllint --xpath 'string(//testsuite[@name="reports & <co>.steps"]/@failures)' "$WORK/junit.xml")
[ "$failures" = "1" ] && pass "JUnit steps suite counts 1 failure" || fail "JUnit failures: '$failures'"
msg=$(xmllint --xpath 'string(//testcase[@name="s3"]/failure/@message)' "$WORK/junit.xml")
[ "$msg" = "'sh' exited with 4 (expected 0)" ] && pass "JUnit failure message" || fail "JUnit failure message: $msg"
time_attr=$(xmllint --xpath 'string(//testcase[@name="s1"]/@time)' "$WORK/junit.xml")
[[ $time_attr =~ ^[0-9]+\.[0-9]{6}$ ]] && pass "JUnit time in seconds ($time_attr)" || fail "JUnit time: $time_attr"

check text 2 run --yes "$WORK/p.yaml"
if grep -q $'\033' "$WORK/text.out"; then fail "colour codes on a non-TTY"; else pass "no colour codes off a TTY"; fi
contains "table has a header" "$WORK/text.out" "PHASE      NAME"
contains "table row for a rollback" "$WORK/text.out" "rollback   s3"
contains "final line" "$WORK/text.out" "result: rolled_back (exit 2): step 's3' failed; 3 rollback(s) succeeded"
check quiet 2 run --yes --quiet "$WORK/p.yaml"
lacks "quiet hides successes" "$WORK/quiet.out" "step     s1 ok"
contains "quiet keeps failures" "$WORK/quiet.out" "s3 failed"
check verbose 2 run --yes -v "$WORK/p.yaml"
contains "verbose shows evidence" "$WORK/verbose.out" '"exit_code":4'
# A step whose output is not UTF-8 (a legacy script printing GBK, or binary) must not stop the
# run: the later step runs; report, JUnit and journal are valid, with U+FFFD for the bad bytes.
cat > "$WORK/gbk.yaml" <<'YAML'
version: 1
name: gbk
steps:
  - {name: legacy, read_only: true, exec: {argv: [sh, -c, 'printf "\307\320\273\273 done\n"; printf "\377" >&2']}}
  - {name: after, read_only: true, exec: {argv: ["true"]}}
YAML
check gbk 0 --state-dir "$WORK/state-gbk" run --yes --output json --junit "$WORK/gbk.xml" "$WORK/gbk.yaml"
report_is gbk 's["legacy"]["outputs"]["stdout"].strip()' "$(printf '\357\277\275\320\273\357\277\275 done')"
report_is gbk '[x["status"] for x in r["steps"]]' "['ok', 'ok']"
xmllint --noout "$WORK/gbk.xml" 2>"$WORK/gbk-xmllint.err" && pass "gbk: the JUnit file is well-formed" || fail "gbk: JUnit" "$(cat "$WORK/gbk-xmllint.err")"
python3 -c 'import json,sys; [json.loads(l) for l in open(sys.argv[1], encoding="utf-8")]' "$WORK"/state-gbk/runs/*.jsonl \
  && pass "gbk: every journal line is valid UTF-8 JSON" || fail "gbk: the journal is not valid UTF-8 JSON"
# With stdout (or stderr) closed, the first file drctl opens must not become fd 1 or 2: the
# journal once received the whole JSON report and the progress lines this way.
"$DRCTL" --state-dir "$WORK/state-closed" run --yes --output json "$WORK/gbk.yaml" >&- 2>&-; RC=$?
LAST=closed-stdout; expect_rc "closed stdout and stderr" 0
python3 -c '
import json, sys
lines = open(sys.argv[1], encoding="utf-8").read().splitlines()
assert all(json.loads(l).get("type") for l in lines), "a line that is not a journal record"
assert not any(json.loads(l).get("schema") == "drctl.report/v1" for l in lines), "the report is in the journal"
' "$WORK"/state-closed/runs/*.jsonl 2>"$WORK/closed.err" \
  && pass "closed stdout: the journal holds journal records only" || fail "closed stdout: the journal holds other output" "$(cat "$WORK/closed.err")"
finish
