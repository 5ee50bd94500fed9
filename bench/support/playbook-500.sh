#!/usr/bin/env bash
# Prints the benchmarks' 500-step playbook: 20 http checks, 500 exec steps, each with a budget,
# env, interpolation and a rollback (~3,500 lines, 85 KB). Used by startup.sh and ab.sh.
printf 'version: 1\nname: bench-500\nvars: {url: "http://127.0.0.1:9"}\ndefaults: {timeout: 5s}\nsla: {total: 23s}\n'
printf 'checks:\n'
for i in $(seq 1 20); do printf '  - name: check-%d\n    http: {url: "${vars.url}/health/%d", expect_status: [200]}\n' "$i" "$i"; done
printf 'steps:\n'
for i in $(seq 1 500); do
  printf '  - name: step-%d\n    budget: 40ms\n    exec:\n      argv: [echo, "step %d", "${vars.url}"]\n      env: {N: "%d"}\n' "$i" "$i" "$i"
  printf '    rollback:\n      exec: {argv: [echo, "undo %d"]}\n' "$i"
done
