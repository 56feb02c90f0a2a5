#!/bin/sh
# gpio.rpi_gpio.RpiGpioActuator (SPEC 7.5) on a gpio-sim chip: the level each
# actuator drives is read back from the chip (sysfs sim_gpioK/value).
#   line 1: ON/OFF from a LocalConnection rule (OnGT = 10) fed by a
#           TestSensor publishing 15, 5, 15 every 2 s -> 1, 0, 1
#   line 3: the same commands with InvertOut -> 0, 1, 0
#   line 17: the same commands, addressed as PinNumbering = BOARD, Pin = 11
#   line 4: InitialState = ON, no commands -> 1
#   line 5: TOGGLE every 2 s -> 1, 0, 1
#   line 6: SimulateButton: a command every second pulses the line high for 0.5 s
. /tests/lib.sh
require_plugin gpio

sim_create output sr-vm-output 28
cat > /tmp/gpio_out.ini <<EOF
[Logging]
Level = DEBUG

[Connection_Rule]
Class = local.local_conn.LocalConnection
Name = rule
OnGT = 10

[Connection_Plain]
Class = local.local_conn.LocalConnection
Name = plain

[Actuator_Led]
Class = gpio.rpi_gpio.RpiGpioActuator
Connection = rule
Chip = /dev/$SIM_CHIP
Pin = 1
CommandSrc = level

[Actuator_Inverted]
Class = gpio.rpi_gpio.RpiGpioActuator
Connection = rule
Chip = sr-vm-output
Pin = 3
InvertOut = yes
CommandSrc = level

[Actuator_Board]
Class = gpio.rpi_gpio.RpiGpioActuator
Connection = rule
Chip = sr-vm-output
PinNumbering = BOARD
Pin = 11
CommandSrc = level

[Actuator_Initial]
Class = gpio.rpi_gpio.RpiGpioActuator
Connection = plain
Chip = sr-vm-output
Pin = 4
InitialState = ON
CommandSrc = nothing_comes_here

[Actuator_Toggle]
Class = gpio.rpi_gpio.RpiGpioActuator
Connection = plain
Chip = sr-vm-output
Pin = 5
CommandSrc = toggle

[Actuator_Button]
Class = gpio.rpi_gpio.RpiGpioActuator
Connection = plain
Chip = sr-vm-output
Pin = 6
SimulateButton = yes
CommandSrc = pulse

[Sensor_Level]
Class = sr_test.test.TestSensor
Connection = rule
Destination = level
Values = 15,5,15
Poll = 2

[Sensor_Toggle]
Class = sr_test.test.TestSensor
Connection = plain
Destination = toggle
Values = TOGGLE,TOGGLE,TOGGLE
Poll = 2

[Sensor_Pulse]
Class = sr_test.test.TestSensor
Connection = plain
Destination = pulse
Values = press,press,press,press,press,press,press,press,press,press,press,press,press,press,press
Poll = 1
EOF

for line in 1 3 4 5 6 17; do
	check "line $line reads 0 before the daemon runs" 0 "$(sim_value $line)"
done
sr_start gpio_out
eventually 10 "InitialState = ON drives line 4 high" sim_value_is 4 1

# Each level lasts one 2 s poll period, so polling every 50 ms sees each.
eventually 10 "15 > 10: ON drives line 1 high" sim_value_is 1 1
eventually 2 "ON with InvertOut drives line 3 low" sim_value_is 3 0
eventually 2 "ON on BOARD pin 11 drives BCM line 17 high" sim_value_is 17 1
eventually 2 "first TOGGLE drives line 5 high" sim_value_is 5 1
eventually 5 "5 <= 10: OFF drives line 1 low" sim_value_is 1 0
eventually 2 "OFF with InvertOut drives line 3 high" sim_value_is 3 1
eventually 2 "OFF on BOARD pin 11 drives BCM line 17 low" sim_value_is 17 0
eventually 2 "second TOGGLE drives line 5 low" sim_value_is 5 0
eventually 5 "15 > 10 again: line 1 high" sim_value_is 1 1
eventually 2 "InvertOut: line 3 low again" sim_value_is 3 0
eventually 2 "BOARD pin 11: line 17 high again" sim_value_is 17 1
eventually 2 "third TOGGLE: line 5 high again" sim_value_is 5 1
check "line 4 (no commands) stays high" 1 "$(sim_value 4)"
check "line 0 (not requested) stays 0" 0 "$(sim_value 0)"

# SimulateButton: a command every second; each pulse lasts 0.5 s.
eventually 3 "SimulateButton: a command pulses line 6 high" sim_value_is 6 1
eventually 2 "SimulateButton: line 6 back low after the pulse" sim_value_is 6 0

gpioinfo "$SIM_CHIP"
sr_stop
finish gpio-output
