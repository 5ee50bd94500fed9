#!/usr/bin/env bash
# The ecosystem around the binary: --push-metrics against a real Prometheus Pushgateway (the
# run's durations and SLA verdict arrive, an unreachable gateway is an error line that changes
# no exit code), the bash completion, and `drctl help`. The Debian package has its own test
# (tests/package/clean_install.sh: built, lintian-clean, installed by apt on a clean root).
. "$(dirname "$0")/lib.sh"
require_tool prometheus-pushgateway

# ---------------------------------------------------------------- Pushgateway
pgw_port=$(closed_port)
setsid prometheus-pushgateway --web.listen-address="127.0.0.1:$pgw_port" --persistence.file="$WORK/pgw.data" \
  </dev/null >"$WORK/pgw.log" 2>&1 &
STARTED_PIDS+=($!)
for _ in $(seq 100); do curl -sf -o /dev/null "http://127.0.0.1:$pgw_port/-/ready" && break; sleep 0.05; done
cat > "$WORK/metrics.yaml" <<YAML
version: 1
name: metrics-drill
sla: {total: 5s}
checks:
  - name: sane
    exec: {argv: ["true"]}
steps:
  - name: first
    budget: 2s
    read_only: true
    exec: {argv: [sleep, "0.2"]}
  - name: second
    read_only: true
    exec: {argv: ["true"]}
YAML
check push 0 run --yes --push-metrics "http://127.0.0.1:$pgw_port" "$WORK/metrics.yaml"
curl -s "http://127.0.0.1:$pgw_port/metrics" > "$WORK/pgw.metrics"
got=$(python3 - "$WORK/pgw.metrics" <<'PY'
import re, sys
text = open(sys.argv[1]).read()
def value(pattern):
    m = re.search(pattern + r'.* ([0-9.e+-]+)$', text, re.M)
    return float(m.group(1)) if m else None
first = value(r'^drctl_entry_duration_seconds\{.*job="drctl".*name="first".*playbook="metrics-drill".*status="ok"')
print("first_ok" if first is not None and 0.2 <= first < 2 else f"first={first}",
      "sla_met" if value(r'^drctl_sla_met\{.*playbook="metrics-drill"') == 1 else "sla?",
      "exit_0" if value(r'^drctl_run_exit_code\{.*playbook="metrics-drill"') == 0 else "exit?",
      "budget_2" if value(r'^drctl_step_budget_seconds\{.*name="first"') == 2 else "budget?")
PY
)
[ "$got" = "first_ok sla_met exit_0 budget_2" ] && pass "pushgateway: per-step durations, SLA verdict, exit code and budget arrived" \
  || fail "pushgateway: $got" "$(grep drctl_ "$WORK/pgw.metrics" | head -5)"
check push-unreachable 0 run --yes --push-metrics "http://127.0.0.1:$(closed_port)" "$WORK/metrics.yaml"
contains push-unreachable-says "$WORK/push-unreachable.err" "drctl: error: --push-metrics http://127.0.0.1:"
check push-bad-url 64 run --yes --push-metrics "ftp://x" "$WORK/metrics.yaml"

# ---------------------------------------------------------------- bash completion
complete_words() {  # complete_words WORDS...: what the completion offers for the last word
  bash -c '. "$1"; shift; COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); _drctl; printf "%s\n" "${COMPREPLY[@]}"' _ \
    "$SOURCE_DIR/cli/drctl.bash-completion" "$@"
}
[ "$(complete_words drctl ru | sort | tr '\n' ' ')" = "run runs " ] && pass "completion: drctl ru -> run runs" || fail "completion: $(complete_words drctl ru)"
complete_words drctl run --re | grep -qx -- --resume && pass "completion: run --re -> --resume" || fail "completion: run --re"
complete_words drctl probe "" | grep -qx etcd-watch && pass "completion: probe subcommands" || fail "completion: probe"

# ---------------------------------------------------------------- help
check help-playbook 0 help playbook
for kind in consul mysql grpc_health etcd_watch_handoff cache_warmup routing_reload; do
  grep -q "^$kind (" "$WORK/help-playbook.out" || fail "help playbook: no $kind"
done
contains help-playbook-lists-kinds "$WORK/help-playbook.out" "routing_reload (step): Flip the route"
check help-kind 0 help playbook mysql
contains help-kind-fields "$WORK/help-kind.out" "max_lag"
check help-unknown-kind 64 help playbook nope
contains help-unknown-kind-says "$WORK/help-unknown-kind.err" "no kind 'nope'"
check help-exit-codes 0 help exit-codes
contains help-exit-codes-6 "$WORK/help-exit-codes.out" "journal_failed"

# ---------------------------------------------------------------- systemd unit
# The flags of DRCTL_SERVE_OPTS, in the unit's default and in docs/serve.md's drop-in, are
# drctl serve's (tests/package/clean_install.sh runs systemd-analyze verify and the unit's command).
check serve-help 0 serve --help
opts=$(sed -n 's/.*"DRCTL_SERVE_OPTS=\([^"]*\)".*/\1/p' "$SOURCE_DIR/cmake/debian/drctl-serve@.service" "$SOURCE_DIR/docs/serve.md")
unknown=""
for o in $opts; do
  case $o in --*) grep -qE -- "(^|[ ,])$o( |$)" "$WORK/serve-help.out" || unknown+=" $o" ;; esac
done
[ "$(grep -c -- --listen <<<"$opts")" = 2 ] && [ -z "$unknown" ] \
  && pass "systemd unit: drctl serve takes every flag of DRCTL_SERVE_OPTS ($(tr '\n' ' ' <<<"$opts"))" \
  || fail "systemd unit: DRCTL_SERVE_OPTS: '$opts', flags drctl serve does not take:$unknown"

finish
