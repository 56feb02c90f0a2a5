#!/usr/bin/env bash
# The checked-in sensor_reporter.ini.5 must match what the parameter tables
# generate now, and both pages must render without warnings. Skips (77)
# when not every product plugin was built (gpio needs libgpiod, bt libsystemd).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
build=$1
for m in heartbeat local mqtt exec gpio one_wire network openhab_rest bt iio hwmon roku energymeter; do
  [ -f "$build/plugins/$m/$m.so" ] || { echo "plugin $m not built: skipped"; exit 77; }
done
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$root/packaging/man/generate.sh" "$build" "$work/sensor_reporter.ini.5"
if ! diff -u "$root/packaging/man/sensor_reporter.ini.5" "$work/sensor_reporter.ini.5"; then
  echo "sensor_reporter.ini.5 drifted from the parameter tables: run packaging/man/generate.sh $build"
  echo "0 passed, 1 failed"; exit 1
fi
for page in "$root/packaging/man/sensor_reporter.8" "$root/packaging/man/sensor_reporter.ini.5"; do
  warnings=$(LC_ALL=C.UTF-8 MANWIDTH=80 man --warnings -E UTF-8 -l "$page" 2>&1 >/dev/null || true)
  [ -z "$warnings" ] || { echo "$page: $warnings"; echo "0 passed, 1 failed"; exit 1; }
done
echo "2 passed, 0 failed"
