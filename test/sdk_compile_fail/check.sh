#!/usr/bin/env bash
# check.sh SOURCE EXPECTED CXX...: SOURCE must compile with -DSR_GOOD_HOOK
# (so the test can fail for the right reason only) and must fail to compile
# without it, with EXPECTED in the compiler's output.
set -uo pipefail
src=$1 expected=$2
shift 2
if ! out=$("$@" -DSR_GOOD_HOOK -fsyntax-only "$src" 2>&1); then
  echo "FAIL: the good variant does not compile:"; echo "$out"; exit 1
fi
if out=$("$@" -fsyntax-only "$src" 2>&1); then
  echo "FAIL: a plugin with a wrong hook signature compiled"; exit 1
fi
if ! grep -qF -- "$expected" <<<"$out"; then
  echo "FAIL: the error does not say '$expected':"; echo "$out"; exit 1
fi
echo "ok: refused with '$expected'"
