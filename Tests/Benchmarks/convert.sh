#!/usr/bin/env bash
# Benchmark: i2 convert vs dcm2niix (Debian's) on the same inputs, in one run, release build:
#   - each corpus folder /work/shared/testdata/dcm_qa/*/In (or $DCM_QA/*/In; skipped with a note when absent),
#   - a generated 300-slice 512x512 CT (Tests/Tools/make_series.py from Tests/Fixtures/dcmqi/ct-3slice/01.dcm),
#   - a generated enhanced MR file of 5,120 frames (Tests/Tools/make_enhanced.py: 80 time points of the
#     64-frame Philips fixture Tests/Fixtures/dcm_qa_enh/Philips/IM_0027_fMAP.dcm), and the same at
#     256x256 (each pixel repeated 4x4: 650 MiB), where the output volume rather than the process's
#     fixed size sets the memory.
# Cases per input: .nii (i2 --format nii vs dcm2niix -z n) and .nii.gz (i2 vs dcm2niix -z y, which uses
# pigz when installed), sidecars on for both (each tool's default). RUNS runs each (default 3): prints
# median times, the i2/dcm2niix ratio (target <= 1.0), peak RSS of each, and the largest output volume
# with peak RSS as a multiple of it (target <= 1.5). The machine may be shared: compare ratios, not times.
# Usage: bash Tests/Benchmarks/convert.sh [RUNS]   (I2_SCRATCH: swift build scratch path; ONLY=substring
# of the input names to run)
set -euo pipefail
cd "$(dirname "$0")/../.."
runs=${1:-3}
scratch=${I2_SCRATCH:-.build}
bash scripts/install-deps.sh >/dev/null
swift build -c release --static-swift-stdlib --scratch-path "$scratch" >/dev/null
case $scratch in /*) i2=$scratch/release/i2 ;; *) i2=$PWD/$scratch/release/i2 ;; esac
command -v dcm2niix >/dev/null || { echo "dcm2niix missing: apt-get install -y dcm2niix" >&2; exit 1; }
command -v pigz >/dev/null || { echo "pigz missing: apt-get install -y pigz" >&2; exit 1; }
py=$PWD/.venv/bin/python3

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
inputs=()
dcm_qa=${DCM_QA:-/work/shared/testdata/dcm_qa}
for d in "$dcm_qa"/*/In; do
    [ -d "$d" ] || continue
    inputs+=("$(basename "$(dirname "$d")")=$d")
done
[ ${#inputs[@]} -gt 0 ] || echo "note: no corpus folders under $dcm_qa (*/In): skipped"
"$py" Tests/Tools/make_series.py Tests/Fixtures/dcmqi/ct-3slice/01.dcm "$work/ct" --slices 300 >/dev/null
inputs+=("ct-300=$work/ct")
mkdir -p "$work/enhanced"
"$py" Tests/Tools/make_enhanced.py Tests/Fixtures/dcm_qa_enh/Philips/IM_0027_fMAP.dcm "$work/enhanced/enhanced.dcm" --frames 5120 >/dev/null
inputs+=("enhanced-5120=$work/enhanced")
# The same frames at 256x256 (--zoom 4): two 320 MiB volumes, so peak memory is measured against an
# output that dwarfs the process itself (i2's own baseline is ~27 MiB, more than the 64x64 volume).
mkdir -p "$work/enhanced-256"
"$py" Tests/Tools/make_enhanced.py Tests/Fixtures/dcm_qa_enh/Philips/IM_0027_fMAP.dcm "$work/enhanced-256/enhanced.dcm" --frames 5120 --zoom 4 >/dev/null
inputs+=("enhanced-5120x256=$work/enhanced-256")

"$py" Tests/Benchmarks/convert_bench.py --runs "$runs" --i2 "$i2" --work "$work" --only "${ONLY:-}" "${inputs[@]}"
