#!/bin/sh
# one_wire.ds18x20_sensor.Ds18x20Sensor (SPEC 7.6) on the real kernel w1
# stack: w1 core + w1_therm, with our w1-fake bus master emulating two
# DS18B20 (loaded with nsensors=2; temperatures are module parameters).
. /tests/lib.sh
require_plugin one_wire

W=/sys/bus/w1/devices
P=/sys/module/w1_fake/parameters
eventually 10 "both fake DS18B20 are bound to w1_therm" test -e "$W/28-000000000002/w1_slave"
# A real conversion takes 750 ms and w1_therm sleeps that long; feature bit
# 2 makes it poll for completion, which the fake signals at once.
echo 2 > "$W/28-000000000001/features"
echo 2 > "$W/28-000000000002/features"
echo 21500,-5000 > "$P/temp_mC"
check "w1_slave of sensor 1 says t=21500" t=21500 "$(grep -o 't=-*[0-9]*' "$W/28-000000000001/w1_slave")"

mkdir -p /tmp/w1
cat > /tmp/one_wire.ini <<EOF
[Logging]
Level = DEBUG

[Connection_Local]
Class = local.local_conn.LocalConnection
Name = local

[Actuator_T1]
Class = sr_test.test.TestActuator
Connection = local
CommandSrc = t1
Output = /tmp/w1/t1

[Actuator_T2]
Class = sr_test.test.TestActuator
Connection = local
CommandSrc = t2
Output = /tmp/w1/t2

[Actuator_Smooth]
Class = sr_test.test.TestActuator
Connection = local
CommandSrc = t1_smooth
Output = /tmp/w1/t1_smooth

[Sensor_T1]
Class = one_wire.ds18x20_sensor.Ds18x20Sensor
Connection = local
Mac = 28-000000000001
Destination = t1
Poll = 0.5
TempUnit = C
Root = /

[Sensor_T2]
Class = one_wire.ds18x20_sensor.Ds18x20Sensor
Connection = local
Mac = 28-000000000002
Destination = t2
Poll = 0.5
TempUnit = F
Root = /

[Sensor_Smooth]
Class = one_wire.ds18x20_sensor.Ds18x20Sensor
Connection = local
Mac = 28-000000000001
Destination = t1_smooth
Poll = 0.5
Smoothing = yes
EOF
sr_start one_wire
eventually 10 "sensor 1 publishes 21.5 (C)" last_payload_is_number /tmp/w1/t1 21.5
eventually 5 "sensor 2 publishes -5 C as 23 (F)" last_payload_is_number /tmp/w1/t2 23
echo "t1: $(payloads /tmp/w1/t1); t2: $(payloads /tmp/w1/t2)"

# A later poll sees the new temperatures.
echo 30000,37000 > "$P/temp_mC"
eventually 5 "sensor 1 publishes the new 30 (C)" last_payload_is_number /tmp/w1/t1 30
eventually 5 "sensor 2 publishes 37 C as 98.6 (F)" last_payload_is_number /tmp/w1/t2 98.6
echo "t1: $(payloads /tmp/w1/t1); t2: $(payloads /tmp/w1/t2)"

# Smoothing (the mean of the last 5 readings): the first reading is 21.5
# itself, then a mix of 21.5 and 30, then 30 once five readings are 30.
eventually 5 "smoothed sensor 1 reaches 30 after five readings" last_payload_is_number /tmp/w1/t1_smooth 30
echo "t1_smooth: $(payloads /tmp/w1/t1_smooth)"
check "smoothed: the first reading is 21.5" 21.5 "$(head -n1 /tmp/w1/t1_smooth | cut -d' ' -f2)"
check "smoothed: some readings lie between 21.5 and 30" yes \
	"$(awk '$2 > 21.6 && $2 < 29.9 { n++ } END { if (n) print "yes" }' /tmp/w1/t1_smooth)"
check "smoothed: never above 30" 0 "$(awk '$2 > 30.001 { n++ } END { print n + 0 }' /tmp/w1/t1_smooth)"

# Problems are logged and nothing is published: a reading outside the
# DS18B20's range (-55..125 C), then a CRC that keeps failing (w1_therm of
# 6.1 retries, then leaves w1_slave empty; only a failure in its last try
# shows as "crc=.. NO", which the fake cannot produce on purpose).
# Each is a failed poll, so the host backs off (from the 2nd failure in a
# row, doubling up to 32 x Poll = 16 s): the waits below allow for that.
problems() { grep -cE '(WARNING|ERROR) +\[Sensor_T1\]' /tmp/one_wire.log; }
problems_above() { [ "$(problems)" -gt "$1" ]; }
echo 130000,37000 > "$P/temp_mC"
eventually 5 "130 C is logged as a problem of Sensor_T1" problems_above 0
n=$(problems)
echo 1,0 > "$P/bad_crc"
echo 27000,37000 > "$P/temp_mC"
eventually 20 "a failed CRC is logged as a problem of Sensor_T1" problems_above "$n"
echo "w1_slave with a bad CRC: '$(cat "$W/28-000000000001/w1_slave")'"
echo 25000,37000 > "$P/temp_mC"
echo 0,0 > "$P/bad_crc"
eventually 40 "sensor 1 publishes 25 once the readings are good again" last_payload_is_number /tmp/w1/t1 25
check "neither 130 C nor the bad-CRC 27 C was published" 0 \
	"$(awk '$2 > 125 || $2 == 27 { n++ } END { print n + 0 }' /tmp/w1/t1)"
grep -E '(WARNING|ERROR) +\[Sensor_T1\]' /tmp/one_wire.log

sr_stop
finish one-wire
