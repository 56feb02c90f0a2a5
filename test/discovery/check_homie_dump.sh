#!/usr/bin/env bash
# check_homie_dump.sh DUMP NAMES: the independent Homie consumer on a device
# captured elsewhere (the VM tier's discovery test, which runs one section
# of every class on real drivers, prints its retained Homie topics).
#
# DUMP holds `mosquitto_sub -v --retained-only` lines, "TOPIC PAYLOAD". They
# are published retained to a private mosquitto, in order, exactly as a
# consumer arriving late would find them on the guest's broker; then
# homie_consumer.sh must name every entity in NAMES.
#
# Exit status: 0 every name found, 1 not, 77 the consumer cannot run here.
set -euo pipefail
dump=$1
names=$2
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
broker_pid=
cleanup() {
  stop "$broker_pid"
  rm -rf "$work"
}
trap cleanup EXIT
# shellcheck source=broker.sh
. "$here/broker.sh"

[ -s "$dump" ] || { echo "check_homie_dump: $dump is empty"; exit 1; }
# homie_consumer.sh says the same; asked first, a host without node needs
# no broker either.
command -v node >/dev/null 2>&1 || { echo "SKIP: node is not installed"; exit 77; }
start_broker
count=0
while IFS= read -r line; do
  topic=${line%% *}
  payload=${line#* }
  [ "$payload" != "$line" ] || payload=  # a topic alone: an empty payload
  mosquitto_pub -h 127.0.0.1 -p "$port" -q 1 -r -t "$topic" -m "$payload"
  count=$((count + 1))
done <"$dump"
echo "check_homie_dump: replayed $count retained topics from $dump"
"$here/homie_consumer.sh" "$port" "$names"
