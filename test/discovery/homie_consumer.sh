#!/usr/bin/env bash
# homie_consumer.sh - check sensor_reporter's Homie output with a real,
# third-party Homie consumer.
#
# Usage: homie_consumer.sh PORT NAMES_FILE [HOMIE_DOMAIN]
#
#   PORT          port of an MQTT broker on 127.0.0.1 that already holds the
#                 (retained) Homie v3/v4 topics and/or v5 $description of the
#                 device(s) under test.
#   NAMES_FILE    one Home Assistant entity name per line (blank lines are
#                 ignored, surrounding whitespace is trimmed).
#   HOMIE_DOMAIN  Homie root/domain (default "homie"); used both as the v5
#                 domain ("<domain>/5/<device>") and the v3/v4 root
#                 ("<domain>/<device>").
#
# The consumer is the npm package homie-home-assistant-discovery@1.0.6
# (Apache-2.0), which reads Homie devices from the broker and publishes
# Home Assistant MQTT device discovery under "homeassistant/". It is
# installed once into ${SR_NPM_CACHE:-/var/tmp/sensor_reporter-npm} and
# reused from there without network. If it is neither installed nor
# installable, the script prints "SKIP: <why>" and exits 77.
#
# The script subscribes to "homeassistant/#" first (ignoring stale retained
# messages, so discovery left on the broker by an earlier run cannot make it
# pass), then starts the bridge against 127.0.0.1:PORT and waits - at most
# ${SR_HOMIE_CONSUMER_TIMEOUT:-30} seconds, via mosquitto_sub -W - until the
# discovery it publishes names every line of NAMES_FILE as an entity.
#
# Names are compared exactly with the "name" of each component of the
# device discovery payload (and of the stand-alone "Homie State" sensor).
# With no overrides the bridge (1.0.6, buildEntityName) names an entity
#   property id "state", node has a name    -> "<node name>"
#   node and property names set and differ  -> "<node name> <property name>"
#                                              e.g. "Environment Temperature"
#   node name set, property name unset/same -> "<node name> <Prop Id Label>"
#   node has no name                        -> "<property name>", else
#                                              "<Node Id Label> <Prop Id Label>"
# (Id Label: id split at - and _, each word capitalised). The device name is
# never part of it. Homie v5 devices also get diagnostic components "Homie
# Version", "Homie Description Version", "Homie Extensions"; every device
# gets a "Homie State" sensor.
#
# Exit status: 0 all names found; 1 some missing (each one is printed, then
# the bridge's log); 2 usage error; 77 skipped.
set -euo pipefail

readonly PKG=homie-home-assistant-discovery
readonly PKG_VERSION=1.0.6

usage() {
  echo "usage: $0 PORT NAMES_FILE [HOMIE_DOMAIN]" >&2
  exit 2
}

skip() {
  echo "SKIP: $*"
  exit 77
}

[[ $# -ge 2 && $# -le 3 ]] || usage
port=$1
names_file=$2
homie_domain=${3:-homie}
ha_prefix=${SR_HA_DISCOVERY_PREFIX:-homeassistant}
timeout_s=${SR_HOMIE_CONSUMER_TIMEOUT:-30}
cache_dir=${SR_NPM_CACHE:-/var/tmp/sensor_reporter-npm}

[[ $port =~ ^[0-9]+$ ]] || usage
[[ $timeout_s =~ ^[1-9][0-9]*$ ]] || { echo "homie_consumer: bad SR_HOMIE_CONSUMER_TIMEOUT '$timeout_s'" >&2; exit 2; }
[[ -n $homie_domain ]] || usage
if [[ ! -r $names_file ]]; then
  echo "homie_consumer: cannot read names file '$names_file'" >&2
  exit 2
fi
if ! grep -q '[^[:space:]]' "$names_file"; then
  echo "homie_consumer: names file '$names_file' lists no names" >&2
  exit 2
fi

command -v node >/dev/null 2>&1 || skip "node is not installed"
command -v mosquitto_sub >/dev/null 2>&1 || skip "mosquitto_sub is not installed"
command -v stdbuf >/dev/null 2>&1 || skip "stdbuf (coreutils) is not installed"
node_major=$(node -p 'process.versions.node.split(".")[0]')
((node_major >= 18)) || skip "$PKG needs node >= 18, found $(node --version)"

# --- install (once) -------------------------------------------------------
pkg_dir=$cache_dir/node_modules/$PKG
cli=$pkg_dir/dist/cli.js

installed() {
  [[ -f $cli && -f $pkg_dir/package.json ]] &&
    node -e 'process.exit(require(process.argv[1]).version === process.argv[2] ? 0 : 1)' \
      "$pkg_dir/package.json" "$PKG_VERSION" 2>/dev/null
}

if ! installed; then
  mkdir -p "$cache_dir" 2>/dev/null || skip "cannot create npm cache dir $cache_dir"
  # Serialise concurrent installs into the shared directory.
  if command -v flock >/dev/null 2>&1 && exec {lock_fd}>"$cache_dir/.install.lock"; then
    flock -w 600 "$lock_fd" || skip "timed out waiting for the install lock in $cache_dir"
  fi
  if ! installed; then
    command -v npm >/dev/null 2>&1 || skip "$PKG@$PKG_VERSION is not in $cache_dir and npm is not installed"
    echo "homie_consumer: installing $PKG@$PKG_VERSION into $cache_dir"
    if ! npm_out=$(npm install --prefix "$cache_dir" --no-audit --no-fund \
      --fetch-retries=1 --fetch-timeout=30000 "$PKG@$PKG_VERSION" 2>&1); then
      printf '%s\n' "$npm_out" | tail -n 5 >&2
      skip "cannot install $PKG@$PKG_VERSION into $cache_dir (npm install failed; no network?)"
    fi
    installed || skip "npm install did not produce $cli"
  fi
  if [[ -n ${lock_fd:-} ]]; then
    exec {lock_fd}>&-
  fi
fi

# --- run ------------------------------------------------------------------
work=$(mktemp -d "${TMPDIR:-/tmp}/homie_consumer.XXXXXX")
bridge_log=$work/bridge.log
sub_log=$work/mosquitto_sub.log
bridge_pid=
sub_pid=

# shellcheck disable=SC2317 # called from the EXIT trap
stop_pid() {
  local pid=$1 i
  kill -TERM "$pid" 2>/dev/null || return 0
  for ((i = 0; i < 50; i++)); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1 # bounded grace period before SIGKILL, not synchronisation
  done
  kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}

# shellcheck disable=SC2317 # the EXIT trap
cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  [[ -n $bridge_pid ]] && stop_pid "$bridge_pid"
  [[ -n $sub_pid ]] && stop_pid "$sub_pid"
  rm -rf "$work"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

show_logs() {
  echo "----- $PKG log (bridge pid $bridge_pid) -----"
  cat "$bridge_log" 2>/dev/null || true
  if [[ -s $sub_log ]]; then
    echo "----- mosquitto_sub stderr -----"
    cat "$sub_log"
    echo
  fi
  echo "----- end of logs -----"
}

# Subscribe first. -R drops stale retained messages (a previous bridge run may
# have left discovery on the broker); the fresh bridge republishes all of its
# discovery after start, and those arrive live. -d lets us see the SUBACK so
# the bridge is only started once the subscription is in place (stdbuf: the
# debug lines are not flushed otherwise). -W bounds the whole wait.
exec {sub_fd}< <(exec stdbuf -oL mosquitto_sub -h 127.0.0.1 -p "$port" -d -v -R -W "$timeout_s" \
  -i "sr-homie-consumer-sub-$$" -t "$ha_prefix/#" 2>"$sub_log")
sub_pid=$!

subscribed=0
while IFS= read -r -t 10 -u "$sub_fd" line; do
  if [[ $line == *"received SUBACK"* ]]; then
    subscribed=1
    break
  fi
done
if ((subscribed == 0)); then
  echo "homie_consumer: could not subscribe to $ha_prefix/# on 127.0.0.1:$port"
  cat "$sub_log" 2>/dev/null || true
  echo
  exit 1
fi

node "$cli" \
  --broker "mqtt://127.0.0.1:$port" \
  --homie-domain "$homie_domain" \
  --legacy-root "$homie_domain" \
  --discovery-prefix "$ha_prefix" \
  --client-id "sr-homie-consumer-$$" \
  --log-level debug \
  >"$bridge_log" 2>&1 &
bridge_pid=$!

# Reads "topic payload" lines from mosquitto_sub -v -d; keeps the latest
# payload per discovery topic; exits 0 as soon as every wanted name is an
# entity name, or 1 (listing what is missing) when mosquitto_sub hits -W.
cat >"$work/check.js" <<'EOF'
"use strict";
const fs = require("node:fs");
const readline = require("node:readline");
const [namesFile, prefix] = process.argv.slice(2);
const wanted = fs
  .readFileSync(namesFile, "utf8")
  .split(/\r?\n/)
  .map((s) => s.trim())
  .filter((s) => s.length > 0);
const latest = new Map(); // topic -> entity names in its latest payload

const namesOf = (payload) => {
  let doc;
  try {
    doc = JSON.parse(payload);
  } catch {
    return [];
  }
  if (doc === null || typeof doc !== "object") return [];
  if (doc.components && typeof doc.components === "object") {
    return Object.values(doc.components)
      .filter((c) => c && typeof c.name === "string")
      .map((c) => c.name);
  }
  return typeof doc.name === "string" ? [doc.name] : [];
};
const seen = () => new Set([...latest.values()].flat());
const missing = () => {
  const s = seen();
  return wanted.filter((n) => !s.has(n));
};

const rl = readline.createInterface({ input: process.stdin, crlfDelay: Infinity });
rl.on("line", (line) => {
  if (!line.startsWith(prefix + "/")) return; // mosquitto_sub -d chatter
  const sp = line.indexOf(" ");
  const topic = sp < 0 ? line : line.slice(0, sp);
  const payload = sp < 0 ? "" : line.slice(sp + 1);
  if (payload === "" || payload === "(null)") latest.delete(topic);
  else latest.set(topic, namesOf(payload));
  if (missing().length === 0) {
    console.log(`homie_consumer: all ${wanted.length} names found`);
    process.exit(0);
  }
});
rl.on("close", () => {
  const m = missing();
  if (m.length === 0) {
    console.log(`homie_consumer: all ${wanted.length} names found`);
    process.exit(0);
  }
  for (const n of m) console.log(`homie_consumer: missing: ${n}`);
  const s = [...seen()].sort();
  console.log(`homie_consumer: entity names seen: ${s.length ? s.map((n) => JSON.stringify(n)).join(", ") : "(none)"}`);
  console.log(`homie_consumer: ${m.length} of ${wanted.length} names missing`);
  process.exit(1);
});
EOF

rc=0
node "$work/check.js" "$names_file" "$ha_prefix" <&"$sub_fd" || rc=$?
exec {sub_fd}<&-

if ((rc != 0)); then
  if ! kill -0 "$bridge_pid" 2>/dev/null; then
    bridge_rc=0
    wait "$bridge_pid" || bridge_rc=$?
    echo "homie_consumer: the bridge exited early (status $bridge_rc)"
  fi
  show_logs
  exit 1
fi
exit 0
