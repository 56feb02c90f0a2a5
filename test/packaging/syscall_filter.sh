#!/usr/bin/env bash
# Every system call the daemon and its children make is allowed by the
# unit's SystemCallFilter=@system-service (docs/security.md, section 4):
# runs the built daemon under strace -f with MQTT over TLS with a client
# certificate and plain, a password-protected openHAB (the test double), an
# ExecSensor and an ExecActuator running /bin/sh scripts, a LocalConnection
# rule, the bt module against the BlueZ double on a private system bus (when
# both are built), a SIGHUP reload and a SIGTERM stop; then compares the
# calls strace saw with systemd-analyze's expansion of @system-service.
#
#   test/packaging/syscall_filter.sh BUILD_DIR
#
# Prints the calls outside the set and "N passed, N failed"; exit 77 (skip)
# without strace, systemd-analyze, mosquitto or ptrace permission.
set -uo pipefail
build=$(cd "$1" && pwd)
root=$(cd "$(dirname "$0")/../.." && pwd)
bin=$build/src/sensor_reporter
# The build tree's plugins (meson test sets this; a manual run may not).
plugin_dirs=$(printf '%s:' "$build"/plugins/*/)
export SENSOR_REPORTER_PLUGIN_PATH=${SENSOR_REPORTER_PLUGIN_PATH:-${plugin_dirs%:}}
for tool in strace systemd-analyze /usr/sbin/mosquitto mosquitto_pub mosquitto_sub openssl python3; do
  command -v "$tool" >/dev/null || { echo "no $tool: skipped"; exit 77; }
done
strace -f -o /dev/null true 2>/dev/null || { echo "strace cannot trace here (ptrace refused): skipped"; exit 77; }
# A sanitizer's runtime makes calls of its own (personality, ...) that the
# packaged build never makes.
if grep -qaE "AddressSanitizer|ThreadSanitizer" "$bin"; then echo "a sanitizer build: skipped"; exit 77; fi

work=$(mktemp -d)
pids=()
cleanup() {
  local p
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null; done
  rm -rf "$work"
}
trap cleanup EXIT

# Waits up to $2 seconds (default 15) until file $1 contains the text $3.
wait_for() {
  local file=$1 seconds=$2 text=$3 deadline=$((SECONDS + $2))
  until grep -qF -- "$text" "$file" 2>/dev/null; do
    if [ $SECONDS -ge $deadline ] || { [ -n "${strace_pid:-}" ] && ! kill -0 "$strace_pid" 2>/dev/null; }; then
      echo "FAIL: no '$text' in $file within $seconds s"; sed 's/^/  /' "$file"; echo "0 passed, 1 failed"; exit 1
    fi
    sleep 0.1  # polling a file the daemon writes; the deadline is the bound
  done
}
# Waits up to 10 s until something accepts connections on 127.0.0.1:$1.
wait_port() {
  local deadline=$((SECONDS + 10))
  until (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; do
    [ $SECONDS -lt $deadline ] || { echo "FAIL: nothing listens on port $1"; echo "0 passed, 1 failed"; exit 1; }
    sleep 0.1  # polling a port; the deadline is the bound
  done
}
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

"$root/certs/make-certs.sh" "$work/certs" "" reporter >/dev/null 2>&1 || { echo "FAIL: make-certs"; exit 1; }
plain=$(free_port) tls=$(free_port) oh=$(free_port)
cat >"$work/mosquitto.conf" <<EOF
per_listener_settings true
user root
log_dest stdout
listener $plain 127.0.0.1
allow_anonymous true
listener $tls 127.0.0.1
allow_anonymous false
cafile $work/certs/ca.crt
certfile $work/certs/server.crt
keyfile $work/certs/server.key
require_certificate true
use_identity_as_username true
EOF
/usr/sbin/mosquitto -c "$work/mosquitto.conf" >"$work/mosquitto.log" 2>&1 &
pids+=($!)
python3 "$root/test/openhab/openhab_double.py" --port "$oh" --token oh.token --no-implicit-user-role \
  --item Refresh:Switch --item Uptime:Number --item UptimeText:String >"$work/openhab.log" 2>&1 &
pids+=($!)
for port in "$plain" "$tls" "$oh"; do wait_port "$port"; done

bt_sections=() env_bus=()
if [ -x "$build/test/bluez_double" ] && [ -f "$build/plugins/bt/bt.so" ] && command -v dbus-daemon >/dev/null; then
  cat >"$work/bus.conf" <<EOF
<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig><type>system</type><listen>unix:path=$work/bus.sock</listen><auth>EXTERNAL</auth>
<policy context="default"><allow user="*"/><allow own="*"/><allow send_type="method_call"/>
<allow send_destination="*"/><allow receive_sender="*"/></policy></busconfig>
EOF
  dbus-daemon --config-file="$work/bus.conf" --nofork --nopidfile --print-address=1 >"$work/bus.address" 2>&1 &
  pids+=($!)
  wait_for "$work/bus.address" 10 "unix:"
  # The double reads its commands from stdin, which must be a pipe it can
  # watch: a FIFO this script holds open on fd 7.
  mkfifo "$work/bluez.in"
  exec 7<>"$work/bluez.in"
  "$build/test/bluez_double" --bus "unix:path=$work/bus.sock" >"$work/bluez.log" 2>&1 <&7 &
  pids+=($!)
  wait_for "$work/bluez.log" 10 "ready "
  env_bus=("DBUS_SYSTEM_BUS_ADDRESS=unix:path=$work/bus.sock")
  bt_sections=("[Sensor_Presence]" "Class = bt.btle_sensor.BtleSensor" "Connection = plain" "Poll = 2"
               "Timeout = 1" "Address1 = a4:c1:38:00:00:02" "Destination1 = presence")
fi

printf '#!/bin/sh\necho "ran $*"\n' >"$work/act.sh"
printf '#!/bin/sh\ncat /proc/loadavg\n' >"$work/read.sh"
chmod 0755 "$work/act.sh" "$work/read.sh"
printf 'oh.token\n' >"$work/token"
chmod 0600 "$work/token"
{
  cat <<EOF
[Logging]
Level = DEBUG

[Connection_TLS]
Class = mqtt.mqtt_conn.MqttConnection
Name = tls
Host = localhost
Port = $tls
Client = reporter-tls
TLS = yes
CAcert = $work/certs/ca.crt
Certfile = $work/certs/reporter.crt
Keyfile = $work/certs/reporter.key
RootTopic = tls

[Connection_Plain]
Class = mqtt.mqtt_conn.MqttConnection
Name = plain
Host = 127.0.0.1
Port = $plain
Client = reporter-plain
RootTopic = plain

[Connection_OH]
Class = openhab_rest.rest_conn.OpenhabREST
Name = openhab
URL = http://127.0.0.1:$oh
RefreshItem = Refresh
API-TokenFile = $work/token

[Connection_Local]
Class = local.local_conn.LocalConnection
Name = local
OnGT = 0

[Sensor_Uptime]
Class = heartbeat.heartbeat.Heartbeat
Connection = tls, plain, openhab, local
Poll = 1
Num-Dest = Uptime
Str-Dest = UptimeText

[Sensor_Load]
Class = exec.exec_sensor.ExecSensor
Connection = plain
Poll = 1
Script = $work/read.sh
Destination = load

[Actuator_Run]
Class = exec.exec_actuator.ExecActuator
Connection = plain, local
Command = $work/act.sh
CommandSrc = run
ResultsDest = run/result
Accept = go
EOF
  printf '%s\n' "" "${bt_sections[@]}"
} >"$work/sr.ini"
chmod 0600 "$work/sr.ini"

env "${env_bus[@]}" strace -f -qq -o "$work/trace" "$bin" "$work/sr.ini" >"$work/daemon.log" 2>&1 &
strace_pid=$!
pids+=($strace_pid)
wait_for "$work/daemon.log" 15 "[Connection_TLS] connected to"
wait_for "$work/daemon.log" 15 "[Connection_Plain] connected to"
wait_for "$work/daemon.log" 15 "connected to openHAB"
wait_for "$work/daemon.log" 15 "[Sensor_Load] publish load"
if [ ${#bt_sections[@]} -gt 0 ]; then
  wait_for "$work/daemon.log" 15 "bt: discovering LE advertisements on hci0"
  echo "adv a4:c1:38:00:00:02 Thing - - rssi=-60" >&7
  wait_for "$work/daemon.log" 15 "[Sensor_Presence] publish presence = ON"
fi
mosquitto_pub -p "$plain" -q 1 -t plain/run -m go
wait_for "$work/daemon.log" 15 "publish run/result = ran go"
daemon=$(pgrep -P "$strace_pid" -x sensor_reporter)
kill -HUP "$daemon"
wait_for "$work/daemon.log" 15 "reloaded:"
kill -TERM "$daemon"
wait "$strace_pid"

# "1234 openat(...)", "1234 <... read resumed>...": the name before "(".
sed -nE 's/^[0-9]+ +(<\.\.\. )?([a-z0-9_]+)[( ].*/\2/p' "$work/trace" | sort -u >"$work/used"
expand() {
  systemd-analyze syscall-filter "$1" 2>/dev/null | sed 1d | grep -v '^ *#' | tr -s ' ' '\n' | grep -v '^$' |
    while read -r item; do case $item in @*) expand "$item" ;; *) echo "$item" ;; esac; done
}
expand @system-service | sort -u >"$work/allowed"
outside=$(comm -23 "$work/used" "$work/allowed")
echo "$(wc -l <"$work/used") distinct system calls made: $(echo $(cat "$work/used"))"
echo "$(grep -c execve "$work/trace") execve calls (the daemon and the commands it ran)"
echo "$(wc -l <"$work/allowed") calls in @system-service"
[ ${#bt_sections[@]} -gt 0 ] && echo "(with the bt module on the BlueZ double)"
if [ -n "$outside" ]; then
  echo "FAIL: outside @system-service: $(echo $outside)"
  echo "0 passed, 1 failed"
  exit 1
fi
echo "1 passed, 0 failed"
