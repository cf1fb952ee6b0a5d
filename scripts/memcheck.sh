#!/usr/bin/env bash
# Runs the Rust unit tests and a Node smoke test of every native entry point
# under valgrind's memcheck, against the release build `npm install` made.
# Slow (minutes): it is a check to run by hand, not part of .ci/run.
# Prints valgrind's error summary of each run; exits non-zero on an error.
set -uo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/rocksdb-branch/target}"
command -v valgrind >/dev/null || { echo "valgrind is missing (apt-get install valgrind)"; exit 1; }
host=$(rustc -vV | sed -n 's/^host: //p')
status=0

echo "== Rust unit tests under memcheck"
node scripts/cargo.js test --release --lib --no-run 2>&1 | tail -1
tests=$(ls -t "$CARGO_TARGET_DIR/$host/release/deps/rocksdb_branch-"* | grep -v '\.d$' | head -1)
valgrind --error-exitcode=9 --leak-check=no "$tests" --test-threads=1 2>&1 | grep -E 'ERROR SUMMARY|test result' || status=1
[ "${PIPESTATUS[0]}" -eq 0 ] || status=1

echo "== Node smoke test under memcheck"
# V8 generates code at run time (memcheck must re-read it); the suppression
# file names V8's own deliberate reads of uninitialised stack.
valgrind --error-exitcode=9 --leak-check=no --smc-check=all-non-file --suppressions=scripts/memcheck.supp \
  node --expose-gc --jitless scripts/smoke.js 2>&1 | grep -E 'ERROR SUMMARY|smoke|Invalid|uninitialised' | head -40
[ "${PIPESTATUS[0]}" -eq 0 ] || status=1
exit $status
