#!/usr/bin/env bash
# Benchmark: DICOM-SEG writing and reading on a generated 300-slice 512x512 CT (from
# Tests/Fixtures/dcmqi/ct-3slice/01.dcm) with a 100-label map on its grid (spheres, uint8 NIfTI).
# nifti2seg: i2 vs dcmqi's itkimage2segimage vs highdicom (Tests/Tools/write_seg_highdicom.py), same inputs;
# seg2nifti: i2 (native and RLE SEG) vs segimage2itkimage --mergeSegments on i2's SEG.
# Prints per-case medians, ratios and peak memory (also as a multiple of the label map's size).
# Release build. Usage: bash Tests/Benchmarks/seg.sh [RUNS]   (I2_SCRATCH: swift build scratch path)
# Peers in .venv: highdicom, dcmqi (PyPI wheel with the binaries), nibabel.
set -euo pipefail
cd "$(dirname "$0")/../.."
runs=${1:-3}
scratch=${I2_SCRATCH:-.build}
swift build -c release --static-swift-stdlib --scratch-path "$scratch" >/dev/null
i2=$PWD/$scratch/release/i2
py=$PWD/.venv/bin/python3
for peer in itkimage2segimage segimage2itkimage; do
    [ -x ".venv/bin/$peer" ] || { echo "missing: pip install dcmqi into .venv (provides $peer)" >&2; exit 1; }
done
"$py" -c "import highdicom, nibabel" 2>/dev/null || { echo "missing: pip install highdicom nibabel into .venv" >&2; exit 1; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$py" Tests/Tools/make_series.py Tests/Fixtures/dcmqi/ct-3slice/01.dcm "$work/ct" --slices 300 >/dev/null
"$i2" convert --no-sidecar "$work/ct" "$work/ct.nii.gz" >/dev/null
"$py" Tests/Tools/make_labels.py "$work/ct.nii.gz" "$work/labels.nii.gz" "$work/meta.json" --labels 100
labels_bytes=$((512 * 512 * 300))   # uint8 voxels
cat "$work"/ct/* "$work/labels.nii.gz" > /dev/null   # warm the page cache for every tool alike

source Tests/Benchmarks/measure.sh   # measure, ratio

echo "300-slice 512x512 CT, 100-label uint8 map ($((labels_bytes / 1048576)) MiB of voxels), $runs runs each, $(nproc) cores"
echo "== nifti2seg"
measure "i2 nifti2seg"                 "$i2" nifti2seg --ref "$work/ct" --meta "$work/meta.json" "$work/labels.nii.gz" -o "$work/out/i2.dcm"
measure "i2 nifti2seg-labelmap"        "$i2" nifti2seg --type labelmap --ref "$work/ct" --meta "$work/meta.json" "$work/labels.nii.gz" -o "$work/out/i2-lm.dcm"
measure "i2 nifti2seg-rle"             "$i2" nifti2seg --compress rle --ref "$work/ct" --meta "$work/meta.json" "$work/labels.nii.gz" -o "$work/out/i2-rle.dcm"
measure "dcmqi itkimage2segimage"      .venv/bin/itkimage2segimage --inputImageList "$work/labels.nii.gz" --inputDICOMDirectory "$work/ct" --inputMetadata "$work/meta.json" --outputDICOM "$work/out/dcmqi.dcm"
measure "highdicom write"              "$py" Tests/Tools/write_seg_highdicom.py "$work/ct" "$work/labels.nii.gz" "$work/meta.json" "$work/out/hd.dcm"
ratio i2-nifti2seg dcmqi-itkimage2segimage "target <= 0.1"
ratio i2-nifti2seg highdicom-write "for information"
echo "== seg2nifti (reading the BINARY SEG i2 nifti2seg wrote, native and RLE)"
"$i2" nifti2seg --ref "$work/ct" --meta "$work/meta.json" "$work/labels.nii.gz" -o "$work/seg.dcm" >/dev/null
"$i2" nifti2seg --compress rle --ref "$work/ct" --meta "$work/meta.json" "$work/labels.nii.gz" -o "$work/seg-rle.dcm" >/dev/null
measure "i2 seg2nifti"                 "$i2" seg2nifti "$work/seg.dcm" -o "$work/out/labels.nii.gz"
measure "i2 seg2nifti-rle"             "$i2" seg2nifti "$work/seg-rle.dcm" -o "$work/out/labels.nii.gz"
measure "dcmqi segimage2itkimage"      .venv/bin/segimage2itkimage --inputDICOM "$work/seg.dcm" --outputDirectory "$work/out" --mergeSegments --outputType nifti
ratio i2-seg2nifti dcmqi-segimage2itkimage "target <= 0.1"
rm -f /tmp/i2-segbench-*
