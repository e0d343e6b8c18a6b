#!/usr/bin/env bash
# Benchmark: DICOM-SEG writing and reading on a generated 300-slice 512x512 CT (from
# Tests/Fixtures/dcmqi/ct-3slice/01.dcm) with label maps on its grid (Tests/Tools/make_labels.py), one case each:
#   u8     uint8  .nii.gz, 100 spheres (2% of the voxels labelled)
#   u16    uint16 .nii,    100 ellipsoids (12%)
#   i32    int32  .nii.gz, 117 labels, large ellipsoids (dense: half the voxels labelled, some labels hidden)
#   sparse uint16 .nii,    10 small discs on 6 slices
# Per case, nifti2seg: i2 vs dcmqi's itkimage2segimage; seg2nifti: i2 vs segimage2itkimage --mergeSegments,
# reading dcmqi's SEG (one frame per segment per slice, dcmqi's layout) and i2's. The u8 case also times
# i2's LABELMAP and RLE SEGs and highdicom (Tests/Tools/write_seg_highdicom.py).
# Prints per-case medians, ratios (target <= 0.1: i2 at least 10x faster than dcmqi) and peak memory, also as
# a multiple of the case's label map in memory (its voxel type).
# Release build. Usage: bash Tests/Benchmarks/seg.sh [RUNS [CASE...]]   (RUNS default 3; I2_SCRATCH: swift build scratch path)
# Peers in .venv: highdicom, dcmqi (PyPI wheel with the binaries), nibabel.
set -euo pipefail
cd "$(dirname "$0")/../.."
runs=${1:-3}
shift || true
cases=("${@:-u8 u16 i32 sparse}")
cases=(${cases[*]})
source Tests/Benchmarks/release.sh   # $i2 (release build), $py
for peer in itkimage2segimage segimage2itkimage; do
    [ -x ".venv/bin/$peer" ] || { echo "missing: pip install dcmqi into .venv (provides $peer)" >&2; exit 1; }
done
"$py" -c "import highdicom, nibabel" 2>/dev/null || { echo "missing: pip install highdicom nibabel into .venv" >&2; exit 1; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$py" Tests/Tools/make_series.py Tests/Fixtures/dcmqi/ct-3slice/01.dcm "$work/ct" --slices 300 >/dev/null
"$i2" convert --no-sidecar "$work/ct" "$work/ct.nii.gz" >/dev/null

source Tests/Benchmarks/measure.sh   # measure, ratio
echo "300-slice 512x512 CT, $runs runs each (medians), $(nproc) cores"

for c in "${cases[@]}"; do
    case $c in
        u8)     labels=$work/u8.nii.gz;  bytes=1; args=(--labels 100) ;;
        u16)    labels=$work/u16.nii;    bytes=2; args=(--labels 100 --dtype uint16 --shape ellipsoid) ;;
        i32)    labels=$work/i32.nii.gz; bytes=4; args=(--labels 117 --dtype int32 --shape ellipsoid --dense) ;;
        sparse) labels=$work/sparse.nii; bytes=2; args=(--labels 10 --dtype uint16 --sparse) ;;
        *) echo "unknown case $c (u8 u16 i32 sparse)" >&2; exit 2 ;;
    esac
    meta=$work/$c.json
    "$py" Tests/Tools/make_labels.py "$work/ct.nii.gz" "$labels" "$meta" "${args[@]}"
    labels_bytes=$((512 * 512 * 300 * bytes))
    cat "$work"/ct/* "$labels" > /dev/null   # warm the page cache for every tool alike
    echo "=== $c: $(basename "$labels") ${args[*]} ($((labels_bytes / 1048576)) MiB of voxels)"
    echo "== nifti2seg"
    measure "$c i2 nifti2seg"            "$i2" nifti2seg --ref "$work/ct" --meta "$meta" "$labels" -o "$work/out/i2.dcm"
    mv "$work/out/i2.dcm" "$work/$c-i2.dcm"
    if [ "$c" = u8 ]; then
        measure "$c i2 nifti2seg-labelmap" "$i2" nifti2seg --type labelmap --ref "$work/ct" --meta "$meta" "$labels" -o "$work/out/i2-lm.dcm"
        measure "$c i2 nifti2seg-rle"      "$i2" nifti2seg --compress rle --ref "$work/ct" --meta "$meta" "$labels" -o "$work/out/i2-rle.dcm"
        mv "$work/out/i2-rle.dcm" "$work/$c-i2-rle.dcm"
    fi
    measure "$c dcmqi itkimage2segimage" .venv/bin/itkimage2segimage --inputImageList "$labels" --inputDICOMDirectory "$work/ct" --inputMetadata "$meta" --outputDICOM "$work/out/dcmqi.dcm"
    mv "$work/out/dcmqi.dcm" "$work/$c-dcmqi.dcm"
    ratio "$c i2 nifti2seg" "$c dcmqi itkimage2segimage" "target <= 0.1"
    if [ "$c" = u8 ]; then
        measure "$c highdicom write"     "$py" Tests/Tools/write_seg_highdicom.py "$work/ct" "$labels" "$meta" "$work/out/hd.dcm"
        ratio "$c i2 nifti2seg" "$c highdicom write" "for information"
    fi
    echo "== seg2nifti (BINARY SEGs: dcmqi's, i2's)"
    sync   # the SEGs just written: their writeback is no reader's time
    for by in dcmqi i2; do
        seg=$work/$c-$by.dcm
        measure "$c i2 seg2nifti $by-seg"        "$i2" seg2nifti "$seg" -o "$work/out/labels.nii.gz"
        measure "$c dcmqi segimage2itkimage $by-seg" .venv/bin/segimage2itkimage --inputDICOM "$seg" --outputDirectory "$work/out" --mergeSegments --outputType nifti
        ratio "$c i2 seg2nifti $by-seg" "$c dcmqi segimage2itkimage $by-seg" "target <= 0.1"
    done
    if [ "$c" = u8 ]; then
        measure "$c i2 seg2nifti i2-rle-seg"     "$i2" seg2nifti "$work/$c-i2-rle.dcm" -o "$work/out/labels.nii.gz"
    fi
done
