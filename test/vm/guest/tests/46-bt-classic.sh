#!/bin/sh
# bt.btscan_sensor.SimpleBtSensor and BtRssiSensor (issue 13) on dual-mode
# btvirt controllers: hci0 asks, hci1 answers name requests while
# connectable and inquiries while discoverable. The classes use raw HCI
# commands the kernel allows without a capability (AF_BLUETOOTH only).
. /tests/lib.sh
. /tests/bt.sh
require_plugin bt
require_plugin local
bt_require
BT_VIRT_ARGS=-l2 bt_start || finish bt-classic
bt_btmgmt connectable on
bt_btmgmt discov on

mkdir -p /tmp/btc
cat > /tmp/bt-classic.ini <<INI
[Logging]
Level = DEBUG

[Connection_Local]
Class = local.local_conn.LocalConnection
Name = local

[Actuator_Name]
Class = sr_test.test.TestActuator
Connection = local
CommandSrc = name
Output = /tmp/btc/name

[Actuator_Nobody]
Class = sr_test.test.TestActuator
Connection = local
CommandSrc = nobody
Output = /tmp/btc/nobody

[Actuator_Rssi]
Class = sr_test.test.TestActuator
Connection = local
CommandSrc = rssi
Output = /tmp/btc/rssi

[Sensor_Name]
Class = bt.btscan_sensor.SimpleBtSensor
Connection = local
Poll = 26
Address1 = $BT_ADV_ADDR
Destination1 = name
Address2 = 00:AA:01:99:99:99
Destination2 = nobody

[Sensor_Rssi]
Class = bt.btscan_sensor.BtRssiSensor
Connection = local
Poll = 11
Address = $BT_ADV_ADDR
Destination = rssi
Max = 3
Near = 0
Far = 0
INI
sr_start bt-classic
eventually 40 "SimpleBtSensor: hci1 answers its name request (ON)" payloads_are /tmp/btc/name ON
eventually 60 "SimpleBtSensor: an address nobody has gets no answer (OFF)" payloads_are /tmp/btc/nobody OFF
eventually 40 "BtRssiSensor: hci1 answers the inquiry (ON)" payloads_are /tmp/btc/rssi ON
# hci1 stops answering inquiries (connectable off also ends discoverable;
# discov off alone left btvirt's inquiry scan on): the far count overtakes.
# (btvirt answers name requests whatever the scan mode, so SimpleBtSensor's
# OFF is shown with an address no controller has.)
bt_btmgmt connectable off
eventually 70 "BtRssiSensor: hci1 no longer found (OFF)" payloads_are /tmp/btc/rssi "ON OFF"
sr_stop
bt_stop
finish bt-classic
