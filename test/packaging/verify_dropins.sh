#!/usr/bin/env bash
# The drop-ins in packaging/examples/ against the generated unit: each one
# loads cleanly (systemd-analyze verify, which reads <unit>.d/), and, as
# systemd-analyze's offline security review sees the merged unit, grants
# what its class needs and nothing else:
#   dash.conf         AF_PACKET allowed with AF_UNIX/AF_INET/AF_INET6 still
#                     allowed (merged, not replaced), CAP_NET_RAW in the
#                     bounding and ambient sets; every other line unchanged
#   energymeter.conf  every line unchanged (the unit has supplementary groups
#                     already; dialout joins them)
# Exit 77 (skip) without systemd-analyze.
set -euo pipefail
unit=$1 binary=$2
here=$(cd "$(dirname "$0")/../.." && pwd)
command -v systemd-analyze >/dev/null || { echo "no systemd-analyze: skipped"; exit 77; }
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
sed -e "s|^ExecStart=[^ ]*|ExecStart=$binary|" "$unit" > "$dir/sensor_reporter.service"
mkdir "$dir/sensor_reporter.service.d"
passed=0 failed=0
fail() { echo "FAIL: $*"; failed=$((failed + 1)); }
ok() { passed=$((passed + 1)); }

review() {  # the security review's lines, without the exposure column
  (cd "$dir" && systemd-analyze security --offline=true --no-pager sensor_reporter.service 2>&1) |
    grep -E '^[✓✗] ' | sed -E 's/ +[0-9.]+$//; s/ +$//' | sort
}
line_of() { grep -F -- "$2" <<<"$1" || true; }

baseline=$(review)
[ -n "$baseline" ] || { echo "systemd-analyze security gave no review"; echo "0 passed, 1 failed"; exit 1; }

for dropin in dash energymeter; do
  rm -f "$dir/sensor_reporter.service.d/"*.conf
  cp "$here/packaging/examples/$dropin.conf" "$dir/sensor_reporter.service.d/"
  out=$(systemd-analyze verify --man=no "$dir/sensor_reporter.service" 2>&1 || true)
  ours=$(printf '%s\n' "$out" | grep 'sensor_reporter' || true)
  if [ -n "$ours" ]; then fail "$dropin.conf: systemd-analyze verify: $ours"; else ok; fi
  now=$(review)
  changed=$(diff <(printf '%s\n' "$baseline") <(printf '%s\n' "$now") | grep '^>' | sed 's/^> //' || true)
  case $dropin in
    dash)
      for want in "✗ RestrictAddressFamilies=~AF_PACKET" "✗ CapabilityBoundingSet=~CAP_NET_(BIND_SERVICE|BROADCAST|RAW)" \
                  "✗ AmbientCapabilities="; do
        if [ -n "$(line_of "$changed" "$want")" ]; then ok; else fail "dash.conf: no '$want' (changed: $changed)"; fi
      done
      for kept in "✗ RestrictAddressFamilies=~AF_UNIX" "✗ RestrictAddressFamilies=~AF_(INET|INET6)"; do
        if [ -n "$(line_of "$now" "$kept")" ]; then ok; else fail "dash.conf lost '$kept'"; fi
      done
      if [ "$(printf '%s\n' "$changed" | grep -c .)" -eq 3 ]; then ok; else fail "dash.conf changed more than three lines: $changed"; fi
      ;;
    energymeter)
      if [ -z "$changed" ]; then ok; else fail "energymeter.conf changed: $changed"; fi
      ;;
  esac
done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
