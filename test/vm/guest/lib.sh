# Helpers for the guest tests (busybox sh). Source it: . /tests/lib.sh
#
# A test prints one "ok   - ..." or "FAIL - ..." line per check and ends
# with finish, which prints "NAME: N passed, N failed" and sets the exit
# status (0 all passed, 1 otherwise; 77 from require_plugin = skipped).

PLUGINS=/usr/lib/sensor_reporter/plugins
# As in the host's test environment (test/meson.build): a sanitizer finding
# in an ASan build aborts the daemon, which its exit status check then
# reports.
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:intercept_tls_get_addr=0
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
pass=0
fail=0

ok() { echo "ok   - $1"; pass=$((pass + 1)); }
not_ok() { echo "FAIL - $1${2:+: $2}"; fail=$((fail + 1)); }

# check DESCRIPTION EXPECTED ACTUAL
check() {
	if [ "$2" = "$3" ]; then ok "$1"; else not_ok "$1" "expected '$2', got '$3'"; fi
}

# The uptime in hundredths of a second, in NOW_CS (no fork: it is polled).
now_cs() {
	read -r _up _ < /proc/uptime
	_frac=${_up#*.}
	NOW_CS=$((${_up%.*} * 100 + ${_frac#0}))
}

# wait_for SECONDS COMMAND...: run COMMAND every 50 ms until it succeeds
# (status 0) or SECONDS have passed (status 1).
wait_for() {
	now_cs
	_deadline=$((NOW_CS + $1 * 100))
	shift
	while :; do
		"$@" && return 0
		now_cs
		[ "$NOW_CS" -lt "$_deadline" ] || return 1
		usleep 50000
	done
}

# eventually SECONDS DESCRIPTION COMMAND...: a check that COMMAND succeeds
# within SECONDS.
eventually() {
	_secs=$1 _what=$2
	shift 2
	if wait_for "$_secs" "$@"; then ok "$_what"; else not_ok "$_what" "not within ${_secs}s ($*)"; fi
}

# --- conditions for wait_for / eventually -----------------------------------
# payloads FILE: the payloads a TestActuator recorded ("SOURCE PAYLOAD"
# lines), space separated, in order.
payloads() { [ -f "$1" ] && cut -d' ' -f2- "$1" | tr '\n' ' ' | sed 's/ $//'; }
payloads_are() { [ "$(payloads "$1")" = "$2" ]; }
# line_count FILE: number of lines (0 when the file does not exist)
line_count() { if [ -f "$1" ]; then wc -l < "$1"; else echo 0; fi; }
has_lines() { [ "$(line_count "$1")" -ge "$2" ]; }
# last_payload_is_number FILE VALUE: the latest payload is a decimal number
# within 0.001 of VALUE
last_payload_is_number() {
	[ -f "$1" ] || return 1
	awk -v want="$2" '{ v = $2 } END { d = v - want
		exit !(v ~ /^-?[0-9]+(\.[0-9]+)?$/ && d < 0.001 && d > -0.001) }' "$1"
}

# --- the plugins in this VM ---------------------------------------------------
# require_plugin NAME: skip the test (exit 77) when the build was made without
# NAME on purpose (run-vm-tests.sh --without NAME).
require_plugin() {
	if grep -qx "$1" /etc/plugins-without; then
		echo "SKIP: the build has no $1.so (configured without it)"
		exit 77
	fi
}

# --- sensor_reporter -----------------------------------------------------------
# sr_start NAME: run sensor_reporter on /tmp/NAME.ini in the background;
# its output goes to /tmp/NAME.log, its exit status to /tmp/NAME.rc.
sr_start() {
	SR_NAME=$1
	rm -f "/tmp/$1.pid" "/tmp/$1.rc"
	(
		trap - EXIT TERM
		sh -c 'echo $$ > "$0"; exec "$@"' "/tmp/$1.pid" \
			sensor_reporter --plugin-dir "$PLUGINS" "/tmp/$1.ini" > "/tmp/$1.log" 2>&1
		echo $? > "/tmp/$1.rc"
	) &
	wait_for 5 test -s "/tmp/$1.pid"
	SR_PID=$(cat "/tmp/$1.pid")
	echo "started sensor_reporter /tmp/$1.ini (pid $SR_PID)"
}
sr_exited() { [ -s "/tmp/$SR_NAME.rc" ]; }

# sr_stop: SIGTERM, then a check that it exited 0 within 10 s; prints the log.
sr_stop() {
	kill -TERM "$SR_PID" 2>/dev/null
	wait_for 10 sr_exited || kill -KILL "$SR_PID" 2>/dev/null
	check "sensor_reporter stops cleanly on SIGTERM (exit 0)" 0 \
		"$(cat "/tmp/$SR_NAME.rc" 2>/dev/null || echo 'still running after 10 s')"
	echo "--- /tmp/$SR_NAME.log"
	sed 's/^/| /' "/tmp/$SR_NAME.log"
	SR_PID=
}

# --- gpio-sim (configfs: kernel Documentation/admin-guide/gpio/gpio-sim.rst) ---
SIM_CFG=/sys/kernel/config/gpio-sim
# sim_create NAME LABEL NUM_LINES: one chip; sets SIM_CHIP (gpiochipN) and
# SIM_SYS, the sysfs directory of its sim_gpioK/{pull,value} attributes.
sim_create() {
	SIM_D=$SIM_CFG/$1
	mkdir "$SIM_D" "$SIM_D/bank0"
	echo "$3" > "$SIM_D/bank0/num_lines"
	echo "$2" > "$SIM_D/bank0/label"
	echo 1 > "$SIM_D/live"
	SIM_CHIP=$(cat "$SIM_D/bank0/chip_name")
	SIM_SYS=/sys/devices/platform/$(cat "$SIM_D/dev_name")/$SIM_CHIP
	echo "gpio-sim chip $SIM_CHIP (label $2, $3 lines) at $SIM_SYS"
}
# sim_pull LINE up|down: what the outside world drives onto an input line
sim_pull() { echo "pull-$2" > "$SIM_SYS/sim_gpio$1/pull"; }
# sim_value LINE: the line's level (an output: what the consumer drives)
sim_value() { cat "$SIM_SYS/sim_gpio$1/value"; }
sim_value_is() { [ "$(sim_value "$1")" = "$2" ]; }
sim_remove() {
	[ -n "${SIM_D:-}" ] && [ -d "$SIM_D" ] || return 0
	echo 0 > "$SIM_D/live"
	rmdir "$SIM_D/bank0" "$SIM_D"
}

# --- a broker in the guest (tests that check the wire) ----------------------
# mq_start DIR FILTER...: mosquitto on 127.0.0.1:1883 (its configuration and
# log in DIR) and mosquitto_sub -v on the FILTERs, writing DIR/wire; mq_stop
# ends both (cleanup does too).
mq_start() {
	_mq_dir=$1
	shift
	ip link set lo up 2>/dev/null || ifconfig lo 127.0.0.1 up
	mkdir -p "$_mq_dir"
	printf 'listener 1883 127.0.0.1\nallow_anonymous true\nuser root\n' > "$_mq_dir/mosquitto.conf"
	mosquitto -c "$_mq_dir/mosquitto.conf" > "$_mq_dir/broker.log" 2>&1 &
	MQ_PID=$!
	eventually 10 "mosquitto listens on 127.0.0.1:1883" sh -c 'netstat -ltn 2>/dev/null | grep -q "127.0.0.1:1883"'
	_mq_n=$#
	for _mq_f in "$@"; do set -- "$@" -t "$_mq_f"; done
	shift "$_mq_n"
	mosquitto_sub -h 127.0.0.1 -v "$@" > "$_mq_dir/wire" 2>&1 &
	SUB_PID=$!
}
mq_stop() {
	[ -n "${MQ_PID:-}" ] || return 0
	kill "$SUB_PID" "$MQ_PID" 2>/dev/null
	wait "$SUB_PID" "$MQ_PID" 2>/dev/null
	MQ_PID=
}

# Whatever happens (a failed check, the per-test timeout's SIGTERM), leave
# no daemon running and no chip behind for the next test.
cleanup() {
	if [ -n "${SR_PID:-}" ]; then
		kill -KILL "$SR_PID" 2>/dev/null
		wait_for 5 sr_exited
		echo "--- /tmp/$SR_NAME.log (killed)"
		sed 's/^/| /' "/tmp/$SR_NAME.log"
	fi
	sim_remove
	mq_stop
}
trap cleanup EXIT
trap 'echo "FAIL - terminated (test timeout)"; exit 124' TERM

# finish NAME: the closing line and the exit status
finish() {
	echo "$1: $pass passed, $fail failed"
	[ "$fail" -eq 0 ]
	exit $?
}
