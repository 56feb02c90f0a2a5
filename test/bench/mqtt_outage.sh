#!/usr/bin/env bash
# Measures the MQTT link as a user would see it, with the real binary, a
# private mosquitto on a free loopback port and mosquitto_sub watching:
#   - 10 heartbeats at Poll 1, QoS 1; the broker is killed (-9) for 5 s:
#     readings published during the outage that arrive afterwards, and the
#     time from the broker answering again to ONLINE on the wire;
#   - kill -9 of the reporter: time until the broker publishes the Will;
#   - SIGTERM while the broker is down: time until the process has exited.
# Prints one line of figures. Usage: test/bench/mqtt_outage.sh [BUILD_DIR]
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
build=${1:-$root/build}
work=$(mktemp -d /tmp/sr-outage.XXXXXX)
pids=()
cleanup() { for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT

now() { date +%s.%N; }
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
answers() { (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; }
cat > "$work/mosquitto.conf" <<CONF
listener $port 127.0.0.1
allow_anonymous true
persistence true
persistence_location $work/
autosave_interval 1
autosave_on_changes true
user root
CONF
start_broker() {
  /usr/sbin/mosquitto -c "$work/mosquitto.conf" >> "$work/broker.log" 2>&1 &
  broker=$!; pids+=("$broker")
  until answers; do sleep 0.005; done
}

{
  printf '[Connection_MQTT]\nClass = mqtt.mqtt_conn.MqttConnection\nName = mqtt\nHost = 127.0.0.1\n'
  printf 'Port = %s\nRootTopic = sr\nClient = outage\nQoS = 1\n' "$port"
  for i in $(seq 0 9); do
    printf '\n[Sensor_Hb%s]\nClass = heartbeat.heartbeat.Heartbeat\nConnection = mqtt\nPoll = 1\n' "$i"
    printf 'Num-Dest = hb%s/num\nStr-Dest = hb%s/str\n' "$i" "$i"
  done
} > "$work/sr.ini"
plugins=$(printf '%s:' "$build"/plugins/*/)
export SENSOR_REPORTER_PLUGIN_PATH=${plugins%:}

start_broker
mosquitto_sub -p "$port" -c -i watcher -q 1 -F '%U %t %p' -t 'sr/#' > "$work/wire.txt" &
pids+=("$!")
sleep 0.3
"$build/src/sensor_reporter" "$work/sr.ini" > "$work/reporter.log" 2>&1 &
reporter=$!; pids+=("$reporter")
until grep -q ' sr/hb9/str 00:00:02' "$work/wire.txt"; do sleep 0.05; done

kill -9 "$broker"; wait "$broker" 2>/dev/null || true
sleep 5   # the outage being measured
start_broker
up=$(now)
until awk -v up="$up" '$2 == "sr/status" && $3 == "ONLINE" && $1 > up {f=1} END {exit !f}' "$work/wire.txt"; do sleep 0.01; done
# The watcher's own reconnect delays its receive time, so ONLINE is timed by
# the reporter's log line, written right after it publishes ONLINE.
stamp=$(grep -m1 'reconnected to' "$work/reporter.log" | cut -c1-23)
online=$(date -d "$stamp" +%s.%N)
sleep 3
# Every heartbeat must have an unbroken HH:MM:SS sequence up to the last second seen.
missing=0 total=0
for i in $(seq 0 9); do
  last=$(awk -v t="sr/hb$i/str" '$2 == t {split($3,a,":"); s=a[1]*3600+a[2]*60+a[3]; if (s>m) m=s} END {print m+0}' "$work/wire.txt")
  for s in $(seq 0 "$last"); do
    total=$((total + 1))
    grep -q " sr/hb$i/str $(printf '%02d:%02d:%02d' $((s/3600)) $((s/60%60)) $((s%60)))\$" "$work/wire.txt" || missing=$((missing + 1))
  done
done

killed=$(now); kill -9 "$reporter"; wait "$reporter" 2>/dev/null || true
until awk -v t="$killed" '$2 == "sr/status" && $3 == "OFFLINE" && $1 > t {f=1} END {exit !f}' "$work/wire.txt"; do sleep 0.01; done
will=$(awk -v t="$killed" '$2 == "sr/status" && $3 == "OFFLINE" && $1 > t {print $1; exit}' "$work/wire.txt")

"$build/src/sensor_reporter" "$work/sr.ini" > "$work/reporter2.log" 2>&1 &
reporter=$!; pids+=("$reporter")
until grep -q 'connected to' "$work/reporter2.log"; do sleep 0.02; done
kill -9 "$broker"; wait "$broker" 2>/dev/null || true
until grep -q 'lost' "$work/reporter2.log"; do sleep 0.02; done
t0=$(now); kill -TERM "$reporter"; wait "$reporter" || true; t1=$(now)

awk -v up="$up" -v online="$online" -v killed="$killed" -v will="$will" -v t0="$t0" -v t1="$t1" \
    -v missing="$missing" -v total="$total" 'BEGIN {
  printf "outage 5 s, 10 heartbeats: %d of %d readings arrived (%d missing); ONLINE %.0f ms after the broker answered; ", total - missing, total, missing, (online - up) * 1000
  printf "Will OFFLINE %.0f ms after kill -9; SIGTERM with broker down: exit after %.0f ms\n", (will - killed) * 1000, (t1 - t0) * 1000 }'
