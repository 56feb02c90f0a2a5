#!/usr/bin/env bash
# sysroot.sh - Debian 13's libgpiod 2.x in a build-local sysroot, so the gpio
# module's libgpiod 2 backend (plugins/gpio/gpiod2_backend.cpp) can be built
# and tested on a Debian 12 machine whose system libgpiod is 1.6. Nothing is
# installed: the .debs are unpacked with dpkg-deb -x into CACHE_DIR.
#
# Usage: sysroot.sh [CACHE_DIR]      (default /var/tmp/sensor_reporter-gpiod2)
# Prints one line: the directory to hand meson as its pkg-config path,
#   meson setup build-gpiod2 -Dpkg_config_path="$(test/gpiod2/sysroot.sh)"
#
# Steps, each skipped when its result is already in CACHE_DIR:
#   1. dists/trixie/main/binary-amd64/Packages.xz from $DEBIAN_MIRROR
#      (default http://deb.debian.org/debian) names the pool files of
#      libgpiod-dev and libgpiod3 and their SHA256;
#   2. both .debs are downloaded and checked against those sums;
#   3. they are unpacked into CACHE_DIR/root and a libgpiod.pc is written to
#      CACHE_DIR/pkgconfig whose prefix is CACHE_DIR/root/usr (the packaged
#      one says /usr, which would pick the system's 1.6 headers).
# Environment: DEBIAN_MIRROR, GPIOD2_VERSION (default 2.2.1: the pinned
#   upstream version, so a new upstream release in trixie fails loudly instead of changing
#   what is tested; set it to the new version to move on).
# Exit status: 0 ready, 77 the archive cannot be reached (nothing cached),
#   1 anything else (a checksum mismatch, a package missing from the index).
set -euo pipefail

CACHE=${1:-/var/tmp/sensor_reporter-gpiod2}
MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
VERSION=${GPIOD2_VERSION:-2.2.1}
PACKAGES=(libgpiod-dev libgpiod3)
ARCH=amd64
MULTIARCH=x86_64-linux-gnu

log() { printf '[gpiod2] %s\n' "$*" >&2; }
die() { printf '[gpiod2] ERROR: %s\n' "$*" >&2; exit 1; }
skip() { printf '[gpiod2] SKIP: %s\n' "$*" >&2; exit 77; }

mkdir -p "$CACHE"
CACHE=$(cd "$CACHE" && pwd)
ROOT=$CACHE/root
PCDIR=$CACHE/pkgconfig
STAMP=$CACHE/.ready-$VERSION
# Parallel configures share the cache: one fills it, the others wait.
exec 9>>"$CACHE/lock"
flock 9

if [ ! -f "$STAMP" ]; then
	index=$CACHE/Packages-trixie-$ARCH
	log "reading $MIRROR/dists/trixie/main/binary-$ARCH/Packages.xz"
	curl -fsSL --retry 3 "$MIRROR/dists/trixie/main/binary-$ARCH/Packages.xz" | xz -dc > "$index.tmp" ||
		skip "cannot download the trixie package index from $MIRROR"
	mv "$index.tmp" "$index"
	debs=()
	for pkg in "${PACKAGES[@]}"; do
		# One stanza per package: Package, Version, Filename, SHA256.
		read -r version file sum < <(awk -v want="$pkg" '
			/^Package: / { p = $2 } /^Version: / { v = $2 } /^Filename: / { f = $2 } /^SHA256: / { s = $2 }
			/^$/ { if (p == want) print v, f, s; p = v = f = s = "" }
			END { if (p == want) print v, f, s }' "$index" | head -n1) || true
		[ -n "${file:-}" ] || die "$pkg is not in trixie's index"
		upstream=${version#*:}
		upstream=${upstream%-*} # 2.2.1-2+deb13u1 -> 2.2.1
		[ "$upstream" = "$VERSION" ] ||
			die "trixie has $pkg $version, not $VERSION (GPIOD2_VERSION=$upstream to test that one)"
		log "$pkg $version: $file"
		deb=$CACHE/${file##*/}
		if [ ! -f "$deb" ] || [ "$(sha256sum < "$deb" | cut -d' ' -f1)" != "$sum" ]; then
			log "downloading $file"
			curl -fsSL --retry 3 -o "$deb.tmp" "$MIRROR/$file" || skip "cannot download $MIRROR/$file"
			mv "$deb.tmp" "$deb"
		fi
		[ "$(sha256sum < "$deb" | cut -d' ' -f1)" = "$sum" ] || die "$deb does not match the index's SHA256 $sum"
		debs+=("$deb")
	done
	rm -rf "$ROOT" "$PCDIR"
	mkdir -p "$ROOT" "$PCDIR"
	for deb in "${debs[@]}"; do dpkg-deb -x "$deb" "$ROOT"; done
	packaged=$ROOT/usr/lib/$MULTIARCH/pkgconfig/libgpiod.pc
	[ -f "$packaged" ] || die "libgpiod-dev has no $packaged"
	# prefix is the only absolute path in the packaged .pc; the others derive
	# from it. The soname link libgpiod.so -> libgpiod.so.3 is relative.
	sed "s,^prefix=.*,prefix=$ROOT/usr," "$packaged" > "$PCDIR/libgpiod.pc"
	grep -q "^prefix=$ROOT/usr\$" "$PCDIR/libgpiod.pc" || die "no prefix= line in $packaged"
	rm -f "$CACHE"/.ready-*
	touch "$STAMP"
	log "libgpiod $VERSION unpacked into $ROOT"
fi
PKG_CONFIG_PATH=$PCDIR pkg-config --exists "libgpiod = $VERSION" ||
	die "pkg-config does not find libgpiod $VERSION in $PCDIR"
echo "$PCDIR"
