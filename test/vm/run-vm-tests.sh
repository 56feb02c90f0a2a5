#!/usr/bin/env bash
# run-vm-tests.sh - the VM test tier (meson suite 'vm'; docs/vm-tests.md).
#
# Boots Debian's own kernel in QEMU with an initramfs that holds busybox, the
# gpio-sim and w1-fake kernel modules, this build's sensor_reporter binary,
# its plugin modules (gpio, one_wire, local, mqtt, bt, heartbeat, exec,
# network, iio, hwmon, sr_test) with every shared
# library they need, BlueZ and D-Bus with the Bluetooth modules (guest/bt.sh;
# the Bluetooth tests skip when BlueZ can be neither downloaded nor found in
# the cache), and the guest tests in guest/tests/. The guest runs the tests
# and powers off; this script reads the results from the serial console.
#
# Usage: run-vm-tests.sh BUILD_DIR [--without MODULE]... [--accel auto|kvm|tcg] [--refresh]
#                         [--only GLOB]
#        run-vm-tests.sh --setup-only [--refresh]
#   --without MODULE  the build has no MODULE.so on purpose (e.g. gpio without
#                     libgpiod): its tests are skipped instead of failing
#   --refresh         ignore the cached kernel and BlueZ and ask apt again
#   --only GLOB       run only the guest tests matching GLOB (e.g. '50-*'), while
#                     working on one
#   --setup-only      only fill the cache (as root, e.g. before running the
#                     suite as another user), no build dir needed
# Environment: SR_VM_CACHE (default /var/tmp/sensor_reporter-vm), KVER
#   (kernel ABI, default what linux-image-amd64 depends on), QEMU_MEM (MiB,
#   512), TEST_TIMEOUT (s per guest test, 120), BOOT_TIMEOUT (s, 600).
#
# Exit status: 0 every test passed, 1 a test failed (the guest console is
# printed), 77 QEMU or the kernel packages cannot be had (not root, apt or
# the archive unreachable). 2 on a usage error.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
CACHE=${SR_VM_CACHE:-/var/tmp/sensor_reporter-vm}
MEM=${QEMU_MEM:-512}
TEST_TIMEOUT=${TEST_TIMEOUT:-120}
BOOT_TIMEOUT=${BOOT_TIMEOUT:-600}
ACCEL=auto
APT_UPDATED=0
REFRESH=0
SETUP_ONLY=0
ONLY='[0-9]*'
WITHOUT=()
BUILD=

log() { printf '[vm] %s\n' "$*" >&2; }
die() { printf '[vm] ERROR: %s\n' "$*" >&2; exit 1; }
skip() { printf '[vm] SKIP: %s\n' "$*" >&2; exit 77; }
now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }

while [ $# -gt 0 ]; do
	case $1 in
	--without) WITHOUT+=("$2"); shift 2 ;;
	--accel) ACCEL=$2; shift 2 ;;
	--refresh) REFRESH=1; shift ;;
	--setup-only) SETUP_ONLY=1; shift ;;
	--only) ONLY=$2; shift 2 ;;
	-h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
	-*) echo "unknown option $1 (see --help)" >&2; exit 2 ;;
	*) BUILD=$1; shift ;;
	esac
done
if [ "$SETUP_ONLY" = 0 ]; then
	[ -d "$BUILD" ] || { echo "usage: $0 BUILD_DIR (see --help)" >&2; exit 2; }
	BUILD=$(cd "$BUILD" && pwd)
	SR_BIN=$BUILD/src/sensor_reporter
	[ -x "$SR_BIN" ] || die "no $SR_BIN: build first (ninja -C $BUILD)"
fi
T_START=$(now)

# ------------------------------------------------------------------ cache --
# Everything that does not depend on the build lives in $CACHE, keyed by the
# kernel ABI: the unpacked kernel image (not installed), its uncompressed
# vmlinux for a PVH boot, and the out-of-tree modules. Once it is there,
# nothing here needs root or the network.
HOST_PKGS=(qemu-system-x86 busybox-static cpio kmod xz-utils binutils gcc make libc6-dev gpiod e2fsprogs)
KMOD_SRCS=(drivers/gpio/gpio-sim.c drivers/gpio/gpiolib.h kernel/irq/irq_sim.c)
# The built modules are valid for this exact list of sources and w1-fake.c.
KMOD_KEY=$( { echo "${KMOD_SRCS[*]}"; cat "$HERE/kmod/w1-fake.c"; } | sha256sum | cut -c1-16)
# The kernel-sensor test's modules (guest/tests/60-kernel-sensors.sh): the
# dht11 IIO driver, which Debian's kernel does not enable, built from the
# same source, and dht-fake.c, a DHT22 on a GPIO line of its own. A key and a
# directory (lib/modules/KVER/sensors) of their own, so that a tree without
# them shares the cache without rebuilding anything.
SENSOR_KMOD_SRCS=(drivers/iio/humidity/dht11.c)
SENSOR_KMOD_KEY=$( { echo "${SENSOR_KMOD_SRCS[*]}"; cat "$HERE/kmod/dht-fake.c"; } | sha256sum | cut -c1-16)
mkdir -p "$CACHE" 2>/dev/null || skip "cannot create $CACHE"
# One setup at a time (parallel builds share the cache); a user who may not
# write the cache can still use it read-only.
if { exec 9>>"$CACHE/lock"; } 2>/dev/null || { exec 9<"$CACHE/lock"; } 2>/dev/null; then flock 9; fi

host_tools_present() {
	command -v qemu-system-x86_64 >/dev/null && [ -x /bin/busybox ] && command -v cpio >/dev/null
}
series() { local s=${1%%-*}; echo "${s%.*}"; } # 6.1.0-56-amd64 -> 6.1
installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'; }

# apt_install [KVER]: the host tools, plus the headers and source of KVER
# (default: the kernel linux-image-amd64 points at now; sets KVER).
apt_install() {
	[ "$(id -u)" = 0 ] || skip "QEMU or the kernel is not cached in $CACHE and installing them needs root"
	export DEBIAN_FRONTEND=noninteractive
	log "apt-get update"
	apt-get update -qq || skip "apt-get update failed (no network to the archive?)"
	APT_UPDATED=1
	if [ -z "${KVER:-}" ]; then
		KVER=$(apt-cache depends linux-image-amd64 2>/dev/null |
			sed -n 's/^ *Depends: linux-image-\([0-9].*-amd64\)$/\1/p' | head -n1)
		[ -n "$KVER" ] || skip "apt knows no linux-image-amd64 (set KVER=6.1.0-NN-amd64)"
	fi
	log "apt-get install ${HOST_PKGS[*]} linux-headers-$KVER linux-source-$(series "$KVER")"
	apt-get install -y -qq --no-install-recommends "${HOST_PKGS[@]}" \
		"linux-headers-$KVER" "linux-source-$(series "$KVER")" >/dev/null ||
		skip "apt-get install failed"
}

# fetch_kernel: download and unpack linux-image-$KVER into the cache (it is
# not installed: no initramfs-tools, /boot untouched).
fetch_kernel() {
	local kroot=$CACHE/kernel-$KVER debs=$CACHE/debs vmlinuz off
	rm -rf "$kroot" "$debs"
	mkdir -p "$debs"
	log "apt-get download linux-image-$KVER (unpacked into $kroot, not installed)"
	(cd "$debs" && apt-get download -qq -o APT::Sandbox::User=root "linux-image-$KVER") ||
		skip "apt-get download linux-image-$KVER failed"
	dpkg-deb -x "$debs"/linux-image-"$KVER"_*.deb "$kroot"
	dpkg-deb -f "$debs"/linux-image-"$KVER"_*.deb Version > "$kroot/.version"
	rm -rf "$debs"
	# PVH boot of the uncompressed vmlinux skips the in-guest XZ decompressor
	# (about 4 s under TCG). The payload starts at the XZ magic in the bzImage.
	vmlinuz=$kroot/boot/vmlinuz-$KVER
	for off in $(LC_ALL=C grep -abo $'\xfd7zXZ' "$vmlinuz" | cut -d: -f1 | head -n 5); do
		tail -c +$((off + 1)) "$vmlinuz" | xz -dcq --single-stream > "$kroot/vmlinux-pvh" 2>/dev/null || true
		# XEN_ELFNOTE_PHYS32_ENTRY (note type 0x12) marks a PVH entry point
		readelf -n "$kroot/vmlinux-pvh" 2>/dev/null | grep -qE 'note type: \(0x00000012\)|PHYS32_ENTRY' && break
		rm -f "$kroot/vmlinux-pvh"
	done
	[ -s "$kroot/vmlinux-pvh" ] || log "no PVH vmlinux found; booting the bzImage (slower)"
	echo "$KVER" > "$CACHE/current"
}

# build_modules: Debian's kernel has neither CONFIG_GPIO_SIM nor CONFIG_IRQ_SIM,
# and no simulated 1-Wire master at all: build gpio-sim and irq_sim from the
# matching linux-source, and our w1-fake, against linux-headers.
build_modules() {
	local kroot=$CACHE/kernel-$KVER series src_version kmod=$CACHE/kmod-$KVER
	series=$(series "$KVER")
	installed "linux-headers-$KVER" && installed "linux-source-$series" || apt_install
	# gpio-sim.c includes the private drivers/gpio/gpiolib.h: the source must be
	# the very version the image was built from.
	src_version=$(dpkg-query -W -f='${Version}' "linux-source-$series")
	[ "$src_version" = "$(cat "$kroot/.version")" ] ||
		skip "linux-source-$series is $src_version but linux-image-$KVER is $(cat "$kroot/.version") (mirror in transition?)"
	rm -rf "$kmod" "$kroot/lib/modules/$KVER/extra"
	mkdir -p "$kmod"
	log "building irq_sim gpio-sim w1-fake against /usr/src/linux-headers-$KVER"
	tar -xJf "/usr/src/linux-source-$series.tar.xz" -C "$kmod" --transform='s,.*/,,' \
		"${KMOD_SRCS[@]/#/linux-source-$series/}"
	cp "$HERE/kmod/w1-fake.c" "$kmod/"
	# irq_to_desc() is not exported to modules in 6.1; generic_handle_irq()
	# runs the same flow handler.
	sed -i 's/handle_simple_irq(irq_to_desc(irqnum));/generic_handle_irq(irqnum);/' "$kmod/irq_sim.c"
	grep -q 'generic_handle_irq(irqnum);' "$kmod/irq_sim.c" || die "the irq_sim.c patch did not apply"
	printf '\n#include <linux/module.h>\nMODULE_LICENSE("GPL");\n' >> "$kmod/irq_sim.c"
	make_modules "$kmod" extra .modules "$KMOD_KEY" irq_sim gpio-sim w1-fake
}

# make_modules DIR SUBDIR KEYFILE KEY MODULE...: builds the MODULEs from the
# sources in DIR against linux-headers-KVER, installs them into the cached
# kernel's lib/modules/KVER/SUBDIR, refreshes modules.dep (the .deb ships
# none) and writes KEY to the kernel's KEYFILE; DIR is removed.
make_modules() {
	local kmod=$1 subdir=$2 keyfile=$3 key=$4 kroot=$CACHE/kernel-$KVER m
	shift 4
	echo "obj-m += ${*/%/.o}" > "$kmod/Kbuild"
	make -s -C "/usr/src/linux-headers-$KVER" M="$kmod" modules 2>&1 | grep -v 'Skipping BTF' >&2 || true
	for m in "$@"; do
		[ -f "$kmod/$m.ko" ] || die "module $m.ko was not built"
	done
	strip --strip-debug "$kmod"/*.ko
	mkdir -p "$kroot/lib/modules/$KVER/$subdir"
	cp "$kmod"/*.ko "$kroot/lib/modules/$KVER/$subdir/"
	rm -rf "$kmod"
	depmod -b "$kroot" "$KVER"
	echo "$key" > "$kroot/$keyfile"
}

# build_sensor_modules: dht11.ko from the kernel's source and our
# dht-fake.ko, into lib/modules/KVER/sensors.
build_sensor_modules() {
	local kroot=$CACHE/kernel-$KVER series kmod=$CACHE/kmod-sensors-$KVER
	series=$(series "$KVER")
	installed "linux-headers-$KVER" && installed "linux-source-$series" || apt_install
	rm -rf "$kmod" "$kroot/lib/modules/$KVER/sensors"
	mkdir -p "$kmod"
	log "building dht11 dht-fake against /usr/src/linux-headers-$KVER"
	tar -xJf "/usr/src/linux-source-$series.tar.xz" -C "$kmod" --transform='s,.*/,,' \
		"${SENSOR_KMOD_SRCS[@]/#/linux-source-$series/}"
	cp "$HERE/kmod/dht-fake.c" "$kmod/"
	make_modules "$kmod" sensors .sensor-modules "$SENSOR_KMOD_KEY" dht11 dht-fake
}

# ------------------------------------------------------------- bluetooth --
# BlueZ for the Bluetooth guest tests (guest/bt.sh): btvirt emulates two LE
# controllers on the kernel's hci_vhci, bluetoothd drives them, btmgmt
# advertises. The packages are downloaded and unpacked into the cache, never
# installed: bluez's service would start on the host. The guest's D-Bus comes
# the same way, so a host without dbus works too. Keyed by bluez's version,
# and the pointer to it by the userland's release: they run on its libraries
# (bookworm's dbus-daemon needs libdbus's private symbols of 1.14, trixie
# has 1.16), so a Debian 13 chroot sharing this cache fetches its own.
# --refresh asks again.
BT_PKGS=(bluez bluez-test-tools dbus-daemon dbus-bin)
# What the guest gets of them. bluetoothctl is the discovery client: a
# discovery session lives as long as its D-Bus connection, so it needs a
# process that stays (fed commands through a FIFO), and it sets the filter
# with the same SetDiscoveryFilter call a plugin makes. dbus-send reads
# properties: 31 KiB on libdbus, which bluetoothd needs anyway (busctl would
# add systemd's 3.3 MiB shared library and more, gdbus needs gio).
BT_BINS=(/usr/libexec/bluetooth/bluetoothd /usr/bin/btvirt /usr/bin/btmgmt
	/usr/bin/bluetoothctl /usr/bin/dbus-daemon /usr/bin/dbus-send)
# btvirt opens AF_ALG ecb(aes) and cmac(aes) for each controller (BlueZ's
# src/shared/crypto.c) and gives up without them: nothing autoloads them in
# the guest.
BT_MODULES=(hci_vhci ecb cmac algif_skcipher algif_hash)
BT_CURRENT=$CACHE/bluez-current-$(. /etc/os-release 2>/dev/null; echo "${VERSION_CODENAME:-unknown}")

# fetch_bluez: download BT_PKGS and unpack them into $CACHE/bluez-VERSION/root.
# Status 1 when the archive cannot be reached: the Bluetooth tests then skip.
fetch_bluez() {
	local debs=$CACHE/bluez-debs dir deb ver
	rm -rf "$debs"
	mkdir -p "$debs" || return 1
	log "apt-get download ${BT_PKGS[*]} (unpacked into $CACHE, not installed)"
	# Stale package lists name files the mirror no longer has (404): update
	# once. Without a network (each try waits about 10 s for DNS), do not.
	if ! (cd "$debs" && apt-get download -qq -o APT::Sandbox::User=root "${BT_PKGS[@]}") 2> "$debs/err"; then
		cat "$debs/err" >&2
		if [ "$APT_UPDATED" = 1 ] || [ "$(id -u)" != 0 ] || ! grep -q ' 404 ' "$debs/err" ||
			! apt-get update -qq ||
			! (cd "$debs" && apt-get download -qq -o APT::Sandbox::User=root "${BT_PKGS[@]}"); then
			rm -rf "$debs"
			return 1
		fi
		APT_UPDATED=1
	fi
	rm -f "$debs/err"
	# (called as a condition, so set -e does not apply here)
	ver=$(dpkg-deb -f "$debs"/bluez_*.deb Version) && [ -n "$ver" ] || return 1
	dir=$CACHE/bluez-$ver
	rm -rf "$dir"
	mkdir -p "$dir/root" || return 1
	for deb in "$debs"/*.deb; do
		dpkg-deb -x "$deb" "$dir/root" || return 1
		dpkg-deb -f "$deb" Package Version Depends >> "$dir/control.new" || return 1
	done
	mv "$dir/control.new" "$dir/control" # marks the unpacked tree complete
	rm -rf "$debs"
	echo "bluez-$ver" > "$BT_CURRENT"
}

# bt_missing_libs ROOT: sonames ldd cannot find for the guest's BlueZ and
# D-Bus programs (their libraries come from the host, like all the others).
bt_missing_libs() {
	local b
	for b in "${BT_BINS[@]}"; do
		ldd "$1$b" 2>/dev/null | sed -n 's/^[[:space:]]*\([^ ]*\) => not found.*/\1/p'
	done | sort -u
}

# bt_install_libs DIR: install the library packages among DIR's Depends that
# the host lacks, and only those: a library starts no service, and apt
# resolves what it needs in turn (unpacked next to BlueZ, that chain would
# have to be followed by hand). Installed ones are left alone (no upgrades).
bt_install_libs() {
	local p pkgs=()
	for p in $(sed -n 's/^Depends: //p' "$1/control" | sed 's/[,|]/\n/g' |
		sed -n 's/^ *\(lib[^ ]*\).*/\1/p' | sort -u); do
		installed "$p" || pkgs+=("$p")
	done
	[ ${#pkgs[@]} -gt 0 ] && [ "$(id -u)" = 0 ] || return 1
	log "apt-get install ${pkgs[*]} (libraries for the guest's BlueZ)"
	apt-get install -y -qq --no-install-recommends "${pkgs[@]}" >/dev/null ||
		{ apt-get update -qq && apt-get install -y -qq --no-install-recommends "${pkgs[@]}" >/dev/null; }
}

# Network and root are needed only for what is not cached yet.
KVER=${KVER:-$(cat "$CACHE/current" 2>/dev/null || true)}
if [ "$REFRESH" = 1 ] || [ -z "$KVER" ] || ! host_tools_present || [ ! -f "$CACHE/kernel-$KVER/.version" ]; then
	[ "$REFRESH" = 0 ] || KVER=
	apt_install
	host_tools_present || skip "qemu-system-x86_64, /bin/busybox or cpio still missing"
	[ -f "$CACHE/kernel-$KVER/.version" ] || fetch_kernel
fi
[ "$(cat "$CACHE/kernel-$KVER/.modules" 2>/dev/null)" = "$KMOD_KEY" ] || build_modules
[ "$(cat "$CACHE/kernel-$KVER/.sensor-modules" 2>/dev/null)" = "$SENSOR_KMOD_KEY" ] || build_sensor_modules
log "kernel $KVER from $CACHE"
BT_CACHE=$CACHE/$(cat "$BT_CURRENT" 2>/dev/null || echo bluez-none)
if [ "$REFRESH" = 1 ] || [ ! -f "$BT_CACHE/control" ]; then
	if fetch_bluez; then
		BT_CACHE=$CACHE/$(cat "$BT_CURRENT")
	else
		log "BlueZ cannot be downloaded and is not cached: the Bluetooth tests will skip"
	fi
fi
if [ -f "$BT_CACHE/control" ] && [ -n "$(bt_missing_libs "$BT_CACHE/root")" ]; then
	bt_install_libs "$BT_CACHE" || true
fi
flock -u 9 2>/dev/null || true
[ "$SETUP_ONLY" = 0 ] || exit 0
KROOT=$CACHE/kernel-$KVER
BOOT_KERNEL=$KROOT/vmlinux-pvh
[ -s "$BOOT_KERNEL" ] || BOOT_KERNEL=$KROOT/boot/vmlinuz-$KVER
T_SETUP=$(now)

# -------------------------------------------------------------- initramfs --
WORK=$BUILD/test/vm/work # per build dir: parallel builds do not collide
R=$WORK/initramfs
rm -rf "$R"
mkdir -p "$R"/{bin,sbin,usr/bin,usr/sbin,usr/local/bin,etc,proc,sys,dev,tmp,run,lib/modules,tests}
mkdir -p "$R/usr/lib/sensor_reporter/plugins"
cp /bin/busybox "$R/bin/busybox"
for a in $("$R/bin/busybox" --list); do
	[ -e "$R/bin/$a" ] || ln -s busybox "$R/bin/$a"
done
# The kernel gives init its stdio through /dev/console, before devtmpfs.
mknod -m 600 "$R/dev/console" c 5 1 2>/dev/null || log "cannot mknod /dev/console (not root?)"

# copy_elf HOST_PATH GUEST_PATH: the file plus every library ldd lists, at
# the same absolute paths (ld.so's built-in search path finds them there).
# A library ldd cannot find, or one without a symbol version the file needs
# (a program unpacked from another release), is an error here: in the guest
# it would only show as a program that does not start.
copy_elf() {
	mkdir -p "$R$(dirname "$2")"
	cp -L "$1" "$R$2"
	local lib libs
	libs=$(ldd "$1" 2>&1 || true)
	[[ $libs != *'not found'* ]] || die "$1 cannot run on this host's libraries: $(grep 'not found' <<<"$libs" | head -3)"
	for lib in $(grep -o '=> /[^ ]*\|^[[:space:]]*/[^ ]*' <<<"$libs" | grep -o '/[^ ]*' || true); do
		[ -e "$R$lib" ] && continue
		mkdir -p "$R$(dirname "$lib")"
		cp -L "$lib" "$R$lib"
	done
}
copy_elf "$SR_BIN" /usr/local/bin/sensor_reporter
for t in gpiodetect gpioinfo; do # diagnostics only
	[ -x "/usr/bin/$t" ] && copy_elf "/usr/bin/$t" "/usr/bin/$t"
done
# A real broker and subscriber in the guest, for the tests that check the
# wire (45-bt-sensors: the seed's MQTT configuration; 50-discovery); dev.sh
# installs them.
for t in /usr/sbin/mosquitto /usr/bin/mosquitto_sub /usr/bin/mosquitto_pub; do
	[ -x "$t" ] && copy_elf "$t" "$t"
done
# Plugins are dlopen'ed, so ldd of the binary does not see them or their
# libraries (libgpiod for gpio.so): copy each with its own ldd list.
missing=()
for p in plugins/local/local plugins/gpio/gpio plugins/one_wire/one_wire plugins/mqtt/mqtt plugins/bt/bt \
	plugins/heartbeat/heartbeat plugins/exec/exec plugins/network/network plugins/iio/iio plugins/hwmon/hwmon \
	test/plugins/sr_test test/bench/sr_bench; do
	name=${p##*/}
	if [ -f "$BUILD/$p.so" ]; then
		copy_elf "$BUILD/$p.so" "/usr/lib/sensor_reporter/plugins/$name.so"
	elif [[ " ${WITHOUT[*]} " != *" $name "* ]]; then
		missing+=("$name.so")
	fi
done
[ ${#missing[@]} = 0 ] || log "NOT BUILT: ${missing[*]} in $BUILD (their tests will fail)"
# Which libgpiod API gpio.so was built for (1.6 or 2.x: gpiod2_backend.cpp);
# the guest tests expect kernel debounce only from 2. A libgpiod outside
# the system's paths (test/gpiod2/sysroot.sh) is found through gpio.so's
# RUNPATH, which meson sets in the build tree, and copied to the same path.
gpiod_api=1
# (ldd's output in a variable: grep -q would close the pipe early, and
# pipefail would turn ldd's SIGPIPE into a no.)
if [ -f "$BUILD/plugins/gpio/gpio.so" ]; then
	gpio_libs=$(ldd "$BUILD/plugins/gpio/gpio.so" 2>/dev/null || true)
	[[ $gpio_libs != *'libgpiod.so.3 => /'* ]] || gpiod_api=2
fi
echo "$gpiod_api" > "$R/etc/gpiod-api"
log "gpio.so uses the libgpiod $([ "$gpiod_api" = 2 ] && echo 2.x || echo 1.6) API"

cp "$HERE/guest/init" "$R/init"
cp "$HERE/guest/lib.sh" "$HERE/guest/bt.sh" "$R/tests/"
cp "$HERE"/guest/tests/*.sh "$HERE/guest/power-cut.sh" "$R/tests/"
chmod 755 "$R/init" "$R"/tests/*.sh
echo /tests/power-cut.sh > "$R/etc/tests.cut"
echo "$TEST_TIMEOUT" > "$R/etc/test-timeout"
printf '%s\n' "${WITHOUT[@]}" > "$R/etc/plugins-without"
# shellcheck disable=SC2086 # ONLY is a glob
(cd "$R" && { ls tests/$ONLY.sh 2>/dev/null || true; } | sed 's,^,/,') > "$R/etc/tests.list"

# Kernel modules in load order, dependencies first. w1_therm must be there
# before w1-fake's first bus search: nothing autoloads in the guest.
# i2c-stub: the register files of the I2C chips 60-kernel-sensors.sh
# instantiates (tmp105 0x48, ads1115 0x49, bme280 0x76).
declare -A MOD_PARAMS=([w1_fake]="nsensors=2" [i2c_stub]="chip_addr=0x48,0x49,0x76")
mkdir -p "$WORK/empty-modprobe.d"
# add_modules LIST MODULE...: the modules and their dependencies into the
# initramfs, listed in LIST ("file.ko params" lines) in load order. One that
# /init loads at boot (modules.load) or LIST has already is not repeated;
# the other lists (Bluetooth, the power cut's disk) are loaded in different
# tests or boots, so a module two of them need (crc16) is in both.
add_modules() {
	local list=$1 m
	shift
	: > "$list"
	for m in "$@"; do
		modprobe -C "$WORK/empty-modprobe.d" -d "$KROOT" -S "$KVER" --show-depends "$m" |
			while read -r kind path _; do
				[ "$kind" = insmod ] || continue
				ko=$(basename "$path")
				grep -qs "^$ko " "$R/etc/modules.load" "$list" && continue
				[ -e "$R/lib/modules/$ko" ] || cp "$path" "$R/lib/modules/$ko"
				name=${ko%.ko}
				echo "$ko ${MOD_PARAMS[${name//-/_}]:-}" >> "$list"
			done
	done
}
add_modules "$R/etc/modules.load" configfs gpio-sim w1_therm w1-fake
# The power cut's disk (guest/power-cut.sh loads them): virtio block, ext4
# and the crc32c it checksums with (the crypto API would modprobe it).
add_modules "$R/etc/modules.cut" virtio_pci virtio_blk crc32c_generic ext4
# The real drivers of 60-kernel-sensors.sh, loaded by that test (not by
# /init: dht-fake adds a GPIO chip the other tests need not see): an SMBus
# adapter of register files, lm75 (hwmon), bmp280 and ti-ads1015 (IIO), and
# the dht11 IIO driver on dht-fake's line. i2c-dev for busybox's i2cset.
add_modules "$R/etc/modules.sensors" i2c-stub i2c-dev lm75 bmp280-i2c ti-ads1015 dht-fake dht11

# Bluetooth (guest/bt.sh): BlueZ and D-Bus from the cache with their
# libraries, the modules bt_start loads (not /init: only Bluetooth tests pay
# for them), Debian's main.conf (AutoEnable=true powers the controllers) and
# our config for a private system bus. Without them /etc/bt-missing says
# why and the Bluetooth tests skip.
bt_missing=
if [ ! -f "$BT_CACHE/control" ]; then
	bt_missing="BlueZ is not cached in $CACHE and could not be downloaded (no network to the archive?)"
else
	bt_libs=$(bt_missing_libs "$BT_CACHE/root" | tr '\n' ' ')
	[ -z "$bt_libs" ] ||
		bt_missing="the host lacks libraries for BlueZ (${bt_libs% }); run once as root to install them"
fi
if [ -z "$bt_missing" ]; then
	for b in "${BT_BINS[@]}"; do
		copy_elf "$BT_CACHE/root$b" "$b"
	done
	mkdir -p "$R/etc/bluetooth" "$R/var/lib/bluetooth"
	cp "$BT_CACHE/root/etc/bluetooth/main.conf" "$R/etc/bluetooth/"
	cp "$HERE/guest/dbus-system.conf" "$R/etc/dbus-system.conf"
	echo 5b8f0e2a6c1d4e7f9a3b2c1d0e9f8a7b > "$R/etc/machine-id" # libdbus needs one
	# dbus-daemon looks its users up and refuses connections from a nameless uid
	echo 'root:x:0:0:root:/tmp:/bin/sh' > "$R/etc/passwd"
	echo 'root:x:0:' > "$R/etc/group"
	ln -s ../run "$R/var/run" # as on Debian: some clients look for /var/run/dbus
	awk '$1 == "Package:" { p = $2 } $1 == "Version:" { print p, $2 }' "$BT_CACHE/control" > "$R/etc/bt-versions"
	add_modules "$R/etc/modules.bt" "${BT_MODULES[@]}"
	log "Bluetooth: $(tr '\n' ' ' < "$R/etc/bt-versions")from $BT_CACHE"
else
	echo "$bt_missing" > "$R/etc/bt-missing"
	log "Bluetooth tests will skip: $bt_missing"
fi
CPIO=$WORK/initramfs.cpio
(cd "$R" && find . -print0 | LC_ALL=C sort -z | cpio --null -o -H newc --quiet -R 0:0) > "$CPIO"
log "initramfs: $(du -k "$CPIO" | cut -f1) KiB; modules: $(cut -d' ' -f1 "$R/etc/modules.load" | tr '\n' ' ')"
[ ! -f "$R/etc/modules.bt" ] || log "Bluetooth modules: $(cut -d' ' -f1 "$R/etc/modules.bt" | tr '\n' ' ')"
log "kernel-sensor modules: $(cut -d' ' -f1 "$R/etc/modules.sensors" | tr '\n' ' ')"
T_INITRD=$(now)

# ------------------------------------------------------------------- qemu --
# /dev/kvm alone is not enough: here it is a paravirtual engine (kvm_pvm, no
# vmx/svm flag) that runs a stock kernel far slower than TCG. Require the
# flag and a vCPU that really starts (-S stops right after KVM set it up).
ACCEL_ARGS=(-accel tcg -cpu max)
probe() { echo quit | timeout 20 qemu-system-x86_64 "$@" -m 16 -nodefaults -display none -S -monitor stdio >/dev/null 2>&1; }
if [ "$ACCEL" != tcg ] && [ -r /dev/kvm ] && [ -w /dev/kvm ] &&
	{ grep -qwE 'vmx|svm' /proc/cpuinfo || [ "$ACCEL" = kvm ]; }; then
	for cpu in host,-arch-capabilities host; do
		if probe -accel kvm -cpu "$cpu"; then ACCEL_ARGS=(-accel kvm -cpu "$cpu"); break; fi
	done
fi
[ "$ACCEL" != kvm ] || [ "${ACCEL_ARGS[1]}" = kvm ] || die "--accel kvm: KVM is not usable here"

LOG=$WORK/console.log
# boot [CONSOLE_LOG [KERNEL_ARGS [QEMU_ARGS...]]]
boot() {
	local console=${1:-$LOG} append=${2:-} rc=0
	shift $(($# > 2 ? 2 : $#))
	log "booting $(basename "$BOOT_KERNEL") with ${ACCEL_ARGS[*]}${append:+ ($append)}"
	timeout "$BOOT_TIMEOUT" qemu-system-x86_64 "${ACCEL_ARGS[@]}" -m "$MEM" -smp 1 \
		-nodefaults -no-user-config -display none -monitor none -nic none \
		-serial "file:$console" -no-reboot "$@" \
		-kernel "$BOOT_KERNEL" -initrd "$CPIO" -append "console=ttyS0 quiet panic=-1${append:+ $append}" \
		</dev/null || rc=$?
	[ "$rc" = 0 ] || log "qemu exited with $rc"
	sed -i 's/\r$//' "$console"
}
if [ -s "$R/etc/tests.list" ]; then
	boot
else # --only picked the power cut alone
	echo "@@RESULT rc=0@@ (no test in the first boot)" > "$LOG"
fi
if [ "${ACCEL_ARGS[1]}" = kvm ] && [ -s "$R/etc/tests.list" ] && ! grep -q '@@BEGIN' "$LOG"; then
	log "under KVM the guest reached no test: trying again with TCG"
	ACCEL_ARGS=(-accel tcg -cpu max)
	boot
fi

# The power cut (guest/power-cut.sh): one boot queues readings on an ext4
# disk and resets the kernel through sysrq, a second one delivers them. Its
# result joins the console log as the test power-cut (run unless --only
# excludes the name 70-power-cut).
# shellcheck disable=SC2053 # ONLY is a glob
MKFS=$(PATH=$PATH:/usr/sbin:/sbin command -v mkfs.ext4 || true)
if [[ 70-power-cut == $ONLY ]] && [ -z "$MKFS" ]; then
	log "SKIP power-cut: no mkfs.ext4 on this host (install e2fsprogs)"
	echo "@@END /tests/power-cut.sh rc=77 secs=0@@" >> "$LOG"
	echo /tests/power-cut.sh >> "$R/etc/tests.list"
elif [[ 70-power-cut == $ONLY ]]; then
	disk=$WORK/power-cut.img
	rm -f "$disk"
	truncate -s 64M "$disk"
	"$MKFS" -q -F "$disk" >/dev/null
	drive=(-drive "file=$disk,format=raw,if=virtio")
	boot "$WORK/console-cut1.log" "sr.tests=/etc/tests.cut sr.phase=1" "${drive[@]}"
	marker=$(sed -n 's/.*@@POWERCUT \(synced=[0-9]* published=[0-9]*\)@@.*/\1/p' "$WORK/console-cut1.log")
	if [ -n "$marker" ] && ! grep -q '@@RESULT' "$WORK/console-cut1.log"; then
		log "power cut after $marker; booting again on the same disk"
		boot "$WORK/console-cut2.log" "sr.tests=/etc/tests.cut sr.phase=2 sr.$(sed 's/ / sr./' <<<"$marker")" "${drive[@]}"
		sed 's/@@RESULT rc=\([0-9]*\)@@/@@CUT-RESULT rc=\1@@/' "$WORK/console-cut2.log" >> "$LOG"
	else
		log "the power cut's first boot did not reach the cut"
		{ cat "$WORK/console-cut1.log"; echo "@@END /tests/power-cut.sh rc=1 secs=0@@"; } >> "$LOG"
	fi
	echo /tests/power-cut.sh >> "$R/etc/tests.list"
	rm -f "$disk"
fi
T_BOOT=$(now)

# ---------------------------------------------------------------- results --
# Guest markers: @@BEGIN /tests/T@@, @@END /tests/T rc=N secs=S@@, @@RESULT rc=N@@.
passed=0 failed=0 skipped=0
while read -r t rc secs; do
	name=${t##*/}
	name=${name%.sh}
	case $rc in
	0) verdict=PASS; passed=$((passed + 1)) ;;
	77) verdict=SKIP; skipped=$((skipped + 1)) ;;
	124) verdict="FAIL (timed out after ${TEST_TIMEOUT}s)"; failed=$((failed + 1)) ;;
	*) verdict="FAIL (exit $rc)"; failed=$((failed + 1)) ;;
	esac
	checks=$(sed -n "/@@BEGIN $(printf '%s' "$t" | sed 's,/,\\/,g')@@/,/@@END /p" "$LOG" |
		sed -n 's/^.*: \([0-9]* passed, [0-9]* failed\)$/\1/p' | tail -n1)
	printf '%-16s %s in %ss%s\n' "$name" "$verdict" "$secs" "${checks:+; checks: $checks}"
done < <(sed -n 's/^.*@@END \([^ ]*\) rc=\([0-9]*\) secs=\([0-9.]*\)@@.*$/\1 \2 \3/p' "$LOG")
# The Homie devices 50-discovery.sh printed (one section of every class):
# the independent consumer reads each on the host (check_homie_dump.sh).
# No dump: that test failed or skipped before it, and says so above.
consumer_rows=0
for v in 4 5; do
	dump=$WORK/homie$v.dump
	sed -n "/@@HOMIE-DUMP v$v@@/,/@@HOMIE-DUMP-END@@/p" "$LOG" | sed '1d;$d' > "$dump"
	[ -s "$dump" ] || continue
	consumer_rows=$((consumer_rows + 1))
	rc=0
	out=$("$HERE/../discovery/check_homie_dump.sh" "$dump" "$HERE/homie-every-class.names" 2>&1) || rc=$?
	case $rc in
	0) verdict=PASS; passed=$((passed + 1)) ;;
	77) verdict="SKIP ($(grep -m1 'SKIP' <<<"$out"))"; skipped=$((skipped + 1)) ;;
	*) verdict="FAIL (exit $rc)"; failed=$((failed + 1)); printf '%s\n' "$out" ;;
	esac
	printf '%-16s %s%s\n' "homie$v-consumer" "$verdict" "$(sed -n 's/^homie_consumer: \(all .*\)$/; \1/p' <<<"$out")"
done
expected=$(wc -l < "$R/etc/tests.list")
ran=$((passed + failed + skipped - consumer_rows))
if [ "$ran" -lt "$expected" ] || ! grep -q '@@RESULT rc=' "$LOG"; then
	log "the guest ran $ran of $expected tests and did not finish (crash, panic or boot timeout)"
	failed=$((failed + expected - ran))
fi
if [ ${#missing[@]} -gt 0 ]; then
	log "FAIL: ${missing[*]} not built in $BUILD"
	failed=$((failed + 1))
fi

# Failures first print every failed check, then the whole console.
if [ "$failed" -gt 0 ]; then
	echo "----- failed checks -----"
	grep -E '^FAIL - ' "$LOG" || true
	echo "----- guest console ($LOG) -----"
	cat "$LOG"
	echo "----- end of guest console -----"
fi
echo "timings: setup $(awk -v a="$T_START" -v b="$T_SETUP" 'BEGIN{printf "%.1f", b-a}')s," \
	"initramfs $(awk -v a="$T_SETUP" -v b="$T_INITRD" 'BEGIN{printf "%.1f", b-a}')s," \
	"boot+tests $(awk -v a="$T_INITRD" -v b="$T_BOOT" 'BEGIN{printf "%.1f", b-a}')s" \
	"(${ACCEL_ARGS[*]}, guest ready after $(sed -n 's/.*@@READY uptime=\([0-9.]*\)s@@.*/\1/p' "$LOG")s)," \
	"total $(elapsed "$T_START")s"
echo "$passed passed, $failed failed$([ "$skipped" = 0 ] || echo ", $skipped skipped")"
[ "$failed" = 0 ] || exit 1
[ "$passed" -gt 0 ] || exit 77 # everything skipped
