#!/bin/sh
# The Bluetooth stack on its own, no sensor_reporter plugin: what the bt
# plugin's tests stand on. A scanner on hci0 (bluetoothctl: the discovery
# filter a plugin sets, then StartDiscovery) sees a Govee H5075 advertised
# from hci1 on D-Bus with its exact bytes, sees a changed advert, and
# bluetoothd comes back after a restart.
. /tests/lib.sh
. /tests/bt.sh

bt_require
# A Govee H5075's advert: flags, name GVH5075_2762, UUID 0xec88 and
# manufacturer data for company 0xec88: 00, three bytes big-endian (bit 23
# the sign, the rest temperature * 10000 + humidity * 10), battery %, 00.
# A: 21.3 °C 44.2 % 100 %; B: -7.3 °C 48.1 % 100 %.
H5075_A=0201050d09475648353037355f32373632030388ec09ff88ec000341c26400
H5075_B=0201050d09475648353037355f32373632030388ec09ff88ec00811f096400
# what bt_manufacturer_data reads back: the company ID 0xec88 in decimal
H5075_MSD_A="60552 00 03 41 c2 64 00"
H5075_MSD_B="60552 00 81 1f 09 64 00"

bt_start || finish bt-stack
check "hci1 has btvirt's public address" 00:AA:01:01:00:01 "$BT_ADV_ADDR"

bt_scan_start || finish bt-stack
# bluetoothd -d logs the filter it took (transport 6: LE public and random)
check "bluetoothd took the discovery filter {Transport le, DuplicateData true}" 1 \
	"$(grep -c 'filtered discovery params: transport: 6 .* duplicate data: true ' "$BT_DIR/bluetoothd.log")"

# --- the first reading appears as a new Device1 on hci0
bt_adv "$H5075_A"
check "btmgmt add-adv on hci1" 0 "$?"
eventually 20 "a Device1 for hci1 ($BT_ADV_ADDR) appears on hci0" bt_has_device "$BT_ADV_PATH"
check "its Address" "$BT_ADV_ADDR" "$(bt_prop "$BT_ADV_PATH" org.bluez.Device1 Address)"
check "its AddressType (connectable advert: the public address)" public \
	"$(bt_prop "$BT_ADV_PATH" org.bluez.Device1 AddressType)"
eventually 5 "its Name is GVH5075_2762" bt_prop_is "$BT_ADV_PATH" org.bluez.Device1 Name GVH5075_2762
eventually 5 "its ManufacturerData is {$H5075_MSD_A}" \
	bt_manufacturer_data_is "$BT_ADV_PATH" "$H5075_MSD_A"
check "ManufacturerData read back" "$H5075_MSD_A" "$(bt_manufacturer_data "$BT_ADV_PATH")"

# --- a new reading: the same instance with new data, the same device
bt_adv "$H5075_B"
check "btmgmt add-adv again (same instance, new data)" 0 "$?"
eventually 20 "the new ManufacturerData {$H5075_MSD_B} arrives" \
	bt_manufacturer_data_is "$BT_ADV_PATH" "$H5075_MSD_B"
check "ManufacturerData read back" "$H5075_MSD_B" "$(bt_manufacturer_data "$BT_ADV_PATH")"
check "still the same device's Name" GVH5075_2762 "$(bt_prop "$BT_ADV_PATH" org.bluez.Device1 Name)"

# --- bluetoothd restarts: the adapters come back; a client that starts a
# new discovery session and an advertiser that advertises again meet again
bt_restart_bluetoothd
check "bluetoothd exits 0 on SIGTERM" 0 "$BT_RC"
check "hci0 powered after the restart" true "$(bt_prop /org/bluez/hci0 org.bluez.Adapter1 Powered)"
check "hci1 powered after the restart" true "$(bt_prop /org/bluez/hci1 org.bluez.Adapter1 Powered)"
check "the new bluetoothd has no Device1 for hci1 yet" no \
	"$(bt_has_device "$BT_ADV_PATH" && echo yes || echo no)"
check "the new bluetoothd removed hci1's advertising instance" 0 "$(bt_adv_count)"
bt_scan_stop
bt_scan_start
bt_adv "$H5075_A"
check "btmgmt add-adv after the restart" 0 "$?"
eventually 20 "after the restart the Device1 comes back with {$H5075_MSD_A}" \
	bt_manufacturer_data_is "$BT_ADV_PATH" "$H5075_MSD_A"

bt_adv_remove
check "btmgmt rm-adv on hci1" 0 "$?"
bt_stop check
finish bt-stack
