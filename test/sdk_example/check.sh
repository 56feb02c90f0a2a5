#!/usr/bin/env bash
# check.sh BUILD_DIR ENTRY: installs the SDK of BUILD_DIR into a scratch
# directory, builds this out-of-tree example against it with nothing but
# pkg-config, checks that the module exports ENTRY (the plugin entry point)
# and nothing else, runs the example's unit test (the SDK's testing.hpp) and
# loads the module into the real binary with --plugin-dir.
set -euo pipefail
build=$(cd "$1" && pwd)
entry=$2
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

meson install -C "$build" --destdir "$work/root" --no-rebuild >/dev/null
pc=$(dirname "$(find "$work/root" -name sensor_reporter-plugin.pc | head -n 1)")
installed_plugins=$(dirname "$(find "$work/root" -name local.so | head -n 1)")
export PKG_CONFIG_PATH=$pc PKG_CONFIG_SYSROOT_DIR=$work/root
meson setup "$work/example" "$here" >/dev/null
ninja -C "$work/example" >/dev/null

fail() { echo "FAIL: $*"; echo "0 passed, 1 failed"; exit 1; }
# The SDK's version script, found through the .pc, keeps libstdc++'s weak
# instantiations out of the module's dynamic symbol table.
exports=$("$here/../plugins/check_exports.sh" "$entry" "$work/example/loadavg.so") || fail "$exports"
# The class's own unit test (test_loadavg.cpp), through the installed
# sensor_reporter/testing.hpp: a plugin tested without the daemon.
meson test -C "$work/example" --print-errorlogs >"$work/unit" 2>&1 || fail "unit test: $(cat "$work/unit")"
grep -q 'test_loadavg: all passed' "$work/example/meson-logs/testlog.txt" ||
  fail "the unit test did not run: $(cat "$work/unit")"
out=$("$build/src/sensor_reporter" --plugin-dir "$work/example" --describe LoadAverage)
grep -q '^loadavg.loadavg.LoadAverage (sensor)' <<<"$out" || fail "--describe: $out"
grep -q 'Destination .*required' <<<"$out" || fail "--describe lacks Destination: $out"

printf '0.42 0.30 0.20 1/100 4242\n' > "$work/loadavg"
cat > "$work/sr.ini" <<INI
[Connection1]
Class = local.local_conn.LocalConnection
Name = local

[Actuator1]
Class = sr_test.test.TestActuator
Connection = local
CommandSrc = load
Output = $work/received

[Sensor1]
Class = loadavg.loadavg.LoadAverage
Connection = local
Poll = 1
Destination = load
File = $work/loadavg
INI
"$build/src/sensor_reporter" --plugin-dir "$work/example" --plugin-dir "$installed_plugins" \
  --plugin-dir "$build/test/plugins" "$work/sr.ini" \
  > "$work/log" 2>&1 &
pid=$!
for _ in $(seq 100); do [ -s "$work/received" ] && break; sleep 0.05; done
kill -TERM $pid 2>/dev/null || true
status=0; wait $pid || status=$?
[ $status -eq 0 ] || fail "daemon exit code $status: $(cat "$work/log")"
[ "$(head -n 1 "$work/received")" = "load 0.42" ] || fail "received: $(cat "$work/received" 2>/dev/null)"
echo "out-of-tree plugin built against the installed SDK and loaded: ok"
echo "1 passed, 0 failed"
