#!/usr/bin/env bash
# Builds the libFuzzer targets of test/fuzz with clang++ and runs them.
#
#   test/fuzz/run-fuzzers.sh [-C WORKDIR] [-j JOBS] build
#   test/fuzz/run-fuzzers.sh [-C WORKDIR] [-j JOBS] replay  [TARGET...]
#   test/fuzz/run-fuzzers.sh [-C WORKDIR] [-j JOBS] smoke SECONDS [TARGET...]
#   test/fuzz/run-fuzzers.sh [-C WORKDIR] [-j JOBS] fuzz  SECONDS [TARGET...]
#
# build   compiles every target (incrementally: a generated build.ninja in
#         WORKDIR, default ${TMPDIR:-/tmp}/sensor_reporter-fuzz).
# replay  runs each target once over its checked-in corpus and regression
#         inputs (test/fuzz/corpus/<target>, test/fuzz/regression/<target>);
#         no fuzzing. Any crash or broken invariant fails.
# smoke   replay, then fuzz each target for SECONDS.
# fuzz    a campaign: each target fuzzes for SECONDS starting from a scratch
#         copy of its corpus (the checked-in one is never modified); prints
#         executions/s, coverage and new corpus size per target. Crash inputs
#         land in WORKDIR/artifacts/<target>/.
#
# Targets: ini class values local_rules commands w1 arp openhab_events json_field queue_file accept envelope sysfs
# ssdp iec62056 dash_frame
# (default: all).
# Ends with "N passed, N failed"; exit 0 when all passed, 1 on any failure,
# 77 (skip) when clang++ or libFuzzer is not available. CLANGXX overrides the
# compiler (default clang++).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/../.." && pwd)
# One work dir per user and source tree, shared by the plain and the
# sanitizer meson builds (the fuzz build is the same for both), so the second
# run of the suite finds everything built. Runs on it are serialised (flock).
work=${TMPDIR:-/tmp}/sensor_reporter-fuzz-$(id -u)-$(printf '%s' "$src" | cksum | cut -d' ' -f1)
jobs=$(nproc 2>/dev/null || echo 2)
cxx=${CLANGXX:-clang++}
all_targets=(ini class values local_rules commands w1 arp openhab_events json_field queue_file accept envelope sysfs
             ssdp iec62056 dash_frame)

usage() {
  sed -n '2,8p' "$0" | sed 's/^# \{0,1\}//' >&2
  exit 64
}

while getopts "C:j:h" opt; do
  case $opt in
    C) work=$OPTARG ;;
    j) jobs=$OPTARG ;;
    *) usage ;;
  esac
done
shift $((OPTIND - 1))
[ $# -ge 1 ] || usage
mode=$1
shift
seconds=0
case $mode in
  build | replay) ;;
  smoke | fuzz)
    if [ $# -lt 1 ] || ! [[ $1 =~ ^[0-9]+$ ]]; then usage; fi
    seconds=$1
    shift
    ;;
  *) usage ;;
esac
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=("${all_targets[@]}")
for t in "${targets[@]}"; do
  [[ " ${all_targets[*]} " == *" $t "* ]] || { echo "run-fuzzers: unknown target '$t'" >&2; exit 64; }
done

mkdir -p "$work"
if command -v flock >/dev/null; then
  exec 9>"$work/lock"
  flock 9
fi

skip() {
  echo "run-fuzzers: SKIP: $*" >&2
  exit 77
}

# --- Toolchain -------------------------------------------------------------

command -v "$cxx" >/dev/null || skip "$cxx not found (Debian: apt-get install clang)"
command -v ninja >/dev/null || skip "ninja not found (Debian: apt-get install ninja-build)"
command -v pkg-config >/dev/null || skip "pkg-config not found"
mkdir -p "$work/probe"
echo 'extern "C" int LLVMFuzzerTestOneInput(const unsigned char*, unsigned long) { return 0; }' \
  >"$work/probe/probe.cpp"
if ! "$cxx" -fsanitize=fuzzer,address,undefined "$work/probe/probe.cpp" -o "$work/probe/probe" \
  2>"$work/probe/log"; then
  cat "$work/probe/log" >&2
  skip "$cxx cannot link -fsanitize=fuzzer,address,undefined (Debian 12: apt-get install libclang-rt-14-dev)"
fi

have() { pkg-config --exists "$1"; }
for dep in inih fmt; do have "$dep" || skip "pkg-config cannot find $dep (needed by the host sources)"; done
have_gpiod=0
pkg-config --exists 'libgpiod >= 1.6' 'libgpiod < 2.0' && have_gpiod=1
have_mosquitto=0
have libmosquitto && have_mosquitto=1
have_json=0
have nlohmann_json && have_json=1
have_zlib=0
have zlib && have_zlib=1

# --- build.ninja -----------------------------------------------------------

host_sources=(src/config/ini_file.cpp src/config/param_check.cpp src/config/plan.cpp src/util/text.cpp
              src/config/command_policy.cpp src/util/posix_regex.cpp src/plugin/registry.cpp src/log/logger.cpp)
# Plugin logic linked into the targets (instrumented).
# The kernel-device reader of the iio module, which hwmon.so and gpio.so (DhtSensor) link too.
iio_logic=(plugins/iio/kernel_device.cpp plugins/iio/channel.cpp plugins/iio/kernel_sensor.cpp
           plugins/iio/iio_sensor.cpp plugins/iio/dht_sensor.cpp)
logic_sources=(plugins/local/local_connection.cpp plugins/exec/child_process.cpp
               plugins/one_wire/ds18x20_sensor.cpp plugins/network/arp_sensor.cpp plugins/network/dash_frame.cpp
               plugins/roku/ssdp.cpp plugins/energymeter/iec62056.cpp "${iio_logic[@]}" plugins/hwmon/hwmon_sensor.cpp)
if [ $have_gpiod -eq 1 ]; then
  logic_sources+=(plugins/gpio/gpio_actuator.cpp plugins/gpio/gpio_backend.cpp plugins/gpio/gpiod_backend.cpp
                  plugins/gpio/fake_backend.cpp)
fi
[ $have_json -eq 1 ] && logic_sources+=(plugins/openhab_rest/sse_parser.cpp plugins/openhab_rest/event_decoder.cpp
                                          plugins/mqtt/json_field.cpp src/host/envelope.cpp)
# QueueFile's CRC-32 is zlib's, as plugins/mqtt/meson.build links it.
[ $have_zlib -eq 1 ] && logic_sources+=(plugins/mqtt/queue_journal.cpp)
modules=(heartbeat local exec one_wire network iio hwmon roku energymeter)
# mqtt builds its discovery messages with nlohmann_json, as plugins/mqtt/meson.build says.
[ $have_mosquitto -eq 1 ] && [ $have_json -eq 1 ] && modules+=(mqtt)
[ $have_gpiod -eq 1 ] && modules+=(gpio)

built_targets=()
for t in "${all_targets[@]}"; do
  if [ "$t" = commands ] && [ $have_gpiod -eq 0 ]; then continue; fi
  if [ "$t" = openhab_events ] && [ $have_json -eq 0 ]; then continue; fi
  if [ "$t" = json_field ] && [ $have_json -eq 0 ]; then continue; fi
  if [ "$t" = queue_file ] && [ $have_zlib -eq 0 ]; then continue; fi
  if [ "$t" = envelope ] && [ $have_json -eq 0 ]; then continue; fi
  built_targets+=("$t")
done

mkdir -p "$work/gen"
# registry.cpp includes the build's config.h; the fuzz build never uses the
# compiled-in plugin directory (the targets get SR_FUZZ_PLUGIN_PATH).
cat >"$work/gen/config.h.new" <<'EOF'
#pragma once
#define SR_VERSION "fuzz"
#define SR_PLUGIN_DIR "/nonexistent/sensor_reporter/plugins"
EOF
cmp -s "$work/gen/config.h.new" "$work/gen/config.h" 2>/dev/null || mv "$work/gen/config.h.new" "$work/gen/config.h"
rm -f "$work/gen/config.h.new"

libs="$(pkg-config --libs inih fmt) -ldl -lpthread"
[ $have_zlib -eq 1 ] && libs+=" $(pkg-config --libs zlib)"
[ $have_gpiod -eq 1 ] && libs+=" $(pkg-config --libs libgpiod)"
includes="-I$src/src -I$src/src/include -I$src/plugins -I$src/test/fuzz -I$work/gen"
[ $have_json -eq 1 ] && includes+=" $(pkg-config --cflags nlohmann_json)"
warn="-Wall -Wextra -Wno-unused-parameter"

{
  cat <<EOF
# Generated by test/fuzz/run-fuzzers.sh; rewritten on every run.
ninja_required_version = 1.8
cxx = $cxx
fuzz_flags = -std=c++20 -O1 -gline-tables-only -fno-omit-frame-pointer $warn -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=all $includes
module_flags = -std=c++20 -O0 -g0 -fPIC -fvisibility=hidden $warn $includes
libs = $libs

rule cxx
  command = \$cxx \$flags -MD -MF \$out.d -c \$in -o \$out
  depfile = \$out.d
  deps = gcc
  description = CXX \$out
rule ar
  command = rm -f \$out && ar crs \$out \$in
  description = AR \$out
rule link
  command = \$cxx -fsanitize=fuzzer,address,undefined \$in -o \$out \$libs
  description = LINK \$out
rule module
  command = \$cxx -shared \$in -o \$out \$libs \$extra_libs
  description = MODULE \$out

EOF
  objs=()
  for s in "${host_sources[@]}" "${logic_sources[@]}"; do
    o="obj/fuzz/${s%.cpp}.o"
    echo "build $o: cxx $src/$s"
    echo "  flags = \$fuzz_flags"
    objs+=("$o")
  done
  echo "build lib/libsr_fuzz.a: ar ${objs[*]}"
  for t in "${built_targets[@]}"; do
    echo "build obj/fuzz/fuzz_$t.o: cxx $here/fuzz_$t.cpp"
    echo "  flags = \$fuzz_flags"
    echo "build bin/fuzz_$t: link obj/fuzz/fuzz_$t.o lib/libsr_fuzz.a"
  done
  for m in "${modules[@]}"; do
    mobjs=()
    module_sources=("$src"/plugins/"$m"/*.cpp)
    # hwmon and gpio (DhtSensor) link the iio module's logic, as their meson.build files say.
    if [ "$m" = hwmon ] || [ "$m" = gpio ]; then module_sources+=("${iio_logic[@]/#/$src/}"); fi
    for s in "${module_sources[@]}"; do
      # gpio has one backend per libgpiod API; this build takes 1.6's
      # (have_gpiod), as plugins/gpio/meson.build would.
      [ "$s" = "$src/plugins/gpio/gpiod2_backend.cpp" ] && continue
      o="obj/modules/$m/$(basename "${s%.cpp}").o"
      echo "build $o: cxx $s"
      # plugins/mqtt/meson.build passes the version the device announces.
      if [ "$m" = mqtt ]; then
        echo "  flags = \$module_flags -DSR_MQTT_VERSION=\\\"fuzz\\\""
      else
        echo "  flags = \$module_flags"
      fi
      mobjs+=("$o")
    done
    echo "build plugins/$m/$m.so: module ${mobjs[*]}"
    case $m in
      mqtt) echo "  extra_libs = $(pkg-config --libs libmosquitto)" ;;
      gpio) echo "  extra_libs = $(pkg-config --libs libgpiod)" ;;
    esac
  done
} >"$work/build.ninja"

echo "run-fuzzers: building ${#built_targets[@]} targets and ${#modules[@]} plugin modules in $work ($cxx, -j$jobs)"
build_start=$SECONDS
if ! ninja -C "$work" -j "$jobs" >"$work/build.log" 2>&1; then
  cat "$work/build.log" >&2
  echo "run-fuzzers: build failed"
  echo "0 passed, 1 failed"
  exit 1
fi
echo "run-fuzzers: build done in $((SECONDS - build_start)) s"
[ "$mode" = build ] && exit 0

plugin_path=$(printf "$work/plugins/%s:" "${modules[@]}")
export SR_FUZZ_PLUGIN_PATH=${plugin_path%:}
# Leaks fail too; a crash stops at once with a stack trace.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}:abort_on_error=1:symbolize=1
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1}:halt_on_error=1

# --- Running ---------------------------------------------------------------

passed=0
failed=0
results_dir=$(mktemp -d "$work/run.XXXXXX")
trap 'rm -rf "$results_dir"' EXIT

# libFuzzer's default exit code for a crash is 77, which meson reads as SKIP.
exit_codes=(-error_exitcode=1 -timeout_exitcode=1)

# Sets dict_arg to the -dict option of target $1 (empty array if none).
dict_args() {
  dict_arg=()
  if [ -f "$here/dict/$1.dict" ]; then dict_arg=("-dict=$here/dict/$1.dict"); fi
}

input_dirs() {
  local d
  for d in "$here/corpus/$1" "$here/regression/$1"; do
    [ -d "$d" ] && echo "$d"
  done
  return 0
}

# replay TARGET: every checked-in input once.
replay_one() {
  local t=$1 log=$results_dir/$1.replay.log
  mapfile -t dirs < <(input_dirs "$t")
  if [ ${#dirs[@]} -eq 0 ]; then
    echo "replay $t: no corpus" >"$log"
    return 1
  fi
  # -runs=0 reads and executes every input of the directories, then stops.
  mkdir -p "$work/artifacts/$t"
  dict_args "$t"
  "$work/bin/fuzz_$t" -runs=0 "${exit_codes[@]}" -timeout=10 -artifact_prefix="$work/artifacts/$t/" \
    "${dict_arg[@]}" "${dirs[@]}" >"$log" 2>&1
}

# fuzz TARGET SECONDS: from a scratch copy of the corpus.
fuzz_one() {
  local t=$1 secs=$2 log=$results_dir/$1.fuzz.log scratch=$results_dir/corpus-$1
  mkdir -p "$scratch" "$work/artifacts/$t"
  dict_args "$t"
  local d
  while read -r d; do cp -r "$d/." "$scratch/"; done < <(input_dirs "$t")
  "$work/bin/fuzz_$t" -max_total_time="$secs" "${exit_codes[@]}" -timeout=10 -rss_limit_mb=2048 -max_len=4096 \
    -print_final_stats=1 -artifact_prefix="$work/artifacts/$t/" "${dict_arg[@]}" "$scratch" >"$log" 2>&1
}

# Runs "$1 TARGET [ARGS]" for each target, $jobs at a time; records each
# outcome as $results_dir/TARGET.<phase>.rc.
run_all() {
  local phase=$1 fn=$2
  shift 2
  local t running=0
  for t in "${run_targets[@]}"; do
    ( set +e; "$fn" "$t" "$@"; echo $? >"$results_dir/$t.$phase.rc" ) &
    running=$((running + 1))
    if [ $running -ge "$jobs" ]; then
      wait -n || true
      running=$((running - 1))
    fi
  done
  wait || true
}

report() {
  local phase=$1 t rc
  for t in "${run_targets[@]}"; do
    rc=$(cat "$results_dir/$t.$phase.rc" 2>/dev/null || echo 1)
    local log=$results_dir/$t.$phase.log
    local stats
    stats=$(grep -E '^#[0-9]+' "$log" | tail -n 1 | sed -E 's/ +/ /g' || true)
    if [ "$rc" -eq 0 ]; then
      passed=$((passed + 1))
      printf '%-14s %-6s ok    %s\n' "$t" "$phase" "$stats"
    else
      failed=$((failed + 1))
      printf '%-14s %-6s FAIL  (exit %s)\n' "$t" "$phase" "$rc"
      # The first frames of the first stack say where: CI keeps only the tail.
      sed -n '/==ERROR\|invariant broken\|runtime error\|SUMMARY\|Test unit written\|deadly signal\|threw\|^ *#[0-7] 0x/p' \
        "$log" | head -n 20 | sed 's/^/    /'
      echo "    full log: $work/logs/$t.$phase.log"
    fi
    mkdir -p "$work/logs"
    cp "$log" "$work/logs/$t.$phase.log"
  done
}

run_targets=()
for t in "${targets[@]}"; do
  if [[ " ${built_targets[*]} " == *" $t "* ]]; then
    run_targets+=("$t")
  else
    echo "run-fuzzers: $t not built here (libgpiod 1.6 or nlohmann_json missing); skipped"
  fi
done

if [ "$mode" = replay ] || [ "$mode" = smoke ]; then
  run_all replay replay_one
  report replay
fi
if [ "$mode" = smoke ] || [ "$mode" = fuzz ]; then
  if [ "$seconds" -gt 0 ]; then
    run_all fuzz fuzz_one "$seconds"
    report fuzz
  fi
fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
