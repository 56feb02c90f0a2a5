#!/bin/sh
# bt.so against real BlueZ (issue 13): the seed document's own configuration
# (Class = govee.govee_sensor.GoveeSensor, MQTT to localhost) plus a
# BtleSensor, the real sensor_reporter publishing to a real mosquitto in the
# guest, mosquitto_sub watching. hci1 advertises Govee frames (btmgmt
# add-adv), hci0 discovers through bluetoothd. RSSI is 127 here: the rssi
# topic must stay silent, no value is asserted.
. /tests/lib.sh
. /tests/bt.sh
require_plugin bt
require_plugin mqtt
bt_require
[ -x /usr/sbin/mosquitto ] || { echo "SKIP: no mosquitto in this initramfs"; exit 77; }

grep -q localhost /etc/hosts 2>/dev/null || echo '127.0.0.1 localhost' >> /etc/hosts
mq_start /tmp/mq 'sensor_reporter/#'

bt_start || { mq_stop; finish bt-sensors; }

# The seed's example, verbatim but for the log going to stdout (Syslog) and
# a BtleSensor watching hci1.
cat > /tmp/bt-sensors.ini <<INI
[Logging]
Level = INFO

[Connection1]
Class = mqtt.mqtt_conn.MqttConnection
Name = MQTT
Client = test
User = user
Password = password
Host = localhost
Port = 1883
Keepalive = 10
RootTopic = sensor_reporter
TLS = NO
Level = DEBUG

[Sensor0]
Class = govee.govee_sensor.GoveeSensor
Destination = govee
Connection = MQTT
Level = INFO

[Sensor1]
Class = bt.btle_sensor.BtleSensor
Connection = MQTT
Poll = 16
Timeout = 15
Address1 = $(echo "$BT_ADV_ADDR" | tr A-F a-f)
Destination1 = presence/govee
INI
chmod 600 /tmp/bt-sensors.ini
sr_start bt-sensors
eventually 10 "the seed's Class resolves to bt.govee_sensor.GoveeSensor, with a warning" \
	grep -q "using bt.govee_sensor.GoveeSensor" /tmp/bt-sensors.log
eventually 20 "discovery runs on hci0" grep -q "discovering LE advertisements on hci0" /tmp/bt-sensors.log

wire_has() { grep -qx "$1" /tmp/mq/wire; }
T=sensor_reporter/govee/GVH5075_2762
# H5075: 21.3 °C, 44.2 %, battery 100
bt_adv 0201050d09475648353037355f32373632030388ec09ff88ec000341c26400
eventually 30 "temp_c 21.30 on the wire" wire_has "$T/temp_c 21.30"
check "humi 44.20" 0 "$(wire_has "$T/humi 44.20"; echo $?)"
check "temp_f 70.34" 0 "$(wire_has "$T/temp_f 70.34"; echo $?)"
check "battery 100" 0 "$(wire_has "$T/battery 100"; echo $?)"
check "no rssi (BlueZ says 127: unknown)" 1 "$(grep -q "$T/rssi" /tmp/mq/wire; echo $?)"
eventually 40 "BtleSensor: the advertiser is present (ON)" wire_has "sensor_reporter/presence/govee ON"

# A new reading: -7.3 °C, 48.1 %
bt_adv 0201050d09475648353037355f32373632030388ec09ff88ec00811f096400
eventually 30 "a negative temperature arrives as -7.30" wire_has "$T/temp_c -7.30"

# bluetoothd restarts: discovery comes back by itself, a new advert arrives.
bt_restart_bluetoothd
eventually 30 "the daemon saw discovery stop" grep -q "discovery on hci0 stopped" /tmp/bt-sensors.log
eventually 30 "and run again" grep -q "discovery on hci0 running again" /tmp/bt-sensors.log
bt_adv 0201050d09475648353037355f32373632030388ec09ff88ec000418ee6400
eventually 30 "after the restart 26.80 arrives" wire_has "$T/temp_c 26.80"

# Silence: the device is absent once Timeout has passed without a report.
bt_adv_remove
eventually 60 "BtleSensor: absent (OFF) after Timeout without adverts" wire_has "sensor_reporter/presence/govee OFF"

sr_stop
echo "--- wire"; cat /tmp/mq/wire
mq_stop
bt_stop
finish bt-sensors
