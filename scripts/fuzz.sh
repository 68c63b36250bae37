#!/usr/bin/env bash
# Runs every Fuzz target in the module for the given time each (default 20s).
set -euo pipefail
t=${1:-20s}
log=$(mktemp)
trap 'rm -f "$log"' EXIT
go list -f '{{.ImportPath}} {{.Dir}}' ./... | while read -r pkg dir; do
  for f in $(grep -hoE '^func (Fuzz[A-Za-z0-9_]+)\(' "$dir"/*_test.go 2>/dev/null | sed -E 's/^func (Fuzz[A-Za-z0-9_]+)\(/\1/' | sort -u); do
    echo "fuzz: $pkg $f ($t)"
    if ! go test -run '^$' -fuzz "^$f\$" -fuzztime "$t" "$pkg" >"$log" 2>&1; then
      # Under heavy load the fuzzing engine itself can miss its own
      # deadline ("context deadline exceeded") without any failing input;
      # that run proves nothing either way, so it is run once more.
      if grep -q 'context deadline exceeded' "$log" && ! grep -q 'Failing input written to' "$log"; then
        echo "fuzz: $pkg $f: the fuzzing engine timed out without a failing input; running it again"
        go test -run '^$' -fuzz "^$f\$" -fuzztime "$t" "$pkg" >"$log" 2>&1 || { cat "$log"; exit 1; }
      else
        cat "$log"; exit 1
      fi
    fi
  done
done
echo "fuzz: all targets passed"
