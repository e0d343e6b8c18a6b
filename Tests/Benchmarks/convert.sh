#!/usr/bin/env bash
# Benchmark: i2 convert vs dcm2niix on the same generated 300-slice 512x512 CT (from
# Tests/Fixtures/dcmqi/ct-3slice/01.dcm), to .nii and .nii.gz, RUNS runs each (default 5).
# Prints per-case medians, the i2/dcm2niix time ratio, peak memory (and as a multiple of the
# volume's size) and output sizes. Release build. Usage: bash Tests/Benchmarks/convert.sh [RUNS]
set -euo pipefail
cd "$(dirname "$0")/../.."
runs=${1:-5}
bash scripts/install-deps.sh >/dev/null
swift build -c release >/dev/null
i2=$PWD/.build/release/i2
command -v dcm2niix >/dev/null || { echo "dcm2niix missing: apt-get install -y dcm2niix" >&2; exit 1; }
command -v pigz >/dev/null || { echo "pigz missing: apt-get install -y pigz" >&2; exit 1; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
.venv/bin/python3 Tests/Tools/make_series.py Tests/Fixtures/dcmqi/ct-3slice/01.dcm "$work/ct" --slices 300
volume_bytes=$((512 * 512 * 300 * 2))
cat "$work"/ct/* > /dev/null   # warm the page cache for both tools alike

# measure NAME OUTFILE-GLOB COMMAND...: runs the command $runs times in a fresh output dir
measure() {
    local name=$1; shift
    local times=() mems=() size=0
    for r in $(seq "$runs"); do
        rm -rf "$work/out" && mkdir "$work/out"
        /usr/bin/time -f "%e %M" -o "$work/time" "$@" >/dev/null 2>"$work/err" || { cat "$work/err" >&2; exit 1; }
        read -r t m < "$work/time"
        times+=("$t"); mems+=("$m")
        size=$(find "$work/out" -name '*.nii*' -printf '%s\n' | head -1)
        sync
    done
    python3 - "$name" "$size" "$volume_bytes" "${times[@]}" -- "${mems[@]}" <<'PY'
import sys, statistics
name, size, vol = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
rest = sys.argv[4:]; cut = rest.index("--")
t = [float(x) for x in rest[:cut]]; m = [int(x) for x in rest[cut + 1:]]
print(f"{name:<34} median {statistics.median(t):6.3f} s  (min {min(t):.3f})  peak {max(m)/1024:7.1f} MiB = {max(m)*1024/vol:4.2f}x volume  output {size/1e6:7.2f} MB")
with open("/tmp/i2-bench-" + name.split()[0] + "-" + name.split()[-1], "w") as f: f.write(str(statistics.median(t)))
PY
}

echo "300-slice 512x512 int16 CT ($((volume_bytes / 1048576)) MiB of voxels), $runs runs each, $(nproc) cores"
measure "i2 .nii"                     "$i2" convert --no-sidecar "$work/ct" "$work/out/i2.nii"
measure "dcm2niix .nii"               dcm2niix -z n -b n -f d -o "$work/out" "$work/ct"
measure "i2 .nii.gz"                  "$i2" convert --no-sidecar "$work/ct" "$work/out/i2.nii.gz"
measure "dcm2niix(pigz) .nii.gz"      dcm2niix -z y -b n -f d -o "$work/out" "$work/ct"
measure "dcm2niix(zlib) .nii.gz"      dcm2niix -z i -b n -f d -o "$work/out" "$work/ct"
python3 - <<'PY'
r = lambda a, b: float(open(f"/tmp/i2-bench-{a}").read()) / float(open(f"/tmp/i2-bench-{b}").read())
print(f"ratio i2/dcm2niix .nii:               {r('i2-.nii', 'dcm2niix-.nii'):.2f}  (target <= 1.0)")
print(f"ratio i2/dcm2niix(pigz) .nii.gz:      {r('i2-.nii.gz', 'dcm2niix(pigz)-.nii.gz'):.2f}  (target <= 0.7)")
print(f"ratio i2/dcm2niix(zlib) .nii.gz:      {r('i2-.nii.gz', 'dcm2niix(zlib)-.nii.gz'):.2f}")
PY
rm -f /tmp/i2-bench-*
