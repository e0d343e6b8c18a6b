#!/usr/bin/env bash
# Benchmark: what --metrics-file costs and how fast i2 status is.
# 1. i2 receive receiving a generated 300-slice 512x512 CT from `TCP_NODELAY=1 storescu -xi` (one
#    association) without --metrics-file, with it at the default 5 s, and at 0.05 s (a rewrite every
#    few instances: the worst case); RUNS runs each, alternated, medians and instances/s.
# 2. The time of one rewrite (i2_metrics_write_duration_seconds, sampled over many rewrites): receive's,
#    and watch's on a root of 2,000 series (its rewrite reads every series' state for the gauges).
# 3. i2 status, --json and --health on that root of 2,000 series (states made by a real i2 watch).
# Release build (release.sh). Every process is started here, on 127.0.0.1 and free high ports, and
# stopped by its PID. Usage: bash Tests/Benchmarks/metrics.sh [RUNS]
set -euo pipefail
cd "$(dirname "$0")/../.."
runs=${1:-5}
source Tests/Benchmarks/release.sh
command -v storescu >/dev/null || { echo "storescu missing: apt-get install -y dcmtk" >&2; exit 1; }
[ -x "$py" ] || { echo ".venv missing: bash scripts/install-deps.sh" >&2; exit 1; }

work=$(mktemp -d /tmp/i2-metricsbench.XXXXXX)
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill -KILL "$p" 2>/dev/null || true; done
    rm -rf "$work"
}
trap cleanup EXIT
export TCP_NODELAY=1

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
stop() {
    kill -TERM "$1" 2>/dev/null || true
    for _ in $(seq 100); do kill -0 "$1" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$1" 2>/dev/null || true
    wait "$1" 2>/dev/null || true
}
median() { sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
# gauge FILE NAME: the value of an unlabelled sample
gauge() { awk -v n="$2" '$1 == n { print $2 }' "$1" 2>/dev/null; }

"$py" Tests/Tools/make_series.py Tests/Fixtures/dcmqi/ct-3slice/01.dcm "$work/ct" --slices 300 --size 512 --seed 1 >/dev/null
cat "$work"/ct/* >/dev/null

# receive_once MODE: seconds for 300 instances (storescu start to its end); MODE: none, 5, 0.05
receive_once() {
    local root=$work/root port opts=()
    rm -rf "$root"; port=$(free_port)
    [ "$1" = none ] || opts=(--metrics-file "$work/rx.prom" --metrics-interval "$1")
    "$i2" receive --bind 127.0.0.1 --port "$port" "${opts[@]}" "$root" >/dev/null 2>"$work/rx.err" &
    local pid=$!; pids+=("$pid")
    until grep -q "listening as" "$work/rx.err"; do kill -0 "$pid" 2>/dev/null || { cat "$work/rx.err" >&2; exit 1; }; sleep 0.05; done
    local t0=$EPOCHREALTIME
    storescu -xi -aec I2 +sd 127.0.0.1 "$port" "$work/ct" >/dev/null 2>&1
    local t1=$EPOCHREALTIME
    stop "$pid"
    [ "$(find "$root" -name '*.dcm' -not -path '*/.*' | wc -l)" = 300 ] || { echo "receive stored $(find "$root" -name '*.dcm' | wc -l) of 300" >&2; exit 1; }
    echo "$t1 - $t0" | bc -l
}

echo "== i2 receive, 300 x 512x512 CT over one association, $runs runs each (alternated)"
: > "$work/t.none"; : > "$work/t.5"; : > "$work/t.0.05"
for _ in $(seq "$runs"); do
    for m in none 5 0.05; do receive_once "$m" >> "$work/t.$m"; done
done
for m in none 5 0.05; do
    med=$(median < "$work/t.$m")
    label=$([ "$m" = none ] && echo "without --metrics-file" || echo "--metrics-file, every $m s")
    printf '%-34s median %.3f s  %5.0f instances/s  (runs: %s)\n' "$label" "$med" "$(echo "300 / $med" | bc -l)" "$(tr '\n' ' ' < "$work/t.$m")"
done

# sample_rewrites FILE N: N distinct values of i2_metrics_write_duration_seconds, in ms, median
sample_rewrites() {
    local last="" n=0
    : > "$work/rw"
    while [ $n -lt "$2" ]; do
        local v; v=$(gauge "$1" i2_metrics_write_duration_seconds)
        if [ -n "$v" ] && [ "$v" != "$last" ]; then echo "$v * 1000" | bc -l >> "$work/rw"; last=$v; n=$((n + 1)); fi
        sleep 0.02
    done
    printf 'median %.3f ms, max %.3f ms over %d rewrites' "$(median < "$work/rw")" "$(sort -g "$work/rw" | tail -1)" "$2"
}

echo "== one rewrite"
port=$(free_port); rm -rf "$work/root"
"$i2" receive --bind 127.0.0.1 --port "$port" --metrics-file "$work/rx.prom" --metrics-interval 0.05 "$work/root" >/dev/null 2>"$work/rx.err" &
pid=$!; pids+=("$pid")
until grep -q "listening as" "$work/rx.err"; do kill -0 "$pid" 2>/dev/null || { cat "$work/rx.err" >&2; exit 1; }; sleep 0.05; done
storescu -xi -aec I2 +sd 127.0.0.1 "$port" "$work/ct" >/dev/null 2>&1
echo "receive (render ~25 samples, heartbeat and metrics file): $(sample_rewrites "$work/rx.prom" 50)"
stop "$pid"

# A root of 2,000 series (2 small files each) with real watch states: 1,980 done, 20 failed.
big=$work/big
for s in $(seq 2000); do
    d=$big/P$((s % 20))/ST$((s % 40))/S$s
    mkdir -p "$d"; echo a > "$d/1.dcm"; echo b > "$d/2.dcm"
done
t0=$EPOCHREALTIME
"$i2" watch --once --quiet 0 --retries 0 --jobs 2 --exec 'n=${I2_SERIES_DIR##*/S}; [ $((n % 100)) -eq 0 ] && exit 3; true' "$big" >/dev/null 2>&1 || true
printf '(watch --once over the 2,000 series, to make their states: %.1f s)\n' "$(echo "$EPOCHREALTIME - $t0" | bc -l)"

"$i2" watch --quiet 60 --metrics-file "$work/w.prom" --metrics-interval 0.05 --exec 'n=${I2_SERIES_DIR##*/S}; [ $((n % 100)) -eq 0 ] && exit 3; true' "$big" >/dev/null 2>"$work/w.err" &
pid=$!; pids+=("$pid")
until [ -s "$work/w.prom" ]; do kill -0 "$pid" 2>/dev/null || { cat "$work/w.err" >&2; exit 1; }; sleep 0.05; done
echo "watch on 2,000 series (reads every state for the gauges): $(sample_rewrites "$work/w.prom" 30)"
stop "$pid"
grep '^i2_watch_series{' "$work/w.prom" | tr '\n' ' '; echo

echo "== i2 status on 2,000 series, $runs runs each"
for args in "" "--json" "--health --max-failed 100"; do
    : > "$work/st"
    for _ in $(seq "$runs"); do
        t0=$EPOCHREALTIME
        # shellcheck disable=SC2086
        "$i2" status $args "$big" >"$work/st.out" 2>/dev/null || true
        echo "$EPOCHREALTIME - $t0" | bc -l >> "$work/st"
    done
    printf 'i2 status %-26s median %.3f s  (%d lines)\n' "$args" "$(median < "$work/st")" "$(wc -l < "$work/st.out")"
done
