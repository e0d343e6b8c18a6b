#!/usr/bin/env bash
# Benchmark: i2 receive vs DCMTK storescp (and Orthanc, when installed) receiving a generated 300-slice
# 512x512 CT from `TCP_NODELAY=1 storescu -xi` over loopback (one association; and i2 with 4 parallel
# ones); i2 receive's peak RSS at 300 and 1200 instances; i2 send vs storescu sending to storescp.
# Release build, RUNS runs each (default 3); prints medians, instances/s, ratios and targets.
# Every process is started here, on 127.0.0.1 and free high ports, and stopped by its PID.
# Usage: bash Tests/Benchmarks/network.sh [RUNS]     (SCRATCH=dir: swift build --scratch-path dir)
set -euo pipefail
cd "$(dirname "$0")/../.."
runs=${1:-3}
scratch=${SCRATCH:-.build}
swift build -c release --static-swift-stdlib --scratch-path "$scratch" >/dev/null
i2=$PWD/$scratch/release/i2
for t in storescu storescp echoscu; do
    command -v $t >/dev/null || { echo "$t missing: apt-get install -y dcmtk" >&2; exit 1; }
done
[ -x .venv/bin/python3 ] || { echo ".venv missing: bash scripts/install-deps.sh" >&2; exit 1; }
orthanc=$(command -v Orthanc || true)

work=$(mktemp -d /tmp/i2-netbench.XXXXXX)
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill -KILL "$p" 2>/dev/null || true; done
    rm -rf "$work"
}
trap cleanup EXIT
export TCP_NODELAY=1

gen() { .venv/bin/python3 Tests/Tools/make_series.py Tests/Fixtures/dcmqi/ct-3slice/01.dcm "$1" --slices 300 --size 512 --seed "$2" >/dev/null; }
gen "$work/ct" 1
for s in 2 3 4; do gen "$work/ct$s" "$s"; done
cat "$work"/ct*/* >/dev/null   # page cache warm for every receiver alike

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
now() { echo "$EPOCHREALTIME"; }
# until_ok SECONDS CMD...: retries CMD every 0.1 s until it succeeds; fails after SECONDS.
until_ok() {
    local end=$((SECONDS + $1)); shift
    until "$@" >/dev/null 2>&1; do [ $SECONDS -lt $end ] || return 1; sleep 0.1; done
}
# stop PID: SIGTERM, up to 10 s, then SIGKILL; reaps it. Prints nothing.
stop() {
    kill -TERM "$1" 2>/dev/null || true
    for _ in $(seq 100); do kill -0 "$1" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$1" 2>/dev/null || true
    wait "$1" 2>/dev/null || true
}
count() { find "$1" -type f -name "${2:-*}" | wc -l; }
send() {  # send AET PORT FILES-OR-DIRS...: one storescu association, bounded
    local aet=$1 port=$2; shift 2
    timeout 600 storescu -xi -aec "$aet" +sd 127.0.0.1 "$port" "$@" >/dev/null 2>"$work/scu.err" || { cat "$work/scu.err" >&2; return 1; }
}

rx_opts=()   # extra i2 receive options of the next i2_start
# i2_start ROOT [MEMFILE]: i2 receive on a free port (under /usr/bin/time when MEMFILE is given);
# sets rx_port, rx_pid (i2 itself) and rx_wait (what to reap).
i2_start() {
    rm -rf "$1"; rx_port=$(free_port); : > "$work/rx.err"   # no stale "listening" line
    if [ -n "${2:-}" ]; then
        /usr/bin/time -f %M -o "$2" "$i2" receive --bind 127.0.0.1 --port "$rx_port" "${rx_opts[@]}" "$1" >/dev/null 2>"$work/rx.err" &
        rx_wait=$!; pids+=("$rx_wait")
        until_ok 10 pgrep -P "$rx_wait"; rx_pid=$(pgrep -P "$rx_wait"); pids+=("$rx_pid")
    else
        "$i2" receive --bind 127.0.0.1 --port "$rx_port" "${rx_opts[@]}" "$1" >/dev/null 2>"$work/rx.err" &
        rx_pid=$!; rx_wait=$rx_pid; pids+=("$rx_pid")
    fi
    until_ok 20 grep -q "listening as" "$work/rx.err" || { cat "$work/rx.err" >&2; exit 1; }
}
i2_stop() {  # SIGTERM to i2 only (/usr/bin/time must live to write its report), then reap
    kill -TERM "$rx_pid" 2>/dev/null || true
    for _ in $(seq 100); do kill -0 "$rx_wait" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$rx_pid" 2>/dev/null || true
    wait "$rx_wait" 2>/dev/null || true
}

scp_start() {  # storescp into a fresh directory on a free port: scp_port, scp_pid
    rm -rf "$work/scp"; mkdir "$work/scp"; scp_port=$(free_port)
    storescp ${1:-} -aet STORESCP -od "$work/scp" "$scp_port" >/dev/null 2>&1 &
    scp_pid=$!; pids+=("$scp_pid")
    until_ok 20 echoscu -aec STORESCP 127.0.0.1 "$scp_port" || { echo "storescp did not start" >&2; exit 1; }
}

orthanc_start() {  # Orthanc with a generated config and fresh storage: or_port, or_pid
    rm -rf "$work/orthanc"; mkdir -p "$work/orthanc"; or_port=$(free_port); local http; http=$(free_port)
    cat > "$work/orthanc/config.json" <<EOF
{ "Name": "i2-bench", "StorageDirectory": "$work/orthanc/storage", "IndexDirectory": "$work/orthanc/index",
  "HttpPort": $http, "DicomPort": $or_port, "DicomAet": "ORTHANC", "RemoteAccessAllowed": false,
  "AuthenticationEnabled": false, "Plugins": [], "DicomModalities": {} }
EOF
    "$orthanc" "$work/orthanc/config.json" >"$work/orthanc/log" 2>&1 &
    or_pid=$!; pids+=("$or_pid")
    until_ok 30 echoscu -aec ORTHANC 127.0.0.1 "$or_port" || { tail "$work/orthanc/log" >&2; exit 1; }
}

# Each case prints one elapsed time (seconds) per run; `expect` checks the count stored.
expect() { [ "$1" -eq "$2" ] || { echo "$3: stored $1 of $2" >&2; exit 1; }; }
case_i2() {
    i2_start "$work/root"; local t0; t0=$(now)
    send I2 "$rx_port" "$work/ct"; local t1; t1=$(now)
    i2_stop; expect "$(count "$work/root" '*.dcm')" 300 "i2 receive"; echo "$t0 $t1"
}
case_i2_nofsync() { rx_opts=(--no-fsync); case_i2; rx_opts=(); }
case_i2_parallel() {
    i2_start "$work/root"; local files=("$work"/ct/*.dcm) t0 t1 k p ps=()
    t0=$(now)
    for k in 0 1 2 3; do
        send I2 "$rx_port" $(for ((n = k; n < ${#files[@]}; n += 4)); do echo "${files[n]}"; done) & ps+=($!)
    done
    for p in "${ps[@]}"; do wait "$p"; done; t1=$(now)
    i2_stop; expect "$(count "$work/root" '*.dcm')" 300 "i2 receive (4 associations)"; echo "$t0 $t1"
}
case_storescp() {
    scp_start; local t0 t1; t0=$(now)
    send STORESCP "$scp_port" "$work/ct"; t1=$(now)
    stop "$scp_pid"; expect "$(count "$work/scp")" 300 "storescp"; echo "$t0 $t1"
}
case_orthanc() {
    orthanc_start; local t0 t1; t0=$(now)
    send ORTHANC "$or_port" "$work/ct"; t1=$(now)
    stop "$or_pid"; expect "$(count "$work/orthanc/storage")" 300 "Orthanc"; echo "$t0 $t1"
}
case_send_i2() {
    scp_start; local t0 t1; t0=$(now)
    timeout 600 "$i2" send --to "STORESCP@127.0.0.1:$scp_port" "$work/ct" >/dev/null 2>"$work/send.err" || { cat "$work/send.err" >&2; exit 1; }
    t1=$(now); stop "$scp_pid"; expect "$(count "$work/scp")" 300 "i2 send"; echo "$t0 $t1"
}
case_send_storescu() {
    scp_start; local t0 t1; t0=$(now)
    timeout 600 storescu -aec STORESCP +sd 127.0.0.1 "$scp_port" "$work/ct" >/dev/null 2>&1; t1=$(now)
    stop "$scp_pid"; expect "$(count "$work/scp")" 300 "storescu"; echo "$t0 $t1"
}

# measure KEY LABEL CASE: runs CASE $runs times; prints the median; keeps it in $work/median.KEY
measure() {
    local key=$1 label=$2 fn=$3 times=() r t0 t1
    for r in $(seq "$runs"); do
        $fn > "$work/times"   # in this shell: its PIDs stay known to the cleanup trap
        read -r t0 t1 < "$work/times"
        times+=("$(python3 -c "print($t1 - $t0)")")
    done
    python3 - "$label" "$work/median.$key" "${times[@]}" <<'PY'
import sys, statistics
label, out, t = sys.argv[1], sys.argv[2], [float(x) for x in sys.argv[3:]]
m = statistics.median(t)
open(out, "w").write(str(m))
print(f"{label:<44} median {m:6.3f} s  (min {min(t):.3f}, max {max(t):.3f})  {300 / m:7.1f} instances/s")
PY
}
ratio() { python3 -c "a=float(open('$work/median.$1').read()); b=float(open('$work/median.$2').read()); print(f'{\"$3\":<44} {b / a:5.2f}x  (target $4)')"; }

echo "300-slice 512x512 CT (~150 MiB), storescu -xi over loopback, $runs runs each, $(nproc) cores; i2: $i2"
echo "-- receive (i2: default settings, fsync on; storescp: default, no fsync)"
measure i2 "storescu -> i2 receive" case_i2
measure scp "storescu -> storescp" case_storescp
measure i2nofsync "storescu -> i2 receive --no-fsync" case_i2_nofsync
if [ -n "$orthanc" ]; then measure orthanc "storescu -> Orthanc" case_orthanc; else echo "Orthanc: not installed (apt-get install -y orthanc), skipped"; fi
measure i2par "4 x storescu (75 each) -> i2 receive" case_i2_parallel
ratio i2 scp "speed i2 / storescp, one association" ">= 1.0x"
ratio i2par scp "speed i2 (4 assoc.) / storescp (one)" ">= 1.5x"
ratio i2nofsync scp "speed i2 --no-fsync / storescp" "-"
[ -n "$orthanc" ] && ratio i2 orthanc "speed i2 / Orthanc, one association" "-"

echo "-- i2 receive peak memory (RSS), one association, stopped with SIGTERM"
for n in 300 1200; do
    i2_start "$work/root" "$work/mem"
    if [ $n = 300 ]; then send I2 "$rx_port" "$work/ct"; else send I2 "$rx_port" "$work/ct" "$work/ct2" "$work/ct3" "$work/ct4"; fi
    i2_stop; expect "$(count "$work/root" '*.dcm')" $n "i2 receive ($n)"
    echo "$(tail -1 "$work/mem")" > "$work/mem.$n"
    printf "%-44s %7.1f MiB\n" "peak RSS after $n instances" "$(python3 -c "print($(cat "$work/mem.$n") / 1024)")"
done
python3 -c "print(f'{\"growth 300 -> 1200 instances\":<44} {$(cat "$work/mem.1200") / $(cat "$work/mem.300"):5.2f}x  (target: flat, ~1.0x)')"

echo "-- send (to storescp, default settings)"
measure send_i2 "i2 send -> storescp" case_send_i2
measure send_scu "storescu -> storescp" case_send_storescu
ratio send_i2 send_scu "speed i2 send / storescu" ">= 1.0x"
