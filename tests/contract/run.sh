#!/bin/sh
# Runs one contract check: `run.sh SCRIPT.mjs [ARGS]` with node from the
# top of the source tree. Exits 77 (ctest's SKIP_RETURN_CODE) when node is
# not installed; fails when the npm packages are missing, since then node
# is there and scripts/npm-setup was not run.
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
if ! command -v node >/dev/null 2>&1; then
  echo "SKIP: node is not installed"
  exit 77
fi
if [ ! -f "$root/node_modules/.package-lock.json" ]; then
  echo "FAIL: $root/node_modules is missing: run scripts/npm-setup" >&2
  exit 1
fi
export DUBAN_SOURCE_DIR="${DUBAN_SOURCE_DIR:-$root}"
export REDOCLY_TELEMETRY=off REDOCLY_SUPPRESS_UPDATE_NOTICE=true SCARF_ANALYTICS=false
cd "$root" || exit 1
script=$1
shift
exec node "$here/$script" "$@"
