#!/usr/bin/env bash
# check_homie_consumer.sh BUILD_DIR: the real binary announces one
# configuration over Homie v4, then over Homie v5, each time to a private
# mosquitto of its own on 127.0.0.1; an independent consumer
# (homie_consumer.sh: the npm Homie -> Home Assistant bridge) must turn what
# it reads into Home Assistant entities naming every entity we declared.
#
# The expected names follow the bridge's own rule (homie_consumer.sh has it):
# a node is named by its section (or DiscoveryName), a property by its key's
# label, and the bridge writes "<node name> <property name>", or
# "<node name> <Property Id Label>" where the two names are the same.
#
# Exits 77 (meson: SKIP) when the consumer cannot run here (no node, no
# package and no registry); prints "N passed, N failed" otherwise.
set -euo pipefail
build=$(cd "$1" && pwd)
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
broker_pid=
reporter_pid=
waiter_pid=

cleanup() {
  stop "$waiter_pid"
  stop "$reporter_pid"
  stop "$broker_pid"
  rm -rf "$work"
}
trap cleanup EXIT
# shellcheck source=broker.sh
. "$here/broker.sh"

plugin_path=$(printf '%s:' "$build"/plugins/*/ "$build/test/plugins")
export SENSOR_REPORTER_PLUGIN_PATH=${plugin_path%:}

write_config() {
  cat >"$work/sr.ini" <<INI
[Connection_MQTT]
Class = mqtt.mqtt_conn.MqttConnection
Name = mqtt
Host = 127.0.0.1
Port = $port
RootTopic = sr
Client = garage
Discovery = homie
HomieVersion = $1
DeviceName = Garage Pi

[Sensor_Heartbeat]
Class = heartbeat.heartbeat.Heartbeat
Connection = mqtt
Poll = 60
Num-Dest = hb/num
Str-Dest = hb/str

[Sensor_Uptime]
Class = exec.exec_sensor.ExecSensor
Connection = mqtt
Script = echo up
Destination = uptime
Poll = 60
DiscoveryName = System uptime

[Sensor_Phone]
Class = network.arp_sensor.ArpSensor
Connection = mqtt
Poll = 60
MAC = 00:11:22:33:44:55
Destination = phone

[Actuator_Light]
Class = exec.exec_actuator.ExecActuator
Connection = mqtt
Command = true
CommandSrc = light/set
ResultsDest = light/result

[Actuator_Relay]
Class = sr_test.test.TestActuator
Connection = mqtt
CommandSrc = relay/set
Output = $work/commands.txt
INI
}

# Every entity the configuration declares, as the bridge names it.
cat >"$work/names" <<'NAMES'
Sensor_Heartbeat Num Dest
Sensor_Heartbeat Str
System uptime Destination
Sensor_Phone Destination
Actuator_Light Resultsdest
Actuator_Relay Commandsrc
sensor_reporter Refresh
NAMES

passed=0
failed=0
for version in 4 5; do
  start_broker
  write_config "$version"
  state_topic='homie/garage/$state'
  [ "$version" = 5 ] && state_topic='homie/5/garage/$state'
  # Subscribed before the reporter starts: "ready" comes after the whole
  # announcement, live or retained.
  exec {state_fd}< <(exec mosquitto_sub -h 127.0.0.1 -p "$port" -t "$state_topic" -W 20)
  waiter_pid=$!
  "$build/src/sensor_reporter" "$work/sr.ini" >"$work/reporter.log" 2>&1 &
  reporter_pid=$!
  ready=0
  while IFS= read -r -u "$state_fd" state; do
    if [ "$state" = ready ]; then
      ready=1
      break
    fi
  done
  exec {state_fd}<&-
  stop "$waiter_pid"
  waiter_pid=
  if [ $ready = 0 ]; then
    cat "$work/reporter.log"
    echo "FAIL: Homie $version: $state_topic never became ready"
    failed=$((failed + 1))
  else
    rc=0
    out=$("$here/homie_consumer.sh" "$port" "$work/names") || rc=$?
    if [ $rc = 77 ]; then
      echo "$out"
      echo "check_homie_consumer: skipped (the consumer cannot run here)"
      exit 77
    elif [ $rc = 0 ]; then
      echo "ok: Homie $version: $(grep 'homie_consumer:' <<<"$out")"
      passed=$((passed + 1))
    else
      echo "$out"
      cat "$work/reporter.log"
      echo "FAIL: Homie $version: the consumer did not name every entity"
      failed=$((failed + 1))
    fi
  fi
  stop "$reporter_pid"
  reporter_pid=
done
echo "$passed passed, $failed failed"
[ $failed = 0 ]
