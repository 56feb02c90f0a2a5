#!/usr/bin/env bash
# Developer entry point, the two commands README.md opens with:
#   packaging/dev.sh run    install what is missing, build, run conf/sensor_reporter.ini
#   packaging/dev.sh test   install what is missing, build, run the whole suite
#                           (plain build, ASan+UBSan, TSan, then the slow tiers:
#                           fault, VM, packages, fuzz, libgpiod 2.x, Debian 13)
# Works on a fresh Debian 12/13 as root or through sudo.
set -euo pipefail
cd "$(dirname "$0")/.."

PACKAGES=(meson ninja-build g++ pkg-config python3 openssl
          libinih-dev libfmt-dev doctest-dev libmosquitto-dev libgpiod-dev
          libcurl4-openssl-dev nlohmann-json3-dev libsystemd-dev zlib1g-dev
          mosquitto mosquitto-clients clang iproute2)
# libFuzzer's runtime: versioned on Debian 12, unversioned on 13. Missing, the
# fuzz tiers skip (exit 77).
OPTIONAL_PACKAGES=(libclang-rt-14-dev libclang-rt-dev)

as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

install_missing() {
  local missing=() p
  for p in "${PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  echo "dev.sh: installing ${missing[*]}"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
}

install_optional() {
  local p
  for p in "${OPTIONAL_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" && return 0
  done
  for p in "${OPTIONAL_PACKAGES[@]}"; do
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$p" \
      >/dev/null 2>&1 && return 0
  done
  echo "dev.sh: no libFuzzer runtime package available; the fuzz tiers will skip"
}

# build DIR [meson options...]: configure once, then build.
build() {
  local dir=$1; shift
  if [ ! -f "$dir/build.ninja" ]; then meson setup "$dir" "$@"; fi
  ninja -C "$dir"
}

# Prints "passed failed skipped" for the last `meson test` run in DIR. A
# skip (exit 77: QEMU, libFuzzer or a kernel facility missing) is neither.
# Each failed test's name is added to FAILED_LIST (LABEL: suite / name),
# followed by the lines of its output that say what failed (doctest's test
# case and failed check, the VM tier's FAIL lines), at most 30: CI keeps only
# the log's tail, and that tail must be enough to start on a failure.
count_results() {
  python3 - "$1/meson-logs/testlog.json" "$2" "$FAILED_LIST" <<'PY'
import json, os, re, sys
passed = failed = skipped = 0
lines = open(sys.argv[1]) if os.path.exists(sys.argv[1]) else []
telling = re.compile(r"TEST CASE:|ERROR:|is NOT correct|^\s+(CHECK|REQUIRE)\w*\(|^FAIL - |"
                     r"^\S+ +FAIL \(|^\S+ +\S+ +FAIL +\(exit|FAIL:|FAILED|Sanitizer|runtime error:|Segmentation|"
                     r"Aborted|timed out|Test unit written|^\s+#[0-7] 0x[0-9a-f]+ in |^\s+full log: ")
with open(sys.argv[3], "a") as failed_list:
    for line in lines:
        test = json.loads(line)
        result = test.get("result")
        if result in ("OK", "EXPECTEDFAIL"):
            passed += 1
        elif result == "SKIP":
            skipped += 1
        else:
            failed += 1
            failed_list.write(f"{sys.argv[2]}: {test.get('name')} ({result})\n")
            output = (test.get("stdout") or "") + "\n" + (test.get("stderr") or "")
            shown = []
            for text in output.splitlines():
                text = text.rstrip()
                if telling.search(text) and text not in shown:
                    shown.append(text)
            for text in shown[:30]:
                failed_list.write(f"    | {text[:240]}\n")
print(passed, failed, skipped)
PY
}

run_suite() {
  local dir=$1 label=$2 status=0
  shift 2
  echo "== $label: meson test -C $dir $*"
  rm -f "$dir/meson-logs/testlog.json"  # a run that matches no test writes none
  meson test -C "$dir" --print-errorlogs "$@" || status=1
  read -r p f k < <(count_results "$dir" "$label")
  echo "== $label: $p passed, $f failed, $k skipped"
  total_passed=$((total_passed + p)); total_failed=$((total_failed + f)); total_skipped=$((total_skipped + k))
  [ $status -eq 0 ] || any_failed=1
}

cmd_test() {
  install_missing
  install_optional
  build build
  build build-asan -Db_sanitize=address,undefined -Dbuildtype=debug
  build build-tsan -Db_sanitize=thread -Dbuildtype=debug -Dvm_tests=disabled
  total_passed=0 total_failed=0 total_skipped=0 any_failed=0
  # The failed tests' names, repeated at the end: a CI log that keeps only
  # its tail still says which test failed.
  FAILED_LIST=$(mktemp)
  trap 'rm -f "$FAILED_LIST"' EXIT
  run_suite build plain --no-suite vm --no-suite package
  # Sanitizer runs are slower: give the integration deadlines room. The fuzz
  # smoke builds its own ASan+UBSan binaries with clang: once is enough.
  # intercept_tls_get_addr=0: test/meson.build says why (GCC 12's
  # LeakSanitizer dies at exit on a misread dynamic TLS block).
  ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:intercept_tls_get_addr=0 \
    run_suite build-asan asan+ubsan --no-suite vm --no-suite package --no-suite fuzz_smoke --timeout-multiplier 3
  # The fault suite (broker cycles, reloads, hangs, full disk, Will): once,
  # against the ASan build, so a leak at exit counts as a failure.
  ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:intercept_tls_get_addr=0 \
    run_suite build-asan fault --suite fault --timeout-multiplier 2
  # The threaded parts (event loop, worker pool, logger, plugins using
  # run_blocking) under ThreadSanitizer: the unit suite.
  TSAN_OPTIONS=halt_on_error=1 run_suite build-tsan tsan --suite unit
  # The QEMU tier (real gpio-sim and w1 drivers): once, on the plain build.
  # It skips (exit 77) where QEMU or Debian's kernel packages cannot be had.
  run_suite build vm --suite vm
  # The Debian packages: built, installed, run, purged.
  run_suite build package --suite package
  # libFuzzer campaign, 60 s per target (clang); skips (77) without libFuzzer.
  run_suite build fuzz --suite fuzz
  # GPIO on libgpiod 2.x from this machine: a second build against Debian 13's
  # libgpiod 2.2.1 unpacked into a cached sysroot, its gpio unit tests and the
  # VM tier on the v2 backend (docs/vm-tests.md, "Both libgpiod APIs").
  run_suite build gpiod2 --suite gpiod2
  # Debian 13: this tree built in a cached trixie chroot, its default suite,
  # the VM tier on that userland and the packages (docs/debian13.md).
  run_suite build debian13 --suite debian13
  if [ -s "$FAILED_LIST" ]; then
    echo "failed:"
    sed 's/^/  /' "$FAILED_LIST"
  fi
  [ "$total_skipped" -eq 0 ] || echo "$total_skipped skipped (not counted as passed; see the lines above)"
  echo "$total_passed passed, $total_failed failed"
  [ "$total_failed" -eq 0 ] && [ "$any_failed" -eq 0 ]
}

broker_answers() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# The demo configuration talks to 127.0.0.1:1883. When no broker answers
# there, start a private one on loopback only, stopped again on exit.
ensure_broker() {
  local port=1883
  if broker_answers $port; then
    echo "dev.sh: using the MQTT broker already answering on 127.0.0.1:$port"
    return 0
  fi
  local dir
  dir=$(mktemp -d /tmp/sensor_reporter-broker.XXXXXX)
  printf 'listener %s 127.0.0.1\nallow_anonymous true\nuser root\n' $port > "$dir/mosquitto.conf"
  /usr/sbin/mosquitto -c "$dir/mosquitto.conf" > "$dir/mosquitto.log" 2>&1 &
  broker_pid=$!
  # Expanded now: the trap runs after this function has returned, when the
  # local $dir no longer exists (set -u would stop it before the rm).
  trap "kill $broker_pid 2>/dev/null; wait $broker_pid 2>/dev/null; rm -rf '$dir'" EXIT
  for _ in $(seq 50); do broker_answers $port && break; sleep 0.1; done
  broker_answers $port || { cat "$dir/mosquitto.log"; echo "dev.sh: mosquitto did not start" >&2; exit 1; }
  echo "dev.sh: started a private mosquitto on 127.0.0.1:$port (pid $broker_pid)"
}

cmd_run() {
  install_missing
  build build
  ensure_broker
  echo "dev.sh: running sensor_reporter on conf/sensor_reporter.ini (Ctrl-C stops it)"
  echo "dev.sh: watch the readings with:  mosquitto_sub -v -t 'sensor_reporter/#'"
  # The build tree's plugins (what `meson devenv` would set, without its
  # traceback on Ctrl-C).
  local plugins
  plugins=$(printf '%s:' "$PWD"/build/plugins/*/)
  SENSOR_REPORTER_PLUGIN_PATH=${plugins%:} build/src/sensor_reporter "$PWD/conf/sensor_reporter.ini" || true
}

case "${1:-}" in
  run) cmd_run ;;
  test) cmd_test ;;
  *) echo "usage: packaging/dev.sh run|test" >&2; exit 64 ;;
esac
