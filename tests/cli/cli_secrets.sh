#!/usr/bin/env bash
# Secrets from env and files are used, and never appear in stdout, stderr, JSON or JUnit,
# even when the server or the child process echoes them back.
. "$(dirname "$0")/lib.sh"
start_fixture echo b
URL="http://127.0.0.1:$PORT_echo"
token="tok-$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')"
filesecret="file-$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')"
printf '%s\n' "$filesecret" > "$WORK/secret.txt"
chmod 600 "$WORK/secret.txt"
export DRCTL_TEST_TOKEN="$token"

cat > "$WORK/s.yaml" <<YAML
version: 1
name: secrets
checks:
  - name: echo-token
    http:
      url: $URL/echo-header/X-Token
      headers_env: {X-Token: DRCTL_TEST_TOKEN}
      expect_body_contains: "header="
  - name: echo-file-secret
    http:
      url: $URL/echo-header/X-Key
      headers_file: {X-Key: $WORK/secret.txt}
      expect_body_contains: "no-such-text"
steps:
  - name: child-sees-secret
    exec:
      argv: [sh, -c, 'echo "child has \$TOKEN and \$KEY"; echo "\$TOKEN" >&2; exit 3']
      secret_env: {TOKEN: DRCTL_TEST_TOKEN}
      secret_file: {KEY: $WORK/secret.txt}
YAML
LAST=secrets
"$DRCTL" check -v --output json --junit "$WORK/s-junit.xml" "$WORK/s.yaml" >"$WORK/check.out" 2>"$WORK/check.err"
sed -i 's/no-such-text/header=/' "$WORK/s.yaml"
"$DRCTL" run --yes -v --output json --junit "$WORK/r-junit.xml" "$WORK/s.yaml" >"$WORK/run.out" 2>"$WORK/run.err"; RC=$?
expect_rc "a step whose child echoes secrets fails as scripted" 3
"$DRCTL" run --yes -v "$WORK/s.yaml" >"$WORK/text.out" 2>"$WORK/text.err"
"$DRCTL" plan "$WORK/s.yaml" >"$WORK/plan.out" 2>&1

# The child really received both secrets (proof the test is not vacuous), yet every output masks them.
if /usr/bin/python3 - "$WORK/run.out" <<'PY'
import json, sys
doc = json.load(open(sys.argv[1]))
step = doc["steps"][0]
assert step["outputs"]["stdout"] == "child has *** and ***", step["outputs"]
assert doc["checks"][0]["outputs"]["body"].strip() == "header=***", doc["checks"][0]["outputs"]
PY
then pass "secrets reached the server and the child, masked as ***"; else fail "secret delivery/masking" "$(head -c 600 "$WORK/run.out")"; fi
for f in check.out check.err run.out run.err text.out text.err plan.out s-junit.xml r-junit.xml; do
  lacks "env secret absent from $f" "$WORK/$f" "$token"
  lacks "file secret absent from $f" "$WORK/$f" "$filesecret"
done
# The run journals too.
journals=$(cat "$XDG_STATE_HOME"/drctl/runs/*.jsonl 2>/dev/null)
[ -n "$journals" ] && pass "the runs were journaled" || fail "no journal under $XDG_STATE_HOME"
grep -qF -- "$token" <<<"$journals" && fail "env secret found in a journal" || pass "env secret absent from the journals"
grep -qF -- "$filesecret" <<<"$journals" && fail "file secret found in a journal" || pass "file secret absent from the journals"

# A secret followed by 2040 bytes: a tail cut 2048 bytes from the end falls inside the secret.
# Masked after the cut, its last 8 characters leaked into the report and the journal.
cat > "$WORK/cut.yaml" <<YAML
version: 1
name: cut
steps:
  - name: cut-secret
    exec:
      argv: [sh, -c, 'printf "token=%s" "\$TOKEN"; printf "%2040s" "" | tr " " x; echo; exit 3']
      secret_env: {TOKEN: DRCTL_TEST_TOKEN}
YAML
"$DRCTL" --state-dir "$WORK/state-cut" run --yes -v --output json "$WORK/cut.yaml" >"$WORK/cut.out" 2>"$WORK/cut.err"
python3 -c 'import json,sys; t=json.load(open(sys.argv[1]))["steps"][0]["evidence"]["stdout_tail"]; assert t.endswith("x" * 2040 + "\n") or t.endswith("x" * 2040), t[:40]' "$WORK/cut.out" \
  && pass "cut: the tail is there (the test is not vacuous)" || fail "cut: no stdout_tail" "$(head -c 300 "$WORK/cut.out")"
lacks "cut: no end of the secret in the report" "$WORK/cut.out" "${token: -8}"
lacks "cut: no end of the secret on stderr" "$WORK/cut.err" "${token: -8}"
grep -qF -- "${token: -8}" "$WORK"/state-cut/runs/*.jsonl && fail "cut: the end of the secret is in the journal" || pass "cut: no end of the secret in the journal"

cat > "$WORK/missing.yaml" <<YAML
version: 1
name: missing
checks:
  - name: c
    http: {url: "$URL/health", headers_env: {X-Token: DRCTL_TEST_UNSET_TOKEN}}
YAML
check missing-secret 1 check "$WORK/missing.yaml"
contains "a missing secret names its variable" "$WORK/missing-secret.out" "headers_env.X-Token: environment variable DRCTL_TEST_UNSET_TOKEN is not set"
finish
