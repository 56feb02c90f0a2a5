#!/bin/sh
# Discovery of one section of every sensor and actuator class (issue 14), on
# real drivers: gpio-sim, the w1-fake DS18B20, btvirt controllers with
# bluetoothd, a real mosquitto in the guest. One daemon, three MQTT
# connections to it:
#   ha  Home Assistant device discovery: every section's entity is checked
#       in the retained config (component and state topic), then a reading
#       of every class on that state topic, and a switch command reaching
#       the GPIO line;
#   h4, h5  Homie 4 and Homie 5: the retained device is dumped to the console
#       between @@HOMIE-DUMP@@ markers; the host (run-vm-tests.sh) replays
#       each into a broker of its own and has the independent consumer
#       (test/discovery/homie_consumer.sh) name every entity listed in
#       test/vm/homie-every-class.names.
# ArpSensor reads a table file: the guest has no neighbours (its own test is
# in the unit and integration suites). IioSensor, HwmonSensor and DhtSensor
# read a sysfs-shaped tree under their Root (their real drivers are
# 60-kernel-sensors.sh's).
. /tests/lib.sh
. /tests/bt.sh
for p in mqtt gpio one_wire bt exec network heartbeat iio hwmon; do require_plugin $p; done
bt_require
[ -x /usr/sbin/mosquitto ] || { echo "SKIP: no mosquitto in this initramfs"; exit 77; }

mq_start /tmp/disc 'homeassistant/#' 'ha/#'
BT_VIRT_ARGS=-l2 bt_start || { mq_stop; finish discovery; }
bt_btmgmt connectable on
bt_btmgmt discov on
sim_create disc sr-vm-disc 2
sim_pull 0 up
printf 'IP address       HW type     Flags       HW address            Mask     Device\n10.0.2.2         0x1         0x2         52:55:0a:00:02:02     *        eth0\n' > /tmp/disc/arp
K=/tmp/disc/kernel/sys
mkdir -p "$K/bus/iio/devices/iio:device0" "$K/bus/iio/devices/iio:device1" "$K/class/hwmon/hwmon0"
attr() { printf '%s\n' "$2" > "$K/$1"; } # PATH VALUE
attr bus/iio/devices/iio:device0/name bme280
attr bus/iio/devices/iio:device0/in_temp_input 25080
attr bus/iio/devices/iio:device0/in_humidityrelative_input 46333
attr bus/iio/devices/iio:device0/in_pressure_input 100.653265625
attr bus/iio/devices/iio:device1/name dht11
attr bus/iio/devices/iio:device1/in_temp_input 21500
attr bus/iio/devices/iio:device1/in_humidityrelative_input 45600
attr class/hwmon/hwmon0/name cpu_thermal
attr class/hwmon/hwmon0/temp1_input 48312

mqtt() { # NAME ROOT CLIENT DISCOVERY-LINES
	printf '[Connection_%s]\nClass = mqtt.mqtt_conn.MqttConnection\nName = %s\nHost = 127.0.0.1\nPort = 1883\n' "$1" "$1"
	printf 'RootTopic = %s\nClient = %s\nDeviceName = Every Class\n%s\n\n' "$2" "$3" "$4"
}
{
	printf '[Logging]\nLevel = INFO\n\n'
	mqtt ha ha every "Discovery = homeassistant"
	mqtt h4 h4 every4 "Discovery = homie
HomieVersion = 4"
	mqtt h5 h5 every5 "Discovery = homie
HomieVersion = 5"
	cat <<INI
[Sensor_Heartbeat]
Class = heartbeat.heartbeat.Heartbeat
Connection = ha,h4,h5
Poll = 60
Num-Dest = hb/num
Str-Dest = hb/str

[Sensor_Exec]
Class = exec.exec_sensor.ExecSensor
Connection = ha,h4,h5
Poll = 60
Script = echo 42
Destination = exec/out

[Actuator_Exec]
Class = exec.exec_actuator.ExecActuator
Connection = ha,h4,h5
Command = echo done
CommandSrc = exec/cmd
ResultsDest = exec/result

[Sensor_Temp]
Class = one_wire.ds18x20_sensor.Ds18x20Sensor
Connection = ha,h4,h5
Mac = 28-000000000001
Destination = temp
Poll = 60

[Sensor_Arp]
Class = network.arp_sensor.ArpSensor
Connection = ha,h4,h5
MAC = 52:55:0A:00:02:02
Destination = phone
Poll = 60
ArpTable = /tmp/disc/arp

[Sensor_Door]
Class = gpio.rpi_gpio.RpiGpioSensor
Connection = ha,h4,h5
Chip = sr-vm-disc
Pin = 0
PUD = UP
EventDetection = BOTH
Destination = door
Short_Press-Dest = door/short
Long_Press-Dest = door/long
Long_Press-Threshold = 1

[Actuator_Relay]
Class = gpio.rpi_gpio.RpiGpioActuator
Connection = ha,h4,h5
Chip = sr-vm-disc
Pin = 1
CommandSrc = relay

[Sensor_Room]
Class = iio.iio_sensor.IioSensor
Connection = ha,h4,h5
Device = bme280
TempDest = room/temperature
HumiDest = room/humidity
PressureDest = room/pressure
Poll = 60
Root = /tmp/disc/kernel

[Sensor_Cpu]
Class = hwmon.hwmon_sensor.HwmonSensor
Connection = ha,h4,h5
Chip = cpu_thermal
TempDest = cpu/temperature
Poll = 60
Root = /tmp/disc/kernel

[Sensor_Dht]
Class = gpio.dht_sensor.DhtSensor
Connection = ha,h4,h5
Sensor = AM2302
Device = dht11
TempDest = garden/temperature
HumiDest = garden/humidity
Poll = 60
Root = /tmp/disc/kernel

[Sensor_Govee]
Class = bt.govee_sensor.GoveeSensor
Connection = ha,h4,h5
Destination = govee

[Sensor_Btle]
Class = bt.btle_sensor.BtleSensor
Connection = ha,h4,h5
Poll = 16
Timeout = 15
Address1 = $(echo "$BT_ADV_ADDR" | tr A-F a-f)
Destination1 = presence/tag

[Sensor_SimpleBt]
Class = bt.btscan_sensor.SimpleBtSensor
Connection = ha,h4,h5
Poll = 26
Address1 = $BT_ADV_ADDR
Destination1 = presence/phone

[Sensor_BtRssi]
Class = bt.btscan_sensor.BtRssiSensor
Connection = ha,h4,h5
Poll = 11
Address = $BT_ADV_ADDR
Destination = presence/watch
Max = 3
Near = 0
Far = 0
INI
} > /tmp/discovery.ini
chmod 600 /tmp/discovery.ini
sr_start discovery
eventually 20 "discovery runs on hci0" grep -q "discovering LE advertisements on hci0" /tmp/discovery.log
# H5075 "GVH5075_2762": 21.3 °C, 44.2 %, battery 100
bt_adv 0201050d09475648353037355f32373632030388ec09ff88ec000341c26400

# --- Home Assistant: the retained device config ----------------------------
# The Govee joins the device once it has advertised: the config announced
# again with its five sensors. Every check reads the latest config.
config() { grep "^homeassistant/device/every/config " /tmp/disc/wire | tail -n 1; }
eventually 10 "ha: the device config is announced" sh -c 'grep -q "^homeassistant/device/every/config " /tmp/disc/wire'
eventually 30 "ha: the Govee joins it once it has advertised" \
	sh -c 'grep "^homeassistant/device/every/config " /tmp/disc/wire | tail -n 1 | grep -q "\"sensor_govee_gvh5075_2762_temp_c\":"'
# entity KEY PLATFORM [STATE-TOPIC]: one component of the device config
entity() {
	_e=$(config | grep -o "\"$1\":{[^}]*}")
	check "ha: $1 is a $2" "\"platform\":\"$2\"" "$(printf '%s' "$_e" | grep -o '"platform":"[^"]*"')"
	[ -z "$3" ] || check "ha: $1 reads ha/$3" "\"ha/$3\"" "$(printf '%s' "$_e" | grep -o "\"ha/$3\"")"
}
entity sensor_heartbeat_num_dest sensor hb/num
entity sensor_heartbeat_str_dest sensor hb/str
entity sensor_exec_destination sensor exec/out
entity actuator_exec_resultsdest sensor exec/result
entity sensor_temp_destination sensor temp
entity sensor_arp_destination binary_sensor phone
entity sensor_door_destination binary_sensor door
entity sensor_door_short_press_dest device_automation door/short
entity sensor_door_long_press_dest device_automation door/long
entity actuator_relay_commandsrc switch
entity sensor_room_tempdest sensor room/temperature
entity sensor_room_humidest sensor room/humidity
entity sensor_room_pressuredest sensor room/pressure
entity sensor_cpu_tempdest sensor cpu/temperature
entity sensor_dht_tempdest sensor garden/temperature
entity sensor_dht_humidest sensor garden/humidity
entity sensor_btle_destination1 binary_sensor presence/tag
entity sensor_simplebt_destination1 binary_sensor presence/phone
entity sensor_btrssi_destination binary_sensor presence/watch
for leaf in temp_c temp_f humi battery rssi; do
	entity sensor_govee_gvh5075_2762_$leaf sensor govee/GVH5075_2762/$leaf
done
entity refresh button
check "ha: the switch's command topic is ha/relay" 1 \
	"$(config | grep -c '"actuator_relay_commandsrc":{[^}]*"command_topic":"ha/relay"')"
check "ha: the device config holds 25 entities" 25 "$(config | grep -o '"platform":' | wc -l)"

# --- a reading of every class on its announced state topic -----------------
wire_has() { grep -qx "$1" /tmp/disc/wire; }
eventually 10 "Heartbeat: ha/hb/str" sh -c 'grep -q "^ha/hb/str 00:00:" /tmp/disc/wire'
eventually 10 "ExecSensor: ha/exec/out 42" wire_has "ha/exec/out 42"
eventually 10 "Ds18x20Sensor: ha/temp is a number" sh -c 'grep -qE "^ha/temp -?[0-9]+(\.[0-9]+)?$" /tmp/disc/wire'
eventually 10 "ArpSensor: ha/phone ON" wire_has "ha/phone ON"
eventually 10 "IioSensor: ha/room/pressure 1006.533" wire_has "ha/room/pressure 1006.533"
eventually 10 "HwmonSensor: ha/cpu/temperature 48.312" wire_has "ha/cpu/temperature 48.312"
eventually 10 "DhtSensor: ha/garden/temperature 21.5" wire_has "ha/garden/temperature 21.5"
eventually 10 "RpiGpioSensor: ha/door OPEN (pulled up)" wire_has "ha/door OPEN"
eventually 30 "GoveeSensor: ha/govee/GVH5075_2762/temp_c 21.30" wire_has "ha/govee/GVH5075_2762/temp_c 21.30"
eventually 40 "BtleSensor: ha/presence/tag ON" wire_has "ha/presence/tag ON"
eventually 40 "SimpleBtSensor: ha/presence/phone ON" wire_has "ha/presence/phone ON"
eventually 40 "BtRssiSensor: ha/presence/watch ON" wire_has "ha/presence/watch ON"
mosquitto_pub -h 127.0.0.1 -t ha/relay -m ON
eventually 10 "RpiGpioActuator: ON on the switch's command topic drives the line high" sim_value_is 1 1
mosquitto_pub -h 127.0.0.1 -t ha/exec/cmd -m go
eventually 10 "ExecActuator: ha/exec/result \"done go\"" wire_has "ha/exec/result done go"
sim_pull 0 down
eventually 10 "RpiGpioSensor: ha/door CLOSED" wire_has "ha/door CLOSED"

# --- Homie: the retained devices, for the host's consumer ------------------
# --retained-only ends mosquitto_sub at the first live message: the
# retained set is complete by then. Live ticks on a topic of the same
# subscription make sure one comes.
dump() { # TOPIC-FILTER FILE
	mosquitto_sub -h 127.0.0.1 -v --retained-only -t "$1" -t "dump/tick/$$" > "$2" 2>&1 &
	_dump_pid=$!
	wait_for 10 sh -c "mosquitto_pub -h 127.0.0.1 -t dump/tick/$$ -n; ! kill -0 $_dump_pid 2>/dev/null"
	kill "$_dump_pid" 2>/dev/null
	wait "$_dump_pid"
}
homie_ready() { mosquitto_sub -h 127.0.0.1 -C 1 -W 5 -t "$1" 2>/dev/null | grep -qx ready; }
eventually 10 "homie 4: \$state ready" homie_ready 'homie/every4/$state'
eventually 10 "homie 5: \$state ready" homie_ready 'homie/5/every5/$state'
eventually 10 "homie 4: the Govee is a node" sh -c "mosquitto_sub -h 127.0.0.1 -C 1 -W 5 -t 'homie/every4/\$nodes' | grep -q gvh5075"
for v in 4 5; do
	topic=homie/every4/#
	[ $v = 4 ] || topic=homie/5/every5/#
	dump "$topic" /tmp/disc/homie$v
	check "homie $v: the dump holds the device ($(wc -l < /tmp/disc/homie$v) retained topics)" 1 \
		"$(grep -c '^homie/[^ ]*\$state ready$' /tmp/disc/homie$v)"
	echo "@@HOMIE-DUMP v$v@@"
	cat /tmp/disc/homie$v
	echo "@@HOMIE-DUMP-END@@"
done

sr_stop
check "a clean stop leaves the Home Assistant config retained" 1 \
	"$(mosquitto_sub -h 127.0.0.1 -v --retained-only -C 1 -W 5 -t homeassistant/device/every/config 2>/dev/null | grep -c '"components"')"
[ "$fail" -eq 0 ] || { echo "--- wire"; cat /tmp/disc/wire; }
mq_stop
bt_stop
finish discovery
