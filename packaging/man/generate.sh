#!/usr/bin/env bash
# Writes sensor_reporter.ini.5 from its template and the parameter tables of
# the plugins in BUILD_DIR (every product plugin must be built):
#   packaging/man/generate.sh BUILD_DIR [OUTPUT]
# The suite's man_pages test fails when the checked-in page drifts.
set -euo pipefail
build=$(cd "$1" && pwd)
here=$(cd "$(dirname "$0")" && pwd)
out=${2:-$here/sensor_reporter.ini.5}
plugins=$(printf '%s:' "$build"/plugins/*/)
classes=$(SENSOR_REPORTER_PLUGIN_PATH=${plugins%:} "$build/src/sensor_reporter-docgen")
python3 - "$here/sensor_reporter.ini.5.in" "$out" "$classes" <<'PY'
import sys
template, out, classes = sys.argv[1], sys.argv[2], sys.argv[3]
text = open(template).read().replace("@CLASSES@\n", classes if classes.endswith("\n") else classes + "\n")
open(out, "w").write(text)
PY
