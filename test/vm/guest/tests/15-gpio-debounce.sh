#!/bin/sh
# gpio.rpi_gpio.RpiGpioSensor's Debounce (SPEC 7.4) on a gpio-sim chip.
# With libgpiod 2.x the period goes to the kernel (gpio-sim has no hardware
# debounce, so the GPIO character device debounces in software: the kernel
# path of the plugin), and the daemon says so in its line description; with
# libgpiod 1.6 the plugin's settle timer does it, silently. The scenario is
# the same for both: a glitch shorter than the period publishes nothing, a
# bouncing press publishes one change.
. /tests/lib.sh
require_plugin gpio

sim_create debounce sr-vm-debounce 4
mkdir -p /tmp/in
cat > /tmp/gpio_db.ini <<EOF2
[Logging]
Level = DEBUG

[Connection_Local]
Class = local.local_conn.LocalConnection
Name = local

[Sensor_Bouncy]
Class = gpio.rpi_gpio.RpiGpioSensor
Connection = local
Chip = sr-vm-debounce
Pin = 0
PUD = UP
EventDetection = BOTH
Debounce = 0.5
Destination = bouncy

[Actuator_bouncy]
Class = sr_test.test.TestActuator
Connection = local
CommandSrc = bouncy
Output = /tmp/in/bouncy
EOF2

sim_pull 0 up
sr_start gpio_db
eventually 10 "state at start OPEN" payloads_are /tmp/in/bouncy OPEN

# A 50 ms glitch (well under 0.5 s even under TCG): nothing is published.
# Had it been, it would come before the press below, so the press's list
# shows it; no sleep waits for an absence.
sim_pull 0 down
usleep 50000
sim_pull 0 up
# A bouncing press: three edges 10 ms apart, then held.
sim_pull 0 down
usleep 10000
sim_pull 0 up
usleep 10000
sim_pull 0 down
eventually 5 "a bouncing press after a glitch: one CLOSED" payloads_are /tmp/in/bouncy "OPEN CLOSED"
sim_pull 0 up
eventually 5 "release: OPEN" payloads_are /tmp/in/bouncy "OPEN CLOSED OPEN"

api=$(cat /etc/gpiod-api 2>/dev/null || echo 1)
kernel=$(grep -c 'debounced by the kernel (500000 us)' /tmp/gpio_db.log)
refused=$(grep -c 'refused a debounce period' /tmp/gpio_db.log)
if [ "$api" = 2 ]; then
	check "libgpiod 2: the kernel debounces, said once" "1 0" "$kernel $refused"
else
	check "libgpiod 1.6: software debounce, no kernel or refusal line" "0 0" "$kernel $refused"
fi
sr_stop
finish gpio-debounce
