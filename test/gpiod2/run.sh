#!/usr/bin/env bash
# run.sh - the libgpiod 2.x backend built and tested on this (Debian 12)
# machine: meson suite 'gpiod2' (docs/vm-tests.md, "Both libgpiod APIs").
#
# Usage: run.sh SOURCE_DIR BUILD_DIR
#   1. test/gpiod2/sysroot.sh fills (or reuses) the libgpiod 2.2.1 sysroot;
#   2. BUILD_DIR is configured against it (once) and only what the tiers
#      need is built (-j2: the machine is shared);
#   3. gpio.so must need libgpiod.so.3; the gpio unit tests run;
#   4. the VM tier runs with that build (gpio-sim scenarios on the v2 API).
# Exit status: 0 all passed, 1 a failure, 77 the archive or the VM kernel
# cannot be had.
set -euo pipefail
SRC=$(cd "$1" && pwd)
BUILD=$2
log() { printf '[gpiod2] %s\n' "$*" >&2; }

pc=$("$SRC/test/gpiod2/sysroot.sh")
if [ ! -f "$BUILD/build.ninja" ]; then
	meson setup "$BUILD" "$SRC" -Dpkg_config_path="$pc" >/dev/null
fi
# Every plugin the VM guest tests load (run-vm-tests.sh copies the same list;
# 50-discovery.sh needs heartbeat, exec and network too, 60-kernel-sensors.sh
# iio and hwmon).
ninja -C "$BUILD" -j2 plugins/gpio/gpio.so test/test_gpio src/sensor_reporter \
	plugins/local/local.so plugins/one_wire/one_wire.so plugins/mqtt/mqtt.so test/plugins/sr_test.so test/bench/sr_bench.so \
	plugins/heartbeat/heartbeat.so plugins/exec/exec.so plugins/network/network.so \
	plugins/iio/iio.so plugins/hwmon/hwmon.so \
	$(if [ -d "$BUILD/plugins/bt" ]; then echo plugins/bt/bt.so; fi) >/dev/null
needed=$(readelf -d "$BUILD/plugins/gpio/gpio.so") # not piped into grep -q: pipefail and SIGPIPE
[[ $needed == *'[libgpiod.so.3]'* ]] ||
	{ log "FAIL: $BUILD/plugins/gpio/gpio.so does not link libgpiod.so.3"; exit 1; }
log "gpio.so links $(ldd "$BUILD/plugins/gpio/gpio.so" | grep -o 'libgpiod.so.3 => [^ ]*')"
"$BUILD/test/test_gpio"
"$SRC/test/vm/run-vm-tests.sh" "$BUILD"
