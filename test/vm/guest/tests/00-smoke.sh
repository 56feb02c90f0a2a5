#!/bin/sh
# The VM itself: the kernel facilities the other tests rely on, and
# sensor_reporter running here with its plugins (only the test and local
# modules, so this shows the machinery works before any hardware plugin runs).
. /tests/lib.sh

# --- kernel side: gpio-sim through configfs, w1 with the fake bus master
sim_create smoke sr-vm-smoke 4
check "/dev/$SIM_CHIP is a GPIO character device" yes "$([ -c "/dev/$SIM_CHIP" ] && echo yes)"
sim_pull 2 up
check "gpio-sim: pull-up reads back 1" 1 "$(sim_value 2)"
sim_pull 2 down
check "gpio-sim: pull-down reads back 0" 0 "$(sim_value 2)"
sim_remove
check "gpio-sim: chip removed" no "$([ -e "/dev/$SIM_CHIP" ] && echo yes || echo no)"
eventually 10 "w1: the fake bus master's DS18B20 is bound to w1_therm" \
	test -e /sys/bus/w1/devices/28-000000000001/w1_slave

# --- every plugin module loads here (dlopen with the libraries we copied)
sensor_reporter --plugin-dir "$PLUGINS" --list-plugins > /tmp/list.out 2>&1
check "--list-plugins exits 0" 0 "$?"
cat /tmp/list.out
for class in LocalConnection TestSensor TestActuator; do
	check "--list-plugins shows $class" 1 "$(grep -cw "$class" /tmp/list.out)"
done
grep -qx gpio /etc/plugins-without || for class in RpiGpioSensor RpiGpioActuator; do
	check "--list-plugins shows $class" 1 "$(grep -cw "$class" /tmp/list.out)"
done
grep -qx one_wire /etc/plugins-without ||
	check "--list-plugins shows Ds18x20Sensor" 1 "$(grep -cw Ds18x20Sensor /tmp/list.out)"

# --- the daemon: sensor -> LocalConnection rule -> actuator
mkdir -p /tmp/smoke
cat > /tmp/smoke.ini <<EOF
[Logging]
Level = DEBUG

[Connection_Local]
Class = local.local_conn.LocalConnection
Name = local
OnGT = 10

[Actuator_Record]
Class = sr_test.test.TestActuator
Connection = local
CommandSrc = level
Output = /tmp/smoke/level

[Sensor_Values]
Class = sr_test.test.TestSensor
Connection = local
Destination = level
Values = 5,15
Poll = 0.5
EOF
sr_start smoke
eventually 10 "LocalConnection OnGT = 10: 5 -> OFF, 15 -> ON" payloads_are /tmp/smoke/level "OFF ON"
sr_stop

finish smoke
