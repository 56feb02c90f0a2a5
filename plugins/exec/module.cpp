// The exec module: exec.exec_sensor.ExecSensor (polling sensor: Script,
// Destination, Poll, Timeout) and exec.exec_actuator.ExecActuator (actuator:
// Command, CommandSrc, Timeout, ResultsDest). See their headers.
//
//   [Sensor_Uptime]
//   Class = exec.exec_sensor.ExecSensor
//   Connection = MQTT
//   Script = /usr/bin/uptime -p
//   Destination = uptime
//   Poll = 60
#include "exec_actuator.hpp"
#include "exec_sensor.hpp"

SR_PLUGIN_MODULE("exec", "1.0.0", sr::exec::ExecSensor, sr::exec::ExecActuator)
