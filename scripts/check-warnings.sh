#!/usr/bin/env bash
# Fails when a fresh build of i2 or of its tests prints a compiler warning. Fresh: a new scratch
# directory, so every file is compiled (an incremental build only shows the files it recompiles).
#   bash scripts/check-warnings.sh           # swift build, then swift build --build-tests
set -euo pipefail
cd "$(dirname "$0")/.."
scratch=$(mktemp -d "${TMPDIR:-/tmp}/i2-warnings.XXXXXX")
log=$scratch.log
trap 'rm -rf "$scratch" "$log"' EXIT
for args in "" "--build-tests"; do
    # shellcheck disable=SC2086
    if ! swift build $args --scratch-path "$scratch" >"$log" 2>&1; then
        cat "$log" >&2
        echo "check-warnings: swift build $args failed" >&2
        exit 1
    fi
    if grep -q "warning:" "$log"; then
        grep "warning:" "$log" | sort -u >&2
        echo "check-warnings: a fresh 'swift build $args' printed $(grep -c 'warning:' "$log") warning line(s); fix their causes" >&2
        exit 1
    fi
done
echo "check-warnings: fresh swift build and swift build --build-tests print no warnings" >&2
