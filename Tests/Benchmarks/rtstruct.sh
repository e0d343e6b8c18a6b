#!/usr/bin/env bash
# Benchmark: RT Structure Set writing and reading on a generated 300-slice 512x512 CT (from
# Tests/Fixtures/dcmqi/ct-3slice/01.dcm) with a 117-label map on its grid (TotalSegmentator's label count;
# spheres, uint8 NIfTI, Tests/Tools/make_labels.py).
# Writing: i2 nifti2seg --as rtstruct vs rt-utils (RTStructBuilder.add_roi per label, the library
# TotalSegmentator's dicom_rtstruct output uses; Tests/Tools/rt_peers.py rtutils-write).
# Reading: i2 seg2nifti (one label map, and --per-segment) vs dcmrtstruct2nii (one mask per ROI), both
# on i2's RTSTRUCT. Overlay series (--as overlay; no reference tool). Measurement report: the cost
# of --as seg,sr over --as seg, vs highdicom building the same TID 1500 report with numpy statistics
# (Tests/Tools/write_sr_highdicom.py). Prints medians, ratios and peak memory (also as a multiple of
# the label map).
# Release build. Usage: bash Tests/Benchmarks/rtstruct.sh [RUNS]   (I2_SCRATCH: swift build scratch path)
# Peers: rt-utils in .venv, dcmrtstruct2nii in .venv-rt (scripts/install-deps.sh).
set -euo pipefail
cd "$(dirname "$0")/../.."
runs=${1:-3}
source Tests/Benchmarks/release.sh   # $i2 (release build), $py
pyrt=$PWD/.venv-rt/bin/python3
"$py" -c "import rt_utils, nibabel" 2>/dev/null || { echo "missing: rt-utils in .venv (bash scripts/install-deps.sh)" >&2; exit 1; }
"$pyrt" -c "import dcmrtstruct2nii" 2>/dev/null || { echo "missing: dcmrtstruct2nii in .venv-rt (bash scripts/install-deps.sh)" >&2; exit 1; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$py" Tests/Tools/make_series.py Tests/Fixtures/dcmqi/ct-3slice/01.dcm "$work/ct" --slices 300 >/dev/null
"$i2" convert --no-sidecar "$work/ct" "$work/ct.nii.gz" >/dev/null
"$py" Tests/Tools/make_labels.py "$work/ct.nii.gz" "$work/labels.nii.gz" "$work/meta.json" --labels 117
"$i2" nifti2seg --ref "$work/ct" --meta "$work/meta.json" "$work/labels.nii.gz" --as rtstruct -o "$work/rt.dcm" >/dev/null
labels_bytes=$((512 * 512 * 300))   # uint8 voxels
cat "$work"/ct/* "$work/labels.nii.gz" "$work/rt.dcm" > /dev/null   # warm the page cache for every tool alike
source Tests/Benchmarks/measure.sh   # measure, ratio

echo "300-slice 512x512 CT, 117-label uint8 map ($((labels_bytes / 1048576)) MiB of voxels), $runs runs each, $(nproc) cores"
echo "== writing an RTSTRUCT"
measure "i2 write"          "$i2" nifti2seg --ref "$work/ct" --meta "$work/meta.json" "$work/labels.nii.gz" --as rtstruct -o "$work/out/i2.dcm"
measure "rt-utils write"    "$py" Tests/Tools/rt_peers.py rtutils-write "$work/ct" "$work/labels.nii.gz" "$work/meta.json" "$work/out/rtutils.dcm"
ratio i2-write rt-utils-write "target <= 0.05"
echo "== reading an RTSTRUCT (i2's)"
measure "i2 read"           "$i2" seg2nifti "$work/rt.dcm" --ref "$work/ct" -o "$work/out/labels.nii.gz"
measure "i2 read-per-roi"   "$i2" seg2nifti "$work/rt.dcm" --ref "$work/ct" --per-segment -o "$work/out/roi.nii.gz"
measure "dcmrtstruct2nii read" "$pyrt" -c "import sys; from dcmrtstruct2nii import dcmrtstruct2nii; dcmrtstruct2nii(sys.argv[1], sys.argv[2], sys.argv[3], convert_original_dicom=False)" "$work/rt.dcm" "$work/ct" "$work/out"
ratio i2-read-per-roi dcmrtstruct2nii-read "target <= 0.05"
ratio i2-read dcmrtstruct2nii-read "target <= 0.05"
echo "== overlay series (no reference tool writes one: target < 1 s, peak <= 2x the label map)"
measure "i2 overlay"        "$i2" nifti2seg --ref "$work/ct" --meta "$work/meta.json" "$work/labels.nii.gz" --as overlay -o "$work/out/overlay"
echo "== measurement report (TID 1500: volume, mean, min, max HU per segment)"
"$i2" nifti2seg --ref "$work/ct" --meta "$work/meta.json" "$work/labels.nii.gz" --as seg -o "$work/seg.dcm" >/dev/null
measure "i2 seg"            "$i2" nifti2seg --ref "$work/ct" --meta "$work/meta.json" "$work/labels.nii.gz" --as seg -o "$work/out/seg.dcm"
measure "i2 seg+sr"         "$i2" nifti2seg --ref "$work/ct" --meta "$work/meta.json" "$work/labels.nii.gz" --as seg,sr -o "$work/out/both"
measure "highdicom sr"      "$py" Tests/Tools/write_sr_highdicom.py "$work/ct" "$work/labels.nii.gz" "$work/seg.dcm" "$work/out/hd-sr.dcm"
python3 -c "import sys; t = [float(open(sys.argv[1] + '/median-' + n).read()) for n in sys.argv[2:]]; sr = t[1] - t[0]; print(f'i2 report alone (seg+sr - seg): {sr:.3f} s (target < 1 s); highdicom, given the SEG: {t[2]:.3f} s ({t[2] / max(sr, 1e-3):.0f}x)')" "$work" i2-seg i2-seg+sr highdicom-sr
