#!/usr/bin/env bash
# The main job on a fresh machine: install, build, convert the bundled sample CT to NIfTI.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh --build-only
swift build -c release
out=${TMPDIR:-/tmp}/i2-demo
rm -rf "$out" && mkdir -p "$out"
echo "i2: converting the sample CT (Tests/Fixtures/dcmqi/ct-3slice, 3 slices) to NIfTI" >&2
.build/release/i2 convert Tests/Fixtures/dcmqi/ct-3slice "$out/ct.nii.gz"
echo "i2: done; the volume and its JSON sidecar are in $out" >&2
