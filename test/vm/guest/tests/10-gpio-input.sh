#!/bin/sh
# gpio.rpi_gpio.RpiGpioSensor (SPEC 7.4) on a gpio-sim chip: edges from the
# kernel through libgpiod, made by flipping the simulated pull of the line.
#   line 0: a push button, PUD = UP (pressed = LOW), BOTH edges, short and
#           long presses; Chip given by label
#   line 1: EventDetection = RISING, Chip given by /dev path
#   line 2: EventDetection = FALLING, custom Values, Chip given by name
# Every reading goes through a LocalConnection without a rule to a
# TestActuator that records it in /tmp/in/<destination>.
. /tests/lib.sh
require_plugin gpio

sim_create input sr-vm-input 8
mkdir -p /tmp/in
# Timestamps (YYYY-MM-DDTHH:MM:SS.ffffff) reach an actuator through a
# LocalConnection as TOGGLE (SPEC 6.2); the payload itself shows in the
# DEBUG log line "publish short = <timestamp>".
cat > /tmp/gpio_in.ini <<EOF
[Logging]
Level = DEBUG

[Connection_Local]
Class = local.local_conn.LocalConnection
Name = local

[Sensor_Button]
Class = gpio.rpi_gpio.RpiGpioSensor
Connection = local
Chip = sr-vm-input
Pin = 0
PUD = UP
EventDetection = BOTH
Destination = door
Short_Press-Dest = short
Short_Press-Threshold = 0.05
Long_Press-Dest = long
Long_Press-Threshold = 1.0

[Sensor_Rising]
Class = gpio.rpi_gpio.RpiGpioSensor
Connection = local
Chip = /dev/$SIM_CHIP
Pin = 1
PUD = DOWN
EventDetection = RISING
Destination = rising

[Sensor_Falling]
Class = gpio.rpi_gpio.RpiGpioSensor
Connection = local
Chip = $SIM_CHIP
Pin = 2
PUD = DOWN
EventDetection = FALLING
Values = LOW , HIGH
Destination = falling
EOF
for d in door short long rising falling; do
	cat >> /tmp/gpio_in.ini <<EOF

[Actuator_$d]
Class = sr_test.test.TestActuator
Connection = local
CommandSrc = $d
Output = /tmp/in/$d
EOF
done

sim_pull 0 up
sim_pull 1 down
sim_pull 2 down
sr_start gpio_in
# The state at start is also the sign that the lines are requested: from
# now on the daemon's bias no longer overrides our pulls.
eventually 10 "button: state at start OPEN (PUD = UP, released)" payloads_are /tmp/in/door OPEN
eventually 5 "RISING line: state at start CLOSED" payloads_are /tmp/in/rising CLOSED
eventually 5 "FALLING line: state at start LOW (Values trimmed)" payloads_are /tmp/in/falling LOW
check "the button's PUD = UP shows as the line's bias" pull-up "$(cat "$SIM_SYS/sim_gpio0/pull")"

# --- a short press: held for 0.3 s (Short_Press-Threshold 0.05 < 0.3 < 1.0)
sim_pull 0 down
eventually 5 "press: door CLOSED" payloads_are /tmp/in/door "OPEN CLOSED"
usleep 300000 # the press itself
sim_pull 0 up
eventually 5 "release: door OPEN" payloads_are /tmp/in/door "OPEN CLOSED OPEN"
eventually 5 "short press: one TOGGLE to the short actuator" payloads_are /tmp/in/short TOGGLE

# --- a long press: held for 1.5 s (> Long_Press-Threshold 1.0)
sim_pull 0 down
eventually 5 "press: door CLOSED" payloads_are /tmp/in/door "OPEN CLOSED OPEN CLOSED"
usleep 1500000 # the press itself
sim_pull 0 up
eventually 5 "release: door OPEN" payloads_are /tmp/in/door "OPEN CLOSED OPEN CLOSED OPEN"
eventually 5 "long press: one TOGGLE to the long actuator" payloads_are /tmp/in/long TOGGLE
check "the short actuator still has one press" TOGGLE "$(payloads /tmp/in/short)"

stamp='[0-9]\{4\}-[0-9][0-9]-[0-9][0-9]T[0-9][0-9]:[0-9][0-9]:[0-9][0-9]\.[0-9]\{6\}'
short_stamps=$(sed -n "s/.*\[Sensor_Button\] publish short = \(.*\)$/\1/p" /tmp/gpio_in.log)
long_stamps=$(sed -n "s/.*\[Sensor_Button\] publish long = \(.*\)$/\1/p" /tmp/gpio_in.log)
check "one short press timestamp published" 1 "$(echo "$short_stamps" | grep -c .)"
check "one long press timestamp published" 1 "$(echo "$long_stamps" | grep -c .)"
check "short timestamp is YYYY-MM-DDTHH:MM:SS.ffffff ($short_stamps)" 1 \
	"$(echo "$short_stamps" | grep -c "^$stamp\$")"
check "long timestamp is YYYY-MM-DDTHH:MM:SS.ffffff ($long_stamps)" 1 \
	"$(echo "$long_stamps" | grep -c "^$stamp\$")"
check "the timestamps are today's local date" "$(date +%F) $(date +%F)" \
	"$(echo "$short_stamps" | cut -c1-10) $(echo "$long_stamps" | cut -c1-10)"
check "the long press comes after the short one" "$short_stamps $long_stamps" \
	"$(printf '%s\n' "$long_stamps" "$short_stamps" | sort -u | tr '\n' ' ' | sed 's/ $//')"

# --- RISING and FALLING as their names say. Lines 1 and 2 move together, so
# each step has one edge that must be published and one that must not:
# up = rising on 1 (published), rising on 2 (not); down = the other way.
sim_pull 2 up
sim_pull 1 up
eventually 5 "RISING line: rising edge published" payloads_are /tmp/in/rising "CLOSED OPEN"
sim_pull 1 down
sim_pull 2 down
eventually 5 "FALLING line: falling edge published" payloads_are /tmp/in/falling "LOW LOW"
sim_pull 2 up
sim_pull 1 up
eventually 5 "RISING line: second rising edge published" payloads_are /tmp/in/rising "CLOSED OPEN OPEN"
sim_pull 1 down
sim_pull 2 down
eventually 5 "FALLING line: second falling edge published" payloads_are /tmp/in/falling "LOW LOW LOW"
# Anything published for a wrong edge would have arrived before the last
# right one: the lists are complete now.
check "RISING line: no falling edge published" "CLOSED OPEN OPEN" "$(payloads /tmp/in/rising)"
check "FALLING line: no rising edge published" "LOW LOW LOW" "$(payloads /tmp/in/falling)"

gpioinfo "$SIM_CHIP"
sr_stop
finish gpio-input
