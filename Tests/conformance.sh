#!/usr/bin/env bash
# i2 convert against dcm2niix on directories of scanner data, series by series, in one run.
#
#   bash Tests/conformance.sh [--all-keys] [--keep DIR] CORPUS...
#
# A CORPUS is a DICOM directory, or a folder with In/ (dcm2niix's dcm_qa layout, e.g.
# /work/shared/testdata/dcm_qa/*). Both converters write uncompressed NIfTI named after ProtocolName
# and SeriesNumber (dcm2niix -f %p_%s, i2 --name '{protocol}_{number}'); Tests/conformance.py compares
# each dcm2niix output with i2's of the same name and prints SAME or what differs, then
# "conformance: N same of M series". Exit status 0 when every series is the same, 1 otherwise.
# I2 (default: the release build, else the debug build) and DCM2NIIX (default: dcm2niix) pick the
# binaries; PYTHON a Python with nibabel and numpy (default: .venv/bin/python, see scripts/install-deps.sh).
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
I2=${I2:-}
if [ -z "$I2" ]; then
    for c in "$here/.build/release/i2" "$here/.build/debug/i2"; do [ -x "$c" ] && { I2=$c; break; }; done
fi
[ -n "$I2" ] || { echo "conformance: build i2 first (swift build -c release)" >&2; exit 2; }
DCM2NIIX=${DCM2NIIX:-dcm2niix}
command -v "$DCM2NIIX" >/dev/null || { echo "conformance: dcm2niix not found (apt-get install dcm2niix)" >&2; exit 2; }
PYTHON=${PYTHON:-$here/.venv/bin/python}
"$PYTHON" -c 'import nibabel, numpy' 2>/dev/null || { echo "conformance: $PYTHON lacks nibabel/numpy (bash scripts/install-deps.sh)" >&2; exit 2; }

extra=()
keep=""
while [ $# -gt 0 ]; do
    case "$1" in
        --all-keys|--verbose) extra+=("$1"); shift ;;
        --keep) keep=$2; shift 2 ;;
        -h|--help) sed -n 2,13p "$0"; exit 0 ;;
        *) break ;;
    esac
done
[ $# -gt 0 ] || { echo "usage: bash Tests/conformance.sh [--all-keys] [--verbose] [--keep DIR] CORPUS..." >&2; exit 2; }

work=${keep:-$(mktemp -d)}
[ -n "$keep" ] || trap 'rm -rf "$work"' EXIT
same=0 total=0
for corpus in "$@"; do
    [ -d "$corpus" ] || { echo "conformance: skipping $corpus (not a directory)" >&2; continue; }
    input=$corpus
    [ -d "$corpus/In" ] && input=$corpus/In
    label=$(basename "$corpus")
    ref=$work/$label/dcm2niix mine=$work/$label/i2
    rm -rf "$ref" "$mine"; mkdir -p "$ref" "$mine"
    "$DCM2NIIX" -b y -ba y -z n -f %p_%s -o "$ref" "$input" >"$work/$label/dcm2niix.log" 2>&1 || true
    "$I2" convert "$input" "$mine/" --format nii --name '{protocol}_{number}' >/dev/null 2>"$work/$label/i2.log" || true
    out=$("$PYTHON" "$here/Tests/conformance.py" --ref "$ref" --i2 "$mine" --label "$label" ${extra[@]+"${extra[@]}"})
    grep -v '^#counts' <<<"$out" || true
    read -r _ s t < <(grep '^#counts' <<<"$out")
    same=$((same + s)) total=$((total + t))
    if [ -s "$work/$label/i2.log" ] && [ "$s" -lt "$t" ]; then
        sed 's/^/      i2: /' "$work/$label/i2.log" | head -5
    fi
done
echo "conformance: $same same of $total series"
[ "$same" -eq "$total" ]
