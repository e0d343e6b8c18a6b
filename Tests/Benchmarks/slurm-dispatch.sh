#!/usr/bin/env bash
# Benchmark: per-series overhead of `i2 watch --dispatch slurm` against local exec, on the watch path.
# N series (one fixture slice each) under a fresh root; `i2 watch --once --quiet 0 --exec true` hands
# every one over, locally and as Slurm jobs on a private one-node cluster (Tests/Tools/slurm-cluster.sh,
# 127.0.0.1, started here and stopped by PID). The command does nothing, so the time is i2's and Slurm's
# own: sequential (--jobs 1: the latency one series pays) and all in flight (--jobs N: throughput,
# bounded on Slurm by the node's CPUs). Prints seconds per series for both and the ratio (medians of RUNS).
# Usage: bash Tests/Benchmarks/slurm-dispatch.sh [N [RUNS]]   (as root; I2_SCRATCH=dir: swift build --scratch-path dir)
set -euo pipefail
cd "$(dirname "$0")/../.."
n=${1:-20}
runs=${2:-3}
. Tests/Benchmarks/release.sh

work=$(mktemp -d /tmp/i2-slurmbench.XXXXXX)
cleanup() { bash Tests/Tools/slurm-cluster.sh stop "$work/cluster" >/dev/null 2>&1 || :; rm -rf "$work"; }
trap cleanup EXIT
bash Tests/Tools/slurm-cluster.sh start "$work/cluster"
. "$work/cluster/env"

# One run: a fresh root of N series, i2 watch --once to the end; prints its wall seconds.
run() {   # run JOBS [watch options...]
    local jobs=$1; shift
    rm -rf "$work/root"
    for ((i = 1; i <= n; i++)); do
        mkdir -p "$work/root/P/ST/S$i"
        cp Tests/Fixtures/dcmqi/ct-3slice/01.dcm "$work/root/P/ST/S$i/01.dcm"
    done
    local t0 t1
    t0=$(date +%s.%N)
    "$i2" watch --once --quiet 0 --poll 0.05 --jobs "$jobs" --exec true "$@" "$work/root" 2>"$work/watch.log" ||
        { cat "$work/watch.log" >&2; echo "slurm-dispatch: i2 watch failed" >&2; exit 1; }
    t1=$(date +%s.%N)
    [ "$(grep -c ': done (' "$work/watch.log")" -eq "$n" ] || { cat "$work/watch.log" >&2; echo "slurm-dispatch: not $n series done" >&2; exit 1; }
    awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.4f\n", b - a }'
}
median() { sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

echo "i2 watch --once, $n series, command 'true', median of $runs runs (seconds per series)"
for jobs in 1 "$n"; do
    local_s=$(for ((r = 0; r < runs; r++)); do run "$jobs"; done | median)
    slurm_s=$(for ((r = 0; r < runs; r++)); do run "$jobs" --dispatch slurm; done | median)
    awk -v j="$jobs" -v n="$n" -v l="$local_s" -v s="$slurm_s" 'BEGIN {
        printf "--jobs %-3s local %.4f s/series   slurm %.4f s/series   ratio %.1fx   (slurm - local: %.3f s/series)\n",
               j, l / n, s / n, s / l, (s - l) / n }'
done
