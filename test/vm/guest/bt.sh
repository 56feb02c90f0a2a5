# Bluetooth for the guest tests (busybox sh). Source it after lib.sh:
#   . /tests/lib.sh
#   . /tests/bt.sh
#
# bt_start brings up, once per test, the Bluetooth stack of a Raspberry Pi
# OS, with emulated controllers:
#   kernel      bluetooth, hci_vhci and the AF_ALG crypto btvirt needs
#               (insmod at the first bt_start of a boot; they stay loaded)
#   D-Bus       a private system bus at /run/dbus/system_bus_socket
#               (/etc/dbus-system.conf: allow-all policy)
#   btvirt -L -l2
#               two emulated LE-only controllers that hear each other:
#               hci0, the scanner (BT_SCANNER) and hci1, the advertiser
#               (BT_ADVERTISER)
#   bluetoothd -n -d
#               BlueZ; Debian's main.conf (AutoEnable=true) powers both
# and returns when both adapters are powered on D-Bus. It sets
#   BT_ADV_ADDR  hci1's address (btvirt: 00:AA:01:01:00:01)
#   BT_ADV_PATH  the Device1 object a scan on hci0 makes for it
#                (/org/bluez/hci0/dev_00_AA_01_01_00_01)
# bt_adv puts an advertisement on hci1; whatever discovers on hci0 (a
# plugin, or bt_scan_start) then sees it as BT_ADV_PATH. RSSI is always 127
# (btvirt does not model it): never assert it.
#
# Daemons are children of the test's shell, stopped by PID (bt_stop, and
# the EXIT trap for a test that ends early). Logs are in $BT_DIR and printed
# when the test has a failed check.

BT_DIR=/tmp/bt
BT_SCANNER=hci0
BT_ADVERTISER=hci1
BT_ADV_INDEX=1
BLUETOOTHD=/usr/libexec/bluetooth/bluetoothd

# bt_require: skip the test (exit 77) when the initramfs has no Bluetooth
# (no BlueZ cached and no archive to download it from; run-vm-tests.sh says
# why in /etc/bt-missing).
bt_require() {
	if [ -f /etc/bt-missing ]; then
		echo "SKIP: no Bluetooth in this VM: $(cat /etc/bt-missing)"
		exit 77
	fi
}

# --- processes -----------------------------------------------------------------
# bt_daemon NAME COMMAND...: COMMAND in the background, output to
# $BT_DIR/NAME.log, PID to $BT_DIR/NAME.pid. A log already there is kept as
# NAME.log.1 (a restarted daemon's first life).
bt_daemon() {
	_bt_name=$1
	shift
	[ ! -f "$BT_DIR/$_bt_name.log" ] || mv "$BT_DIR/$_bt_name.log" "$BT_DIR/$_bt_name.log.1"
	"$@" > "$BT_DIR/$_bt_name.log" 2>&1 7>&- &
	echo $! > "$BT_DIR/$_bt_name.pid"
}
bt_pid() { cat "$BT_DIR/$1.pid" 2>/dev/null; }
# a zombie counts as exited: the shell reaps it in bt_kill
bt_exited() { [ ! -d "/proc/$1" ] || grep -q '^[0-9]* (.*) Z' "/proc/$1/stat" 2>/dev/null; }
bt_running() { _bt_p=$(bt_pid "$1") && [ -n "$_bt_p" ] && ! bt_exited "$_bt_p"; }

# bt_kill NAME [SIGNAL]: signal NAME (default TERM), wait up to 10 s for it to
# exit (then KILL it); its exit status in BT_RC (128+N: killed by signal N;
# empty: it was not started).
bt_kill() {
	BT_RC=
	_bt_p=$(bt_pid "$1") && [ -n "$_bt_p" ] || return 0
	kill "-${2:-TERM}" "$_bt_p" 2>/dev/null
	if ! wait_for 10 bt_exited "$_bt_p"; then
		echo "bt: $1 (pid $_bt_p) still running 10 s after SIG${2:-TERM}: KILL"
		kill -KILL "$_bt_p" 2>/dev/null
	fi
	wait "$_bt_p"
	BT_RC=$?
	rm -f "$BT_DIR/$1.pid"
}

# --- D-Bus ------------------------------------------------------------------------
# bt_prop PATH INTERFACE PROPERTY: a string, boolean or number property of a
# BlueZ object, as text (strings without quotes); nothing when there is no
# such object or property.
bt_prop() {
	dbus-send --system --print-reply --dest=org.bluez "$1" \
		org.freedesktop.DBus.Properties.Get "string:$2" "string:$3" 2>/dev/null |
		sed -n 's/^ *variant *[a-z0-9]* //p' | sed 's/^"\(.*\)"$/\1/'
}
bt_prop_is() { [ "$(bt_prop "$1" "$2" "$3")" = "$4" ]; }

# bt_manufacturer_data PATH: a Device1's ManufacturerData (a{qv}, v = ay),
# one "COMPANY_ID BYTE..." line per entry, the ID in decimal and the bytes
# in hex: "60552 00 03 41 c2 64 00". dbus-send prints a byte array as a
# string when every byte is printable, so that form is turned back into hex.
bt_manufacturer_data() {
	dbus-send --system --print-reply --dest=org.bluez "$1" \
		org.freedesktop.DBus.Properties.Get string:org.bluez.Device1 \
		string:ManufacturerData 2>/dev/null |
		awk 'BEGIN { for (i = 32; i < 127; i++) hex[sprintf("%c", i)] = sprintf("%02x", i) }
		$1 == "uint16" { key = $2; next }
		/array of bytes \[$/ { in_hex = 1; bytes = ""; next }
		in_hex && $1 == "]" { in_hex = 0; print key bytes; next }
		in_hex { for (i = 1; i <= NF; i++) bytes = bytes " " $i; next }
		/array of bytes "/ {
			s = $0
			sub(/^.*array of bytes "/, "", s)
			nul = sub(/" \+ \\0$/, "", s)
			if (!nul) sub(/"$/, "", s)
			bytes = ""
			for (i = 1; i <= length(s); i++) bytes = bytes " " hex[substr(s, i, 1)]
			print key bytes (nul ? " 00" : "")
		}'
}
bt_manufacturer_data_is() { [ "$(bt_manufacturer_data "$1")" = "$2" ]; }

bt_adapters_powered() {
	bt_prop "/org/bluez/$BT_SCANNER" org.bluez.Adapter1 Powered | grep -qx true &&
		bt_prop "/org/bluez/$BT_ADVERTISER" org.bluez.Adapter1 Powered | grep -qx true
}
# bt_has_device PATH: bluetoothd has that Device1 object
bt_has_device() { [ -n "$(bt_prop "$1" org.bluez.Device1 Address)" ]; }

# --- the stack ------------------------------------------------------------------------
bt_load_modules() {
	while read -r _bt_ko _bt_args; do
		[ -n "$_bt_ko" ] || continue
		[ ! -d "/sys/module/$(echo "${_bt_ko%.ko}" | tr - _)" ] || continue
		# shellcheck disable=SC2086
		insmod "/lib/modules/$_bt_ko" $_bt_args || return 1
	done < /etc/modules.bt
}

# bt_expect SECONDS DESCRIPTION COMMAND...: eventually, with its verdict as
# the status (a step the rest depends on)
bt_expect() {
	# shellcheck disable=SC2154 # lib.sh's count of failed checks
	_bt_fails=$fail
	eventually "$@"
	[ "$fail" = "$_bt_fails" ]
}

bt_start_bluetoothd() {
	bt_daemon bluetoothd "$BLUETOOTHD" -n -d
	bt_expect 30 "bluetooth: bluetoothd powers $BT_SCANNER and $BT_ADVERTISER (D-Bus Adapter1.Powered)" \
		bt_adapters_powered
}

# bt_start: the whole stack (see the top); status 1, with a failed check and
# the logs, when a part does not come up.
bt_start() {
	bt_require
	BT_STARTED=1
	echo "bt: $(tr '\n' ' ' < /etc/bt-versions)"
	mkdir -p "$BT_DIR" /run/dbus
	# no pairing or cache from an earlier test
	rm -rf /var/lib/bluetooth /run/dbus/system_bus_socket
	mkdir -p /var/lib/bluetooth
	bt_load_modules || { not_ok "bluetooth: kernel modules load" "see the console"; return 1; }
	bt_daemon dbus dbus-daemon --config-file=/etc/dbus-system.conf --nofork --nopidfile
	if ! wait_for 10 test -S /run/dbus/system_bus_socket; then
		not_ok "bluetooth: dbus-daemon listens on /run/dbus/system_bus_socket"
		return 1
	fi
	# BT_VIRT_ARGS: "-l2" gives dual-mode controllers (classic inquiry and
	# name requests, for the btscan classes); the default is LE-only.
	# shellcheck disable=SC2086
	bt_daemon btvirt btvirt ${BT_VIRT_ARGS:--L -l2}
	if ! wait_for 10 test -e "/sys/class/bluetooth/$BT_ADVERTISER"; then
		not_ok "bluetooth: btvirt creates $BT_SCANNER and $BT_ADVERTISER"
		return 1
	fi
	bt_start_bluetoothd || return 1
	BT_ADV_ADDR=$(bt_prop "/org/bluez/$BT_ADVERTISER" org.bluez.Adapter1 Address)
	BT_ADV_PATH=/org/bluez/$BT_SCANNER/dev_$(echo "$BT_ADV_ADDR" | tr : _)
	echo "bt: $BT_SCANNER $(bt_prop "/org/bluez/$BT_SCANNER" org.bluez.Adapter1 Address) scans," \
		"$BT_ADVERTISER $BT_ADV_ADDR advertises (seen as $BT_ADV_PATH)"
}

# bt_restart_bluetoothd [SIGNAL]: stop bluetoothd with SIGNAL (default TERM;
# its exit status in BT_RC), start a new one and wait until it has powered
# both adapters again. Every D-Bus client loses its discovery session, and
# the new bluetoothd clears the kernel's advertising instances: advertise
# again (bt_adv) after it.
bt_restart_bluetoothd() {
	bt_kill bluetoothd "${1:-TERM}"
	_bt_restart_rc=$BT_RC
	echo "bt: bluetoothd stopped with SIG${1:-TERM}, exit status $BT_RC; starting it again"
	bt_start_bluetoothd
	_bt_started=$?
	BT_RC=$_bt_restart_rc
	return $_bt_started
}

# bt_stop: stop everything bt_start started, newest first, and wait until
# btvirt's controllers are gone so the next test gets fresh ones. With
# "check", a check that bluetoothd exits 0 on SIGTERM.
bt_stop() {
	[ -n "${BT_STARTED:-}" ] || return 0
	BT_STARTED=
	bt_scan_stop
	bt_kill bluetoothd
	[ "$1" != check ] || check "bluetoothd stops cleanly on SIGTERM (exit 0)" 0 "$BT_RC"
	bt_kill btvirt
	wait_for 5 test ! -e "/sys/class/bluetooth/$BT_SCANNER" ||
		echo "bt: $BT_SCANNER still there after btvirt exited"
	bt_kill dbus
	[ "$fail" -eq 0 ] || bt_logs
}

# bt_plain: stdin without colours and readline's prompt redrawing
bt_plain() { tr -d '\001\002\r' | sed "s/$(printf '\033')\\[[0-9;]*m//g"; }

# bt_logs: every daemon's log (on a failure)
bt_logs() {
	for _bt_log in "$BT_DIR"/*.log*; do
		[ -f "$_bt_log" ] || continue
		echo "--- $_bt_log"
		bt_plain < "$_bt_log" | awk '{ print "| " $0 }' # also a last line without \n
	done
	echo "--- dmesg (Bluetooth)"
	dmesg | grep -iE 'bluetooth|hci|vhci' | tail -n 20 | sed 's/^/| /'
}

# --- advertising on hci1 ---------------------------------------------------------
# bt_btmgmt ARGS...: btmgmt on hci1, its output on the console (colours
# removed) and its exit status (0: the kernel accepted the command). stdin
# is an empty pipe: with /dev/null, which epoll cannot watch, btmgmt 5.66
# attaches no input and prints nothing at all.
bt_btmgmt() {
	: | btmgmt --index "$BT_ADV_INDEX" "$@" > "$BT_DIR/btmgmt.out" 2>&1
	_bt_rc=$?
	bt_plain < "$BT_DIR/btmgmt.out" | sed 's/^/btmgmt: /'
	return $_bt_rc
}

# bt_adv HEX [INSTANCE]: advertise the AD structures HEX (hex digits, up to 31
# bytes; flags allowed) from hci1 as advertising instance INSTANCE
# (default 1), connectable (-c): the kernel then uses hci1's public address.
# Without -c it takes a new random address at each change, so a scanner
# would see a new device each time. Adding an existing instance replaces its
# data and re-enables advertising, which a scanner on hci0 reports at once.
# The instance lives in the kernel: it outlives btmgmt, but not a bluetoothd
# restart (a starting bluetoothd removes every instance).
bt_adv() { bt_btmgmt add-adv -c -d "$1" "${2:-1}"; }

# bt_adv_remove [INSTANCE]: stop advertising INSTANCE (default 1)
bt_adv_remove() { bt_btmgmt rm-adv "${1:-1}"; }

# bt_adv_count: how many advertising instances hci1 has
bt_adv_count() {
	bt_btmgmt advinfo > /dev/null &&
		sed -n 's/^Instances list with \([0-9]*\) item.*/\1/p' "$BT_DIR/btmgmt.out"
}

# --- discovery on hci0 without a plugin ----------------------------------------------
# bt_scan_start: discovery on hci0 as a plugin asks for it: SetDiscoveryFilter
# {Transport "le", DuplicateData true}, then StartDiscovery. The session
# belongs to the client's bus connection, so the client must stay:
# bluetoothctl, reading its commands from a FIFO. Returns when bluetoothd
# says hci0 is Discovering.
bt_scan_start() {
	_bt_scanner_addr=$(bt_prop "/org/bluez/$BT_SCANNER" org.bluez.Adapter1 Address)
	rm -f "$BT_DIR/bluetoothctl.in"
	mkfifo "$BT_DIR/bluetoothctl.in"
	[ ! -f "$BT_DIR/bluetoothctl.log" ] || mv "$BT_DIR/bluetoothctl.log" "$BT_DIR/bluetoothctl.log.1"
	bluetoothctl < "$BT_DIR/bluetoothctl.in" > "$BT_DIR/bluetoothctl.log" 2>&1 &
	echo $! > "$BT_DIR/bluetoothctl.pid"
	exec 7> "$BT_DIR/bluetoothctl.in" # opens once bluetoothctl has it open
	# Commands before it has found the controller would go to no adapter.
	if ! wait_for 10 grep -q "Controller $_bt_scanner_addr" "$BT_DIR/bluetoothctl.log"; then
		not_ok "bluetooth: bluetoothctl sees $BT_SCANNER ($_bt_scanner_addr)"
		return 1
	fi
	printf '%s\n' "select $_bt_scanner_addr" "menu scan" "transport le" "duplicate-data on" \
		back "scan on" >&7
	bt_expect 20 "bluetooth: discovery on $BT_SCANNER (Adapter1.Discovering)" \
		bt_prop_is "/org/bluez/$BT_SCANNER" org.bluez.Adapter1 Discovering true
}

# bt_scan_stop: end bt_scan_start's session (its client goes away)
bt_scan_stop() {
	bt_kill bluetoothctl
	exec 7>&-
}

# Whatever ends the test, leave no Bluetooth daemon for the next one
# (lib.sh's cleanup first: sensor_reporter stops before bluetoothd).
trap 'cleanup; bt_stop' EXIT
