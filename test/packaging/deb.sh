#!/usr/bin/env bash
# Builds the Debian packages with packaging/build-deb, installs them (as
# root: dpkg -i, then purges them again; otherwise unpacks them), and runs
# the installed binary: --list-plugins finds the installed plugins and
# --check accepts the installed configuration. Checks the conffile's owner
# and mode, the service user and the SDK headers in the -dev package.
# Prints "N passed, N failed".
set -uo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
work=$(mktemp -d)
passed=0 failed=0
check() {  # check DESCRIPTION COMMAND...
  if "${@:2}" >"$work/out" 2>&1; then passed=$((passed + 1)); echo "ok: $1"
  else failed=$((failed + 1)); echo "FAIL: $1"; sed 's/^/  /' "$work/out"; fi
}
installed=0
cleanup() {
  [ $installed -eq 1 ] && dpkg --purge sensor-reporter sensor-reporter-dev >/dev/null 2>&1
  rm -rf "$work"
}
trap cleanup EXIT

"$root/packaging/build-deb" "$work/debs" || { echo "FAIL: build-deb"; echo "0 passed, 1 failed"; exit 1; }
check "lintian reports no errors" lintian --fail-on error "$work"/debs/*.deb
# A third party builds and tests a plugin with these alone.
dev_headers() {
  local contents h
  contents=$(dpkg -c "$work"/debs/sensor-reporter-dev_*.deb) || return 1
  for h in plugin_abi.h sdk.hpp text.hpp handle.hpp reconnect_policy.hpp testing.hpp plugin.map; do
    grep -q "usr/include/sensor_reporter/$h\$" <<<"$contents" || { echo "missing $h"; echo "$contents"; return 1; }
  done
}
check "the -dev package ships the SDK headers, testing.hpp among them" dev_headers

if [ "$(id -u)" -eq 0 ] && ! dpkg-query -W sensor-reporter >/dev/null 2>&1; then
  check "dpkg -i installs both packages" dpkg -i "$work"/debs/sensor-reporter_*.deb "$work"/debs/sensor-reporter-dev_*.deb
  installed=1
  bin=/usr/bin/sensor_reporter plugins=() etc=/etc/sensor_reporter/sensor_reporter.ini
  check "the service user exists" getent passwd sensor_reporter
  check "the configuration is root:sensor_reporter 0640" \
    test "$(stat -c '%U:%G %a' "$etc")" = "root:sensor_reporter 640"
  check "the unit is installed" test -f /usr/lib/systemd/system/sensor_reporter.service
  check "pkg-config finds the SDK" pkg-config --cflags sensor_reporter-plugin
else
  mkdir -p "$work/root"
  for deb in "$work"/debs/sensor-reporter_*.deb "$work"/debs/sensor-reporter-dev_*.deb; do dpkg -x "$deb" "$work/root"; done
  bin=$work/root/usr/bin/sensor_reporter etc=$work/root/etc/sensor_reporter/sensor_reporter.ini
  plugins=(--plugin-dir "$(dirname "$(find "$work/root" -name mqtt.so | head -n 1)")")
fi

check "--list-plugins lists the installed plugins" bash -c \
  "out=\$('$bin' ${plugins[*]:-} --list-plugins) && for c in MqttConnection OpenhabREST Heartbeat LocalConnection ExecSensor ExecActuator RpiGpioSensor RpiGpioActuator DhtSensor Ds18x20Sensor ArpSensor DashSensor RokuAddressSensor Pafal20ec3gr GoveeSensor BtleSensor IioSensor HwmonSensor; do grep -q \"^\$c \" <<<\"\$out\" || { echo \"missing \$c\"; echo \"\$out\"; exit 1; }; done"
check "--check accepts the installed configuration" "$bin" ${plugins[@]+"${plugins[@]}"} --check "$etc"
echo "$passed passed, $failed failed"
[ $failed -eq 0 ]
