#!/usr/bin/env bash
# The Debian 13 tier (docs/debian13.md): this source tree configured, built
# and its default test suite run inside a Debian 13 (trixie) chroot made with
# debootstrap from Debian's archive, so "works on Debian 13" is proven here on
# a Debian 12 host without touching the host's own apt sources.
#
#   test/debian13/run-tier.sh [SOURCE_DIR]
#
# The chroot is cached in $SR_DEBIAN13_CACHE (default
# /var/tmp/sensor_reporter-debian13): reused when its stamps say it is
# complete, rebuilt when missing or broken; the packages are keyed on the list
# below, so a change to it (or to dev.sh's PACKAGES) installs again. Every run
# copies the source tree afresh (git's tracked and untracked-but-not-ignored
# files, never a build directory) and builds from scratch with ninja -j2.
#
# Exits 0 when the suite passes, 1 on any failure, 77 (skip) only when the
# chroot cannot be made here at all: not root, no debootstrap to be had, no
# route to the archive, mounting forbidden. Needs root (or sudo without a
# password, which it uses to re-run itself).
set -euo pipefail

src=$(cd "${1:-$(dirname "$0")/../..}" && pwd)
cache=${SR_DEBIAN13_CACHE:-/var/tmp/sensor_reporter-debian13}
mirror=http://deb.debian.org/debian
suite=trixie
root=$cache/root
jobs=2   # the CI machine has 2 cores and may be running another build

skip() { echo "debian13: skipped: $*"; exit 77; }
say() { echo "debian13: $*"; }

if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
    exec sudo -n env SR_DEBIAN13_CACHE="$cache" "$0" "$src"
  fi
  skip "needs root (debootstrap, chroot, mounts) and sudo -n is not available"
fi

# Everything below runs in a private mount namespace: the mounts made for the
# chroot (and those debootstrap makes) vanish with this process even if it is
# killed; the EXIT trap unmounts them explicitly as well.
if [ -z "${SR_DEBIAN13_NS:-}" ] && command -v unshare >/dev/null \
    && unshare --mount --propagation private true 2>/dev/null; then
  exec unshare --mount --propagation private env SR_DEBIAN13_NS=1 "$0" "$src"
fi

# The build and test dependencies: dev.sh's lists, read from it so the two
# cannot drift. OPTIONAL_PACKAGES is libFuzzer's runtime (libclang-rt-dev on
# 13), without which fuzz_smoke skips.
eval "$(sed -n '/^PACKAGES=(/,/)/p; /^OPTIONAL_PACKAGES=(/,/)/p' "$src/packaging/dev.sh")"
[ ${#PACKAGES[@]} -gt 0 ] || { echo "debian13: no PACKAGES list in $src/packaging/dev.sh"; exit 1; }
# What any real Debian 13 install has and minbase lacks: systemd-analyze and
# man (systemd_unit and man_pages run, not skip), /bin/kill (procps; the
# unit's ExecReload names it) and the system CA bundle (ca-certificates,
# which libcurl4 recommends; the openhab test expects curl to load it).
EXTRA_PACKAGES=(systemd man-db procps ca-certificates
  # The VM tier run inside (step 5): QEMU, busybox, cpio, modprobe, and
  # mkfs.ext4 for the power cut's disk.
  qemu-system-x86 busybox-static cpio kmod e2fsprogs
  # The package suite run inside (step 6): packaging/build-deb's tools.
  build-essential debhelper dpkg-dev lintian fakeroot adduser)
packages_key=$(printf '%s\n' "$suite" "$mirror" "${PACKAGES[@]}" -- "${OPTIONAL_PACKAGES[@]}" \
  -- "${EXTRA_PACKAGES[@]}" | sha256sum | cut -d' ' -f1)

mkdir -p "$cache"
# One run at a time per cache: a second run waits for the first.
exec 9>"$cache/lock"
flock 9

mounted=()
unmount_all() {
  local i
  for ((i = ${#mounted[@]} - 1; i >= 0; i--)); do
    umount "${mounted[i]}" 2>/dev/null || umount -l "${mounted[i]}" 2>/dev/null || true
  done
  mounted=()
}

# Processes left running inside the chroot (a broker a crashed test did not
# stop): ours by construction, ended by pid.
kill_chroot_processes() {
  local p r pids=()
  [ -d "$root" ] || return 0
  for p in /proc/[0-9]*; do
    r=$(readlink "$p/root" 2>/dev/null) || continue
    [ "$r" = "$root" ] && pids+=("${p#/proc/}")
  done
  [ ${#pids[@]} -eq 0 ] && return 0
  say "ending processes left in the chroot: ${pids[*]}"
  kill "${pids[@]}" 2>/dev/null || true
  sleep 1
  kill -9 "${pids[@]}" 2>/dev/null || true
}

cleanup() {
  kill_chroot_processes
  unmount_all
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Nothing may be mounted below $root when it is deleted or reused.
release_root() {
  local m
  while read -r m; do
    umount -l "$m" 2>/dev/null || true
  done < <(findmnt -rn -o TARGET | grep -F "$root/" | sort -r)
  if findmnt -rn -o TARGET | grep -qF "$root/"; then
    echo "debian13: something is still mounted below $root; not touching it"
    exit 1
  fi
}

mount_into() {   # mount_into TARGET mount-args...
  local target=$root$1; shift
  mkdir -p "$target"
  mount "$@" "$target" || return 1
  mounted+=("$target")
}

in_chroot() {
  env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root \
    LANG=C.UTF-8 LC_ALL=C.UTF-8 TERM=dumb DEBIAN_FRONTEND=noninteractive \
    chroot "$root" "$@"
}

archive_reachable() {
  if command -v curl >/dev/null; then
    curl -fsS --max-time 30 -o /dev/null "$mirror/dists/$suite/Release"
  else
    python3 -c 'import sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=30).read()' \
      "$mirror/dists/$suite/Release"
  fi
}

chroot_healthy() {
  [ -f "$cache/base.stamp" ] && [ "$(cat "$cache/base.stamp")" = "$suite $mirror" ] \
    && [ -x "$root/usr/bin/apt-get" ] && [ -x "$root/bin/sh" ] \
    && in_chroot /bin/sh -c 'dpkg --audit >/dev/null 2>&1 && [ -z "$(dpkg --audit 2>&1)" ]'
}

t0=$SECONDS

# 1. The base system.
if ! chroot_healthy; then
  command -v debootstrap >/dev/null || {
    say "installing debootstrap on the host (from the host's own Debian 12 sources)"
    env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends debootstrap \
      >/dev/null 2>&1 \
      || { apt-get update -qq >/dev/null 2>&1 \
           && env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
                debootstrap >/dev/null 2>&1; } \
      || skip "debootstrap is not installed and apt-get could not install it"
  }
  [ -f /usr/share/debootstrap/scripts/$suite ] || skip "this debootstrap does not know $suite"
  archive_reachable || skip "$mirror is not reachable (no network?)"
  say "making the $suite chroot in $root (debootstrap, minbase)"
  release_root
  rm -rf "$root" "$cache/base.stamp" "$cache/packages.stamp"
  if ! debootstrap --variant=minbase "$suite" "$root" "$mirror" > "$cache/debootstrap.log" 2>&1; then
    tail -n 30 "$cache/debootstrap.log"
    release_root
    # Half a chroot is useless: the next run starts over.
    rm -rf "$root"
    say "debootstrap failed (log above)"
    exit 1
  fi
  # No service may start inside the chroot (mosquitto's postinst would).
  printf '#!/bin/sh\nexit 101\n' > "$root/usr/sbin/policy-rc.d"
  chmod 755 "$root/usr/sbin/policy-rc.d"
  echo "$suite $mirror" > "$cache/base.stamp"
  say "base system made in $((SECONDS - t0)) s"
fi

# The mounts the build and the tests need; private to this namespace.
release_root
mount_into /proc -t proc proc || skip "cannot mount proc in the chroot here"
mount_into /sys -t sysfs -o ro sysfs || mount_into /sys --bind -o ro /sys \
  || skip "cannot mount sysfs in the chroot here"
mount_into /dev --bind /dev || skip "cannot bind-mount /dev into the chroot here"
mount_into /dev/pts --bind /dev/pts || skip "cannot bind-mount /dev/pts into the chroot here"
mount_into /dev/shm -t tmpfs -o mode=1777,nosuid,nodev shm || skip "cannot mount a tmpfs on /dev/shm"
mount_into /tmp -t tmpfs -o mode=1777 tmp || skip "cannot mount a tmpfs on /tmp"
# The chroot shares the host's network: name resolution must describe it.
# debootstrap's /etc/hosts maps localhost to ::1 as well, which this host's
# does not (docs/debian13.md, "localhost and ::1").
cp -L /etc/resolv.conf "$root/etc/resolv.conf" 2>/dev/null || true
cp -L /etc/hosts "$root/etc/hosts" 2>/dev/null || true

# 2. The packages, keyed on the list.
if [ ! -f "$cache/packages.stamp" ] || [ "$(cat "$cache/packages.stamp")" != "$packages_key" ]; then
  t1=$SECONDS
  rm -f "$cache/packages.stamp"
  say "installing into the chroot: ${PACKAGES[*]} ${EXTRA_PACKAGES[*]}"
  archive_reachable || skip "$mirror is not reachable (no network?) and the packages are not installed"
  in_chroot apt-get update -qq
  in_chroot apt-get install -y -qq --no-install-recommends "${PACKAGES[@]}" "${EXTRA_PACKAGES[@]}" \
    > "$cache/apt.log" 2>&1 || { tail -n 30 "$cache/apt.log"; say "apt-get install failed"; exit 1; }
  optional_found=
  for p in "${OPTIONAL_PACKAGES[@]}"; do
    if in_chroot apt-get install -y -qq --no-install-recommends "$p" >> "$cache/apt.log" 2>&1; then
      optional_found=$p; break
    fi
  done
  [ -n "$optional_found" ] || say "none of ${OPTIONAL_PACKAGES[*]} installable: fuzz_smoke will skip"
  in_chroot apt-get clean
  echo "$packages_key" > "$cache/packages.stamp"
  say "packages installed in $((SECONDS - t1)) s"
else
  say "reusing the cached chroot in $root"
fi

# 3. The source tree: the work tree's files as they are now (tracked and
# untracked-but-not-ignored; deleted ones left out), never a build directory.
rm -rf "$root/src"
mkdir -p "$root/src/sensor_reporter"
if git -C "$src" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
  (cd "$src" && git ls-files -z --cached --others --exclude-standard \
     | while IFS= read -r -d '' f; do
         if [ -e "$f" ] || [ -L "$f" ]; then printf '%s\0' "$f"; fi
       done \
     | tar --null -T - -cf -) | tar -C "$root/src/sensor_reporter" -xf -
else
  tar -C "$src" --exclude='./build*' -cf - . | tar -C "$root/src/sensor_reporter" -xf -
fi

# 4. Configure, build, test.
say "versions in the chroot:"
in_chroot dpkg-query -W -f='  ${Package} ${Version}\n' g++ clang meson libfmt-dev libinih-dev \
  doctest-dev libmosquitto-dev mosquitto libgpiod-dev libcurl4-openssl-dev nlohmann-json3-dev zlib1g-dev \
  2>/dev/null || true
gpiod_version=$(in_chroot pkg-config --modversion libgpiod 2>/dev/null || echo none)

t2=$SECONDS
status=0
in_chroot /bin/bash -c '
  set -euo pipefail
  cd /src/sensor_reporter
  meson setup /src/build -Dgpio=enabled -Dvm_tests=enabled
  ninja -C /src/build -j'"$jobs"'
' || status=$?
if [ $status -ne 0 ]; then
  say "configure or build FAILED on $suite (exit $status) after $((SECONDS - t2)) s"
  exit 1
fi
say "configured and built in $((SECONDS - t2)) s"
# -Dgpio=enabled made libgpiod (2.x here) required: gpio.so must exist and
# use the v2 API.
gpio_needed=$(in_chroot readelf -d /src/build/plugins/gpio/gpio.so 2>&1 || true)
if [[ $gpio_needed != *'[libgpiod.so.3]'* ]]; then
  say "FAIL: gpio.so was not built against libgpiod $gpiod_version (libgpiod.so.3): $gpio_needed"
  exit 1
fi
say "gpio.so is built against libgpiod $gpiod_version (needs libgpiod.so.3)"

t3=$SECONDS
# The selection dev.sh test makes for the plain build (the default setup
# also leaves out fault, fuzz and bench).
in_chroot meson test -C /src/build --num-processes "$jobs" --print-errorlogs \
  --no-suite vm --no-suite package || status=$?
say "tests ran in $((SECONDS - t3)) s"
in_chroot python3 - <<'PY' || true
import json, collections
counts = collections.Counter()
for line in open("/src/build/meson-logs/testlog.json"):
    t = json.loads(line)
    counts[t["result"]] += 1
    if t["result"] not in ("OK", "EXPECTEDFAIL"):
        print(f"debian13:   {t['result']}: {t['name']}")
print("debian13: " + ", ".join(f"{n} {r}" for r, n in sorted(counts.items())))
PY

# 5. The VM tier on this Debian 13 userland: the chroot's sensor_reporter,
# gpio.so (libgpiod 2.2.1, kernel debounce) and their trixie libraries in
# the guest's initramfs, the gpio-sim and w1 scenarios run against them.
# The kernel and its modules come from the host's VM cache (Debian 12's
# kernel, as a Pi may run any): the host fills it. The guest's BlueZ and
# D-Bus run on the chroot's libraries, so the chroot fetches trixie's into
# the same cache (bluez-current-trixie; bookworm's dbus-daemon does not
# start on trixie's libdbus): the bind mount is writable for that.
vm_skipped=
vm_cache=${SR_VM_CACHE:-/var/tmp/sensor_reporter-vm}
t4=$SECONDS
vm_setup=0
"$src/test/vm/run-vm-tests.sh" --setup-only || vm_setup=$?
if [ $vm_setup -eq 77 ]; then
  vm_skipped="the VM cache cannot be filled on this host (run-vm-tests.sh --setup-only said why)"
elif [ $vm_setup -ne 0 ]; then
  say "FAIL: run-vm-tests.sh --setup-only exited $vm_setup"; status=1
else
  mount_into "$vm_cache" --bind "$vm_cache" || skip "cannot bind-mount $vm_cache into the chroot"
  in_chroot env SR_VM_CACHE="$vm_cache" /src/sensor_reporter/test/vm/run-vm-tests.sh --setup-only ||
    { say "FAIL: run-vm-tests.sh --setup-only in the chroot"; status=1; }
  in_chroot env SR_VM_CACHE="$vm_cache" meson test -C /src/build --suite vm --print-errorlogs \
    || status=$?
  say "VM tier ran in $((SECONDS - t4)) s"
fi

# 6. The Debian packages built against trixie's libraries (libgpiod 2.x
# among them), installed, run and purged: the package suite.
t5=$SECONDS
in_chroot meson test -C /src/build --suite package --print-errorlogs || status=$?
say "package suite ran in $((SECONDS - t5)) s; total $((SECONDS - t0)) s"

if [ $status -ne 0 ]; then
  say "FAILED on $suite"
  exit 1
fi
if [ -n "$vm_skipped" ]; then
  say "everything else passed on $suite; skipped: $vm_skipped"
  exit 77
fi
say "passed on $suite"
