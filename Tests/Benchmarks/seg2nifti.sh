#!/usr/bin/env bash
# Benchmark: reading a DICOM-SEG back into a label map. A 100-label BINARY SEG on a generated 300-slice
# 512x512 CT (Tests/Tools/make_seg.py, written by highdicom) is read by i2 seg2nifti, dcmqi's
# segimage2itkimage --mergeSegments and highdicom, RUNS runs each (default 3). Prints medians, the
# ratio to dcmqi (target: i2 at least 10x faster) and peak memory (target: at most 2x the label map).
# Release build; I2_SCRATCH picks the build directory (default .build).
# Usage: bash Tests/Benchmarks/seg2nifti.sh [RUNS]
set -euo pipefail
cd "$(dirname "$0")/../.."
runs=${1:-3}
source Tests/Benchmarks/release.sh   # $i2 (release build), $py
"$py" -c "import highdicom" 2>/dev/null || { echo "missing: .venv/bin/pip install highdicom" >&2; exit 1; }
dcmqi=$(dirname "$py")/segimage2itkimage
[ -x "$dcmqi" ] || { echo "missing: .venv/bin/pip install dcmqi (segimage2itkimage)" >&2; exit 1; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$py" Tests/Tools/make_series.py Tests/Fixtures/dcmqi/ct-3slice/01.dcm "$work/ct" --slices 300
"$py" Tests/Tools/make_seg.py "$work/ct" "$work/seg.dcm" --labels 100
labelmap_bytes=$((512 * 512 * 300))   # uint8 label map
cat "$work/seg.dcm" > /dev/null

measure() {   # measure NAME COMMAND...: $runs runs in a fresh output dir; median time and peak RSS
    local name=$1; shift
    local times=() mems=()
    for r in $(seq "$runs"); do
        rm -rf "$work/out" && mkdir "$work/out"
        /usr/bin/time -f "%e %M" -o "$work/time" "$@" >/dev/null 2>"$work/err" || { cat "$work/err" >&2; exit 1; }
        read -r t m < "$work/time"
        times+=("$t"); mems+=("$m")
    done
    python3 - "$name" "$labelmap_bytes" "${times[@]}" -- "${mems[@]}" <<'PY'
import sys, statistics
name, vol = sys.argv[1], int(sys.argv[2])
rest = sys.argv[3:]; cut = rest.index("--")
t = [float(x) for x in rest[:cut]]; m = [int(x) for x in rest[cut + 1:]]
print(f"{name:<36} median {statistics.median(t):6.3f} s  (min {min(t):.3f})  peak {max(m)/1024:7.1f} MiB = {max(m)*1024/vol:5.2f}x label map")
open(f"/tmp/i2-segbench-{name.split()[0]}", "w").write(str(statistics.median(t)))
PY
}

frames=$("$py" -c "import pydicom,sys; print(pydicom.dcmread(sys.argv[1], stop_before_pixels=True).NumberOfFrames)" "$work/seg.dcm")
echo "100-label BINARY SEG, $frames frames, on 300x512x512 ($((labelmap_bytes / 1048576)) MiB uint8 label map), $runs runs each, $(nproc) cores"
measure "i2 seg2nifti .nii"                   "$i2" seg2nifti "$work/seg.dcm" -o "$work/out/l.nii"
measure "i2-gz seg2nifti .nii.gz"             "$i2" seg2nifti "$work/seg.dcm" -o "$work/out/l.nii.gz"
measure "dcmqi segimage2itkimage --mergeSegments" "$dcmqi" --inputDICOM "$work/seg.dcm" --outputDirectory "$work/out" --mergeSegments --outputType nifti
measure "highdicom get_volume(combine_segments)" "$py" -c "
import sys, highdicom as hd, numpy as np
seg = hd.seg.segread(sys.argv[1])
v = seg.get_volume(combine_segments=True, relabel=False)
np.save(sys.argv[2], v.array)" "$work/seg.dcm" "$work/out/l.npy"
# the label maps agree (i2 vs the generator's own array)
"$i2" seg2nifti "$work/seg.dcm" -o "$work/check.nii" >/dev/null
"$py" - "$work/check.nii" "$work/seg.dcm.labels.npy" <<'PY'
import sys, numpy as np, nibabel as nib
got = np.asanyarray(nib.load(sys.argv[1]).dataobj).transpose(2, 1, 0)[:, ::-1, :]   # i2 writes dcm2niix order: rows reversed
want = np.load(sys.argv[2])
print("i2 label map equals the generated one:", np.array_equal(got, want))
PY
python3 - <<'PY'
t = lambda n: float(open(f"/tmp/i2-segbench-{n}").read())
print(f"ratio dcmqi/i2 (.nii):        {t('dcmqi') / t('i2'):.1f}x  (target >= 10)")
print(f"ratio highdicom/i2 (.nii):    {t('highdicom') / t('i2'):.1f}x")
print(f"ratio dcmqi/i2 (.nii.gz):     {t('dcmqi') / t('i2-gz'):.1f}x")
PY
rm -f /tmp/i2-segbench-*
