#!/usr/bin/env bash
# Benchmark: an archive-scale batch, 2,000 small generated series (Tests/Tools/make_many_series.py:
# 64x64, 4 slices each, from the fixture CT slice), converted to .nii.gz by
#   - one process:            i2 convert --manifest m.txt OUT/
#   - xargs -P 1, 2, 4:       one i2 convert per series (the usual script around a converter)
#   - Slurm arrays of 1, 2, 4 and 8 tasks on a private one-node cluster (Tests/Tools/slurm-cluster.sh),
#     each task `i2 convert --manifest m.txt OUT/` picking its shard from SLURM_ARRAY_TASK_*;
#     timed from sbatch until every task has written its exit status, so the scheduler's delays count
#   - a re-run of the one-process case over its finished output (everything skipped: the done-records)
# Each case starts from an empty OUT and runs RUNS times (default 3); the median wall time is printed
# with series per second. Every case's output tree is compared byte for byte with the first one-process
# run (a mismatch fails the benchmark). The machine may be shared: compare within one run.
# Usage: bash Tests/Benchmarks/manifest.sh [RUNS]   (COUNT: series, default 2000; I2_SCRATCH: swift build
# scratch path; DATA: where the generated series are kept between runs, default /tmp/i2-manifest-bench)
set -euo pipefail
cd "$(dirname "$0")/../.."
runs=${1:-3}
count=${COUNT:-2000}
source Tests/Benchmarks/release.sh   # $i2 (release build), $py
command -v sbatch >/dev/null || { echo "Slurm missing: apt-get install -y slurm-wlm slurm-client slurmdbd munge mariadb-server" >&2; exit 1; }

data=${DATA:-/tmp/i2-manifest-bench}
mkdir -p "$data"
"$py" Tests/Tools/make_many_series.py Tests/Fixtures/dcmqi/ct-3slice/01.dcm "$data/series" "$count" --size 64 --slices 4 >"$data/m.txt"
work=$(mktemp -d)
cluster=$work/slurm
harness=$PWD/Tests/Tools/slurm-cluster.sh   # absolute: the cases run in $work
trap 'bash "$harness" stop "$cluster" >/dev/null || :; rm -rf "$work"' EXIT
bash "$harness" start "$cluster"
source "$cluster/env"
cp "$data/m.txt" "$work/m.txt"
cd "$work"

# Runs "$@" with OUT set to a fresh directory; prints wall seconds.
timed() {
    rm -rf out && mkdir out
    local t0 t1
    t0=$(date +%s.%N)
    "$@" >/dev/null
    t1=$(date +%s.%N)
    if [ -f t_end ]; then t1=$(cat t_end); rm t_end; fi   # a case that waits for more than its work
    echo "$t1 - $t0" | bc
}

single() { "$i2" convert --manifest m.txt out/ 2>>log.txt; }
xargs_p() { xargs -a m.txt -P "$1" -I{} "$i2" convert {} out/{}/ 2>>log.txt >/dev/null; }
slurm_array() {
    local job
    rm -rf ended && mkdir ended
    # Each task leaves its exit status in ended/: polling that costs nothing, where polling squeue every
    # 50 ms (a munge-authenticated RPC to slurmctld each) took a good part of the 2 cores from the tasks.
    job=$(sbatch --parsable --array=1-"$1" --output=/dev/null --error="$work/slurm-%a.err" --chdir="$work" \
        --wrap "$i2 convert --manifest m.txt out/; echo \$? > ended/\$SLURM_ARRAY_TASK_ID")
    job=${job%%;*}
    while [ "$(find ended -type f | wc -l)" -lt "$1" ]; do sleep 0.05; done
    date +%s.%N >t_end
    while [ -n "$(squeue -h -j "$job" -o %i 2>/dev/null)" ]; do sleep 0.5; done   # the tasks' own end: not timed
    if grep -h "error" "$work"/slurm-*.err >&2 || grep -vqx 0 ended/*; then echo "a task failed" >&2; return 1; fi
    rm -f "$work"/slurm-*.err
}
rerun() { "$i2" convert --manifest m.txt done/ 2>>log.txt; }

# The reference tree (and the re-run's finished output).
"$i2" convert --manifest m.txt done/ 2>log.txt >/dev/null
same() {   # the case's output equals the reference, outputs (.nii.gz, .json) and done-records alike
    diff -rq done out >/dev/null || { echo "output of $1 differs from the one-process run" >&2; diff -rq done out | head >&2; exit 1; }
}

printf '%-26s %10s %12s\n' case "median s" "series/s"
report() {   # report NAME CMD...: RUNS timed runs, median
    local name=$1 t times=(); shift
    for ((r = 0; r < runs; r++)); do
        t=$(timed "$@")
        times+=("$t")
        [ "$name" = "re-run, all done" ] || [[ $name == xargs* ]] || same "$name"
    done
    local median
    median=$(printf '%s\n' "${times[@]}" | sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }')
    printf '%-26s %10.2f %12.0f\n' "$name" "$median" "$(echo "$count / $median" | bc -l)"
}
report "one process" single
for p in 1 2 4; do report "xargs -P $p (per series)" xargs_p "$p"; done
for n in 1 2 4 8; do report "slurm array, $n tasks" slurm_array "$n"; done
report "re-run, all done" rerun
echo "machine: $(nproc) cores; slurm node CPUs: $(sinfo -h -o %c)"
