#!/usr/bin/env bash
# scripts/regenerate-results --check in a scratch repository: results measured at the last kernel
# change are current (exit 0); a later kernel commit, or a commit the repository lacks, makes them
# stale (exit 1, naming the file).
set -euo pipefail
script=$1
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
git init -q .
git config user.email test@example.com
git config user.name test
mkdir -p scripts kernels results
cp "$script" scripts/regenerate-results
record() { printf '{"case_id": "x", "machine": {"commit": "%s"}}\n' "$1" > results/lra.jsonl; }
fail() { echo "check_results_age: $*" >&2; exit 1; }

echo 1 > kernels/k.cpp
git add -A && git commit -qm kernel
record "$(git rev-parse --short=12 HEAD)-dirty"
git add -A && git commit -qm results
scripts/regenerate-results --check 2>out || fail "results at the last kernel change called stale: $(cat out)"
grep -q "measured at or after the last kernel change" out || fail "no confirmation: $(cat out)"

echo 2 > kernels/k.cpp
git commit -qam "kernel again"
if scripts/regenerate-results --check 2>out; then fail "results older than a kernel change called current"; fi
grep -q "results/lra.jsonl: measured at .*older than the last kernel change .*(1 commits to kernels/ since)" out ||
  fail "unexpected message: $(cat out)"

record 0123456789ab
if scripts/regenerate-results --check 2>out; then fail "an unknown commit called current"; fi
grep -q "which this repository does not have" out || fail "unexpected message: $(cat out)"
echo "check_results_age: ok"
