#!/usr/bin/env bash
# check_exports.sh ENTRY MODULE...: every module exports exactly one dynamic
# symbol, the entry point ENTRY (STYLE.md: one exported entry point per
# module; the SDK's version script sensor_reporter/plugin.map makes it so).
# Hidden visibility alone leaves libstdc++'s weak template instantiations
# exported, so a module linked without the script fails here, listing them.
set -euo pipefail
entry=$1
shift
nm=${NM:-nm}
failed=0
for module in "$@"; do
  symbols=$("$nm" -D --defined-only "$module" | awk '{ print $NF }' | sort)
  count=$(grep -c . <<<"$symbols" || true)
  if [ "$symbols" = "$entry" ]; then
    echo "ok: $(basename "$module") exports $entry only"
    continue
  fi
  failed=$((failed + 1))
  extra=$(grep -vx -- "$entry" <<<"$symbols" || true)
  grep -qx -- "$entry" <<<"$symbols" || echo "FAIL: $module does not export $entry"
  if [ -n "$extra" ]; then
    echo "FAIL: $module exports $count dynamic symbols, expected only $entry; the others:"
    # Demangled when c++filt is there: the extras are mostly std:: templates.
    { c++filt 2>/dev/null <<<"$extra" || echo "$extra"; } | sed 's/^/  /'
  fi
done
passed=$(($# - failed))
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
