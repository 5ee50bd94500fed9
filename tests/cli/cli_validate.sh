#!/usr/bin/env bash
# drctl validate on the whole corpus, the schema against every example, and usage errors.
. "$(dirname "$0")/lib.sh"
require_tool python3
/usr/bin/python3 -c 'import jsonschema, yaml' 2>/dev/null || { [ -n "${CI:-}" ] && exit 1; echo "skipped: python3-jsonschema/python3-yaml missing"; exit 125; }

invalid_dir="$SOURCE_DIR/tests/data/playbooks/invalid"
n=0; bad=0
for f in "$invalid_dir"/*.yaml "$invalid_dir"/*.json; do
  n=$((n + 1))
  "$DRCTL" validate "$f" >/dev/null 2>"$WORK/v.err"; rc=$?
  first=$(head -1 "$WORK/v.err")
  if [ $rc -ne 65 ] || ! [[ $first =~ ^$f:[0-9]+:[0-9]+:\  ]]; then
    bad=$((bad + 1)); fail "invalid $(basename "$f"): exit $rc" "$first"
  fi
done
[ $bad -eq 0 ] && pass "all $n invalid playbooks exit 65 with file:line:col"
[ $n -ge 30 ] && pass "the corpus has $n invalid playbooks (>= 30)" || fail "only $n invalid playbooks"

for f in "$SOURCE_DIR"/playbooks/*.yaml "$SOURCE_DIR"/playbooks/examples/* "$SOURCE_DIR"/playbooks/templates/* "$SOURCE_DIR"/tests/data/playbooks/valid/*; do
  check "validate $(basename "$f")" 0 validate "$f"
done

# The committed schema is what this binary generates, and every example passes it.
"$DRCTL" schema > "$WORK/schema.json"
if cmp -s "$WORK/schema.json" "$SOURCE_DIR/playbooks/schema/playbook-v1.schema.json"; then pass "committed schema is current"; else fail "committed schema differs from 'drctl schema'"; fi
cat > "$WORK/schema_check.py" <<'PY'
import json, sys, yaml, jsonschema
schema = json.load(open(sys.argv[1]))
jsonschema.Draft7Validator.check_schema(schema)
status = 0
for path in sys.argv[2:]:
    doc = json.load(open(path)) if path.endswith(".json") else yaml.safe_load(open(path))
    errors = list(jsonschema.Draft7Validator(schema).iter_errors(doc))
    print(("FAIL " if errors else "ok ") + path + "".join("\n   " + e.message for e in errors[:3]))
    status |= bool(errors)
sys.exit(status)
PY
if /usr/bin/python3 "$WORK/schema_check.py" "$WORK/schema.json" "$SOURCE_DIR"/playbooks/*.yaml "$SOURCE_DIR"/playbooks/examples/* "$SOURCE_DIR"/playbooks/templates/* "$SOURCE_DIR"/tests/data/playbooks/valid/* > "$WORK/schema.out"; then
  pass "every example and valid playbook passes the JSON Schema"
else
  fail "schema rejects an example" "$(grep -A3 FAIL "$WORK/schema.out")"
fi
# Structural mistakes are caught by the schema as well as by drctl.
for f in unknown_top_key.yaml two_kinds.yaml no_kind.yaml argv_is_map.yaml bad_duration.yaml bad_on_breach.yaml unknown_key.json wrong_type.json; do
  if /usr/bin/python3 "$WORK/schema_check.py" "$WORK/schema.json" "$invalid_dir/$f" >/dev/null; then
    fail "schema accepts invalid $f"
  else
    pass "schema rejects invalid $f too"
  fi
done

check json-output 65 validate --output json "$invalid_dir/many_errors_at_once.yaml"
if /usr/bin/python3 - "$WORK/json-output.out" <<'PY'
import json, sys
doc = json.load(open(sys.argv[1]))
assert doc["valid"] is False
assert len(doc["diagnostics"]) == 5, doc["diagnostics"]
d = doc["diagnostics"][0]
assert isinstance(d["line"], int) and isinstance(d["column"], int) and d["line"] == 4 and d["column"] == 12, d
PY
then pass "validate --output json lists every error with line and column"; else fail "validate --output json"; fi

# Hostile input: nesting 20,000 levels deep is refused at the 65th level with its position
# (libyaml's cost grows with the square of the depth: it took 2.3 s before the limit).
python3 -c 'n = 20000; print("version: 1\nname: deep\nvars:\n  x: " + "[" * n + "]" * n)' > "$WORK/deep.yaml"
check deep-nesting 65 validate "$WORK/deep.yaml"
contains "deep nesting is a located error" "$WORK/deep-nesting.err" "deep.yaml:4:"
contains "deep nesting says why" "$WORK/deep-nesting.err" "nested deeper than 64 levels"
python3 -c 'n = 70; print("version: 1\nname: deep\nvars:\n" + "".join("  " * (i + 1) + "k%d:\n" % i for i in range(n)))' > "$WORK/deep-map.yaml"
check deep-map-nesting 65 validate "$WORK/deep-map.yaml"
contains "deep block mappings are refused too" "$WORK/deep-map-nesting.err" "nested deeper than 64 levels"
# on_resume: a check's, skip or run, known before the run starts.
printf 'version: 1\nname: r\nchecks:\n  - name: c\n    on_resume: maybe\n    exec: {argv: ["true"]}\n  - name: d\n    on_resume: "${run.id}"\n    exec: {argv: ["true"]}\nsteps:\n  - name: s\n    on_resume: run\n    exec: {argv: ["true"]}\n' > "$WORK/on-resume.yaml"
check on-resume 65 validate "$WORK/on-resume.yaml"
contains "on_resume: a bad value is located" "$WORK/on-resume.err" "on-resume.yaml:5:16: checks[0].on_resume"
contains "on_resume: a late reference is refused" "$WORK/on-resume.err" "checks[1].on_resume: 'on_resume' is needed before the run starts"
contains "on_resume: not on a step" "$WORK/on-resume.err" "steps[0].on_resume: on_resume belongs to checks"
# interval, min_interval: a check's serve schedule, above 0, known before it starts; not a step's.
printf 'version: 1\nname: i\nchecks:\n  - name: c\n    interval: 0s\n    exec: {argv: ["true"]}\n  - name: d\n    min_interval: "${run.id}"\n    exec: {argv: ["true"]}\n  - name: e\n    interval: 5s\n    min_interval: 2m\n    exec: {argv: ["true"]}\nsteps:\n  - name: s\n    interval: 1s\n    exec: {argv: ["true"]}\n' > "$WORK/interval.yaml"
check interval 65 validate "$WORK/interval.yaml"
contains "interval: 0 is located" "$WORK/interval.err" "interval.yaml:5:15: checks[0].interval: expected a duration above 0"
contains "min_interval: a late reference is refused" "$WORK/interval.err" "checks[1].min_interval: 'min_interval' is needed before the run starts"
contains "interval: not on a step" "$WORK/interval.err" "steps[0].interval: interval belongs to checks"
[ "$(grep -c 'error: checks\[2\]\|:[0-9]*: checks\[2\]' "$WORK/interval.err")" -eq 0 ] && pass "interval 5s, min_interval 2m: valid" || fail "checks[2] refused: $(cat "$WORK/interval.err")"
printf 'version: 1\nname: i\nchecks:\n  - name: c\n    min_interval: 1m\n    exec: {argv: ["true"]}\n' > "$WORK/min-interval-reads.yaml"
check min-interval-reads 0 validate "$WORK/min-interval-reads.yaml"
contains "min_interval on a check that only reads: a warning, located" "$WORK/min-interval-reads.err" \
  "min-interval-reads.yaml:5:5: warning: checks[0].min_interval: min_interval is for checks that write"
check recheck-alone 64 run --yes --recheck "$SOURCE_DIR/playbooks/examples/demo.yaml"
contains "--recheck needs --resume" "$WORK/recheck-alone.err" "--recheck only goes with --resume"
check unknown-flag 64 validate --frobnicate "$SOURCE_DIR/playbooks/examples/demo.yaml"
contains "unknown flag is a one-line error" "$WORK/unknown-flag.err" "drctl: error:"
check missing-file 64 validate "$WORK/nope.yaml"
contains "missing file is named" "$WORK/missing-file.err" "nope.yaml: cannot read the playbook file"
check bad-var 64 validate --var novalue "$SOURCE_DIR/playbooks/examples/demo.yaml"
check no-command 64
check bad-output 64 --output xml version
check var-override 0 validate --var backup=http://127.0.0.1:1 "$SOURCE_DIR/playbooks/examples/demo.yaml"
check plan 0 plan "$SOURCE_DIR/playbooks/examples/demo.yaml"
contains "plan lists a rollback" "$WORK/plan.out" "rollback: run rm -f /tmp/drctl-demo/frozen"
contains "plan sums the budgets against the SLA" "$WORK/plan.out" "budgets: 5s in all; sla.total: 23s"
check plan-json 0 plan --output json "$SOURCE_DIR/playbooks/examples/demo.yaml"
if /usr/bin/python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["budget_sum_ms"]==5000 and d["sla_total_ms"]==23000 and len(d["entries"])==8' "$WORK/plan-json.out"; then pass "plan --output json"; else fail "plan --output json"; fi
check version 0 version
contains "version names the report schema" "$WORK/version.out" "drctl.report/v1"
finish
