#!/bin/sh
# A power cut under a QueueFile (issue 15 part 1), in two boots of the VM on
# one ext4 disk (/dev/vda), run by run-vm-tests.sh after the other tests:
#
# sr.phase=1  the broker is down; the daemon queues a reading every 20 ms
#             (0, 1, 2, ...: sr_bench's RateSensor)
#             into /mnt/mqtt.queue (QueueSync = 1). Once a sync has covered
#             100 or more and 10 more have been written since, the kernel
#             is reset through sysrq (no sync, no unmount: what the page
#             cache held is lost, as in a power cut). It prints
#             @@POWERCUT synced=K published=P@@ first.
# sr.phase=2  (sr.synced=K) mount (ext4 replays its journal), a broker and a
#             subscriber, the daemon on the same file: the readings arrive
#             in order, each once, with no gap, at least the K synced ones
#             and at most the P published ones; the file ends empty.
. /tests/lib.sh
require_plugin mqtt
phase=$(sed -n 's/.*sr\.phase=\([0-9]\).*/\1/p' /proc/cmdline)
while read -r ko args; do
	[ -n "$ko" ] || continue
	# shellcheck disable=SC2086
	insmod "/lib/modules/$ko" $args || echo "insmod $ko FAILED"
done < /etc/modules.cut
mkdir -p /mnt
mount -t ext4 /dev/vda /mnt || { not_ok "mount the ext4 disk /dev/vda"; finish power-cut; }

# write_ini SENSOR-LINES: the connection and one sensor section.
write_ini() {
	cat > /tmp/cut.ini <<INI
[Connection_MQTT]
Class = mqtt.mqtt_conn.MqttConnection
Name = mqtt
Host = 127.0.0.1
Port = 1883
RootTopic = sr
Client = cut
QoS = 1
ReconnectMin = 0.2
ReconnectMax = 0.5
QueueFile = /mnt/mqtt.queue
QueueSync = 1
Level = DEBUG

[Sensor_Seq]
Connection = mqtt
Level = DEBUG
$1
INI
}
# The last sync's message count, and the last value published.
last_synced() { sed -n 's/.*QueueFile synced: \([0-9]*\) message.*/\1/p' /tmp/cut.log | tail -n1; }
last_published() { sed -n 's/.*publish seq = \([0-9]*\)$/\1/p' /tmp/cut.log | tail -n1; }
ready_to_cut() {
	K=$(last_synced)
	P=$(last_published)
	# P is the last value, so P + 1 readings are in the file.
	[ -n "$K" ] && [ -n "$P" ] && [ "$K" -ge 100 ] && [ "$P" -ge $((K + 10)) ]
}

if [ "$phase" = 1 ]; then
	# A reading every 20 ms: 0, 1, 2, ... (the benchmarks' RateSensor).
	write_ini "Class = sr_bench.bench.RateSensor
Items = seq
Rate = 50"
	sr_start cut
	if ! wait_for 60 ready_to_cut; then
		not_ok "a sync covering 100 readings, then 10 more" "$(tail -n 5 /tmp/cut.log)"
		finish power-cut
	fi
	echo "@@POWERCUT synced=$K published=$((P + 1))@@"
	echo 1 > /proc/sys/kernel/sysrq
	echo b > /proc/sysrq-trigger
	sleep 10 # not reached: the reset ends the VM (qemu -no-reboot)
	not_ok "sysrq b reset the VM"
	finish power-cut
fi

synced=$(sed -n 's/.*sr\.synced=\([0-9]*\).*/\1/p' /proc/cmdline)
published=$(sed -n 's/.*sr\.published=\([0-9]*\).*/\1/p' /proc/cmdline)
echo "phase 2: the cut came after a sync of $synced readings, with $published published"
ip link set lo up 2>/dev/null || ifconfig lo 127.0.0.1 up
printf 'listener 1883 127.0.0.1\nallow_anonymous true\nuser root\n' > /tmp/mosquitto.conf
mosquitto -c /tmp/mosquitto.conf > /tmp/broker.log 2>&1 &
MQ_PID=$!
eventually 10 "mosquitto listens on 127.0.0.1:1883" sh -c 'netstat -ltn 2>/dev/null | grep -q "127.0.0.1:1883"'
mosquitto_sub -h 127.0.0.1 -q 1 -t sr/seq -t sr/after > /tmp/got 2>&1 &
SUB_PID=$!
wait_for 5 sh -c 'netstat -tn 2>/dev/null | grep -q ":1883 .*ESTABLISHED"'
# The new run's only reading goes to sr/after, queued behind the old ones.
write_ini "Class = sr_test.test.TestSensor
Poll = 60
Destination = after
Values = done"
sr_start cut
eventually 30 "the restarted daemon delivers the queue, then its own reading" grep -qx done /tmp/got
kept=$(sed -n 's/.*QueueFile \/mnt\/mqtt.queue: \([0-9]*\) message(s) queued before the restart.*/\1/p' /tmp/cut.log)
echo "the file held $kept reading(s) after the cut"
grep -v -x done /tmp/got > /tmp/seq
got=$(wc -l < /tmp/seq)
check "every reading the file held arrived" "$kept" "$got"
check "in order, each once, no gap: 0..$((got - 1))" "$(seq 0 $((got - 1)) | tr '\n' ' ')" "$(tr '\n' ' ' < /tmp/seq)"
if [ "$got" -ge "$synced" ] && [ "$got" -le "$published" ]; then
	ok "at least the $synced synced readings survived, at most the $published published ($got)"
else
	not_ok "between the $synced synced and the $published published" "$got arrived"
fi
torn=$(grep -c "torn or corrupt record" /tmp/cut.log)
[ "$torn" -le 1 ] && ok "a torn tail, if any, is one log line ($torn)" || not_ok "one log line for a torn tail" "$torn"
eventually 5 "the file is back to its 8-byte header once delivered" sh -c '[ "$(stat -c %s /mnt/mqtt.queue)" = 8 ]'
sr_stop
kill "$SUB_PID" "$MQ_PID" 2>/dev/null
wait "$SUB_PID" "$MQ_PID" 2>/dev/null
umount /mnt
finish power-cut
