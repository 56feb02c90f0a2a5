#!/usr/bin/env bash
# systemd-analyze verify on the generated unit, pointed at the built binary
# (verify checks that ExecStart exists). Exit 77 (skip) without systemd-analyze.
set -euo pipefail
unit=$1 binary=$2
command -v systemd-analyze >/dev/null || { echo "no systemd-analyze: skipped"; exit 77; }
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
sed -e "s|^ExecStart=[^ ]*|ExecStart=$binary|" "$unit" > "$dir/sensor_reporter.service"
# --man=no: the man pages are checked where they are built, not installed here.
out=$(systemd-analyze verify --man=no "$dir/sensor_reporter.service" 2>&1 || true)
# Lines about other units on this machine are not ours.
ours=$(printf '%s\n' "$out" | grep 'sensor_reporter' || true)
if [ -n "$ours" ]; then printf '%s\n' "$ours"; echo "1 passed, 1 failed"; exit 1; fi
echo "systemd-analyze verify: clean"
