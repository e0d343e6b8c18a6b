#!/usr/bin/env bash
# Benchmark: the round trip on a generated 300-slice 512x512 CT (from Tests/Fixtures/dcmqi/ct-3slice/01.dcm).
# Orthanc (generated config, 127.0.0.1, free high ports, no storage compression) holds the CT and
# pushes it (POST /modalities/i2/store) to `i2 receive`; `i2 watch --quiet Q` hands the series to
# `i2 process --tool threshold {series} -o OUT | i2 send --to orthanc -`; the clock stops when the SEG
# is in Orthanc. Reported (medians of RUNS runs): push → SEG minus Q, split into receive (push until the
# last instance is stored), watch's hand-over lag (beyond Q), i2 process (of which the threshold step,
# the "tool"), send (after process ended), and Orthanc indexing/poll lag; i2's own overhead = total -
# Q - tool; peak memory of receive and watch (VmHWM from /proc) and of process and send (/usr/bin/time).
# Target: i2's own overhead under 3 s. Every process is started here and stopped by its PID.
# Usage: bash Tests/Benchmarks/workflow.sh [RUNS [QUIET]]   (I2_SCRATCH=dir: swift build --scratch-path dir)
set -euo pipefail
cd "$(dirname "$0")/../.."
runs=${1:-3}
quiet=${2:-2}
scratch=${I2_SCRATCH:-.build}
swift build -c release --static-swift-stdlib --scratch-path "$scratch" >/dev/null
bin=$PWD/$scratch/release
orthanc=$(command -v Orthanc || echo /usr/sbin/Orthanc)
[ -x "$orthanc" ] || { echo "Orthanc missing: apt-get install -y orthanc" >&2; exit 1; }
for t in curl jq storescu; do
    command -v $t >/dev/null || { echo "$t missing: bash scripts/install-deps.sh (apt-get install -y curl jq dcmtk)" >&2; exit 1; }
done
[ -x /usr/bin/time ] || { echo "/usr/bin/time missing: apt-get install -y time" >&2; exit 1; }
[ -x .venv/bin/python3 ] || { echo ".venv missing: bash scripts/install-deps.sh" >&2; exit 1; }

work=$(mktemp -d /tmp/i2-flowbench.XXXXXX)
pids=()
cleanup() {
    local p
    for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
    for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
    rm -rf "$work"
}
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
until_ok() {  # until_ok SECONDS CMD...: retries CMD every 0.1 s until it succeeds; fails after SECONDS
    local end=$((SECONDS + $1)); shift
    until "$@" >/dev/null 2>&1; do [ $SECONDS -lt $end ] || return 1; sleep 0.1; done
}
stop() {  # stop PID: SIGTERM, then SIGKILL after 10 s; reaped
    kill -TERM "$1" 2>/dev/null || true
    for _ in $(seq 100); do kill -0 "$1" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$1" 2>/dev/null || true
    wait "$1" 2>/dev/null || true
}
hwm() { awk '/^VmHWM/ { print $2 }' "/proc/$1/status"; }   # peak RSS in KiB of a live process

.venv/bin/python3 Tests/Tools/make_series.py Tests/Fixtures/dcmqi/ct-3slice/01.dcm "$work/ct" --slices 300 >/dev/null

# Orthanc, with i2 as modality "i2". TCP_NODELAY=1: DCMTK (inside Orthanc) otherwise leaves Nagle on,
# about 40 ms per C-STORE on loopback, which is Orthanc's cost, not i2's.
rx_port=$(free_port); http=$(free_port); dicom=$(free_port); api=http://127.0.0.1:$http
mkdir -p "$work/orthanc"
cat > "$work/orthanc/orthanc.json" <<EOF
{ "Name": "i2-flowbench", "StorageDirectory": "$work/orthanc/db", "IndexDirectory": "$work/orthanc/db",
  "HttpPort": $http, "DicomPort": $dicom, "DicomAet": "ORTHANC", "RemoteAccessAllowed": false,
  "AuthenticationEnabled": false, "StorageCompression": false, "Plugins": [],
  "DicomModalities": { "i2": [ "I2", "127.0.0.1", $rx_port ] } }
EOF
TCP_NODELAY=1 "$orthanc" "$work/orthanc/orthanc.json" >"$work/orthanc/log" 2>&1 &
pids+=($!)
until_ok 30 curl -sf "$api/system" || { tail "$work/orthanc/log" >&2; exit 1; }
TCP_NODELAY=1 storescu -aec ORTHANC +sd 127.0.0.1 "$dicom" "$work/ct" >/dev/null 2>"$work/scu.err" || { cat "$work/scu.err" >&2; exit 1; }
study=$(curl -sf "$api/studies" | jq -r '.[0]')
[ "$(curl -sf "$api/studies/$study/instances" | jq length)" -eq 300 ] || { echo "Orthanc did not store the 300 slices" >&2; exit 1; }
echo "{ \"orthanc\": \"ORTHANC@127.0.0.1:$dicom\" }" > "$work/nodes.json"
export I2_NODES=$work/nodes.json PATH="$bin:$PATH"

seg_id() { curl -sf "$api/tools/find" -d '{"Level": "Series", "Query": {"Modality": "SEG"}}' | jq -r '.[0] // empty'; }
now() { echo "$EPOCHREALTIME"; }

# One run: fresh receive root, receiver and watcher; prints the figures as one line of seconds/KiB.
run() {
    local root=$work/root out=$work/out t=$work/t
    rm -rf "$root" "$out" "$t"; mkdir -p "$t"
    i2 receive --bind 127.0.0.1 --port "$rx_port" --allow ORTHANC "$root" >/dev/null 2>"$work/rx.err" &
    local rx=$!; pids+=("$rx")
    until_ok 20 grep -q "listening as" "$work/rx.err" || { cat "$work/rx.err" >&2; exit 1; }
    # --keep-work keeps tool.log, where i2 process writes how long the tool step took.
    local cmd="date +%s.%N > $t/start; /usr/bin/time -f '%e %M' -o $t/process i2 process --force --keep-work --tool threshold {series} -o $out | /usr/bin/time -f '%e %M' -o $t/send i2 send --to orthanc -"
    i2 watch --quiet "$quiet" --exec "$cmd" "$root" 2>"$work/watch.err" &
    local watch=$!; pids+=("$watch")
    sleep 0.5
    local t0 t1 seg=""
    t0=$(now)
    curl -sf -X POST "$api/modalities/i2/store" -d "$study" >/dev/null || { tail "$work/orthanc/log" >&2; exit 1; }
    for _ in $(seq $(((quiet + 120) * 50))); do seg=$(seg_id) && [ -n "$seg" ] && break; sleep 0.02; done
    t1=$(now)
    [ -n "$seg" ] || { echo "no SEG in Orthanc:" >&2; cat "$work/watch.err" "$root"/*/*/*/.i2-watch-*.log >&2; exit 1; }
    local rx_kib watch_kib last
    rx_kib=$(hwm "$rx"); watch_kib=$(hwm "$watch")
    last=$(find "$root" -name '*.dcm' -printf '%C@\n' | sort -n | tail -1)   # the last instance's rename
    [ "$(find "$root" -name '*.dcm' | wc -l)" -eq 300 ] || { echo "i2 receive stored fewer than 300" >&2; exit 1; }
    stop "$watch"; stop "$rx"
    curl -sf -X DELETE "$api/series/$seg" >/dev/null
    local tool
    tool=$(sed -n 's/^=== i2 process: tool threshold ran in \([0-9.]*\) s$/\1/p' "$out"/.i2-work/*/tool.log)
    read -r p_s p_kib < "$t/process"; read -r s_s s_kib < "$t/send"
    echo "$t0 $t1 $last $(cat "$t/start") $p_s $p_kib $s_s $s_kib ${tool:-nan} $rx_kib $watch_kib"
}

echo "300-slice 512x512 CT ($(du -sm "$work/ct" | cut -f1) MB) Orthanc → i2 → Orthanc, threshold tool, --quiet $quiet, $runs runs, $(nproc) cores"
for r in $(seq "$runs"); do run; done > "$work/runs"
python3 - "$quiet" "$work/runs" <<'PY'
import sys, statistics as st
q = float(sys.argv[1])
rows = [list(map(float, l.split())) for l in open(sys.argv[2]) if l.strip()]
def med(f): return st.median(f(r) for r in rows)
t0, t1, last, start, p, pk, s, sk, tool, rxk, wk = range(11)
total    = med(lambda r: r[t1] - r[t0] - q)
receive  = med(lambda r: r[last] - r[t0])
handover = med(lambda r: r[start] - r[last] - q)
process  = med(lambda r: r[p])
toolstep = med(lambda r: r[tool])
send     = med(lambda r: r[s] - r[p])      # send runs alongside process and has work only after it
rest     = med(lambda r: (r[t1] - r[t0] - q) - (r[last] - r[t0]) - (r[start] - r[last] - q) - r[s])
own      = med(lambda r: r[t1] - r[t0] - q - r[tool])
print(f"push → SEG in Orthanc, minus quiet {q:g} s: {total:6.2f} s  (median; runs: " + ", ".join(f"{r[t1]-r[t0]-q:.2f}" for r in rows) + ")")
print(f"  receive (push → last instance stored):   {receive:6.2f} s   peak RSS {max(r[rxk] for r in rows)/1024:6.1f} MiB")
print(f"  watch hand-over lag beyond the quiet:    {handover:6.2f} s   peak RSS {max(r[wk] for r in rows)/1024:6.1f} MiB")
print(f"  i2 process:                              {process:6.2f} s   peak RSS {max(r[pk] for r in rows)/1024:6.1f} MiB")
print(f"    of which the threshold step (tool):    {toolstep:6.2f} s   (i2 process times its steps in tool.log: series read, tool, DICOM written)")
print(f"  i2 send (after process ended):           {send:6.2f} s   peak RSS {max(r[sk] for r in rows)/1024:6.1f} MiB")
print(f"  shell, Orthanc indexing, poll:           {rest:6.2f} s")
print(f"i2's own overhead (total - tool):          {own:6.2f} s   target < 3 s: {'met' if own < 3 else 'NOT met'}")
PY
