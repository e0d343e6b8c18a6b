#!/usr/bin/env bash
# Soak: i2 receive serving one legitimate storescu sending 300 instances while 50 hostile peers
# (Tests/Tools/hostile_peer.py swarm: slowloris association requests, request-then-reset, idle
# associations, garbage PDUs; from 127.0.0.2-127.0.0.9, each reconnecting when dropped) hold
# connections. Prints the stored count, an integrity check (every stored data set byte for byte the
# one sent), and receive's open descriptors and RSS at baseline, under attack and afterwards.
# Exit status 1 when fewer than 300 are stored intact or the descriptors do not return to baseline.
# Every process is started here, on loopback and a free high port, and stopped by its PID.
# Usage: bash Tests/Benchmarks/receive-soak.sh [INSTANCES] [PEERS]
#        (CONFIG=release for a release build; default debug, which is what the tests use)
set -euo pipefail
cd "$(dirname "$0")/../.."
n=${1:-300}
peers=${2:-50}
config=${CONFIG:-debug}
swift build -c "$config" >/dev/null
i2=$PWD/.build/$config/i2
for t in storescu; do command -v $t >/dev/null || { echo "$t missing: apt-get install -y dcmtk" >&2; exit 1; }; done
[ -x .venv/bin/python3 ] || { echo ".venv missing: bash scripts/install-deps.sh" >&2; exit 1; }
py=$PWD/.venv/bin/python3

work=$(mktemp -d /tmp/i2-soak.XXXXXX)
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill -KILL "$p" 2>/dev/null || true; done
    rm -rf "$work"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
fds() { ls "/proc/$1/fd" | wc -l; }
rss() { awk '/^VmRSS/ {print $2 " kB"}' "/proc/$1/status"; }
stop() {
    kill -TERM "$1" 2>/dev/null || true
    for _ in $(seq 100); do kill -0 "$1" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$1" 2>/dev/null || true
    wait "$1" 2>/dev/null || true
}

$py Tests/Tools/make_series.py Tests/Fixtures/dcmqi/ct-3slice/01.dcm "$work/ct" --slices "$n" --size 256 --seed 7 >/dev/null

port=$(free_port)
"$i2" receive --bind 127.0.0.1 --port "$port" "$work/root" >/dev/null 2>"$work/rx.err" &
rx=$!; pids+=("$rx")
for _ in $(seq 200); do grep -q "listening as" "$work/rx.err" && break; sleep 0.1; done
grep -q "listening as" "$work/rx.err" || { cat "$work/rx.err" >&2; exit 1; }
sleep 0.5
fd0=$(fds "$rx"); rss0=$(rss "$rx")

$py Tests/Tools/hostile_peer.py swarm "$port" "$peers" 3600 >"$work/swarm.out" 2>&1 &
swarm=$!; pids+=("$swarm")
sleep 3
fd1=$(fds "$rx"); rss1=$(rss "$rx")

# The legitimate sender, as a PACS does: retried while the node answers "rejected, transient".
# -xi: stored as sent (implicit VR, like the generated files), so the data sets compare byte for byte.
start=$EPOCHREALTIME
tries=0
until storescu -xi -aec I2 -aet LEGIT +sd 127.0.0.1 "$port" "$work/ct" >"$work/scu.out" 2>&1; do
    tries=$((tries + 1))
    grep -q "Rejected Transient\|Local Limit Exceeded" "$work/scu.out" && [ $tries -lt 120 ] || break
    sleep 1
done
seconds=$(python3 -c "print(f'{$EPOCHREALTIME - $start:.1f}')")
fd2=$(fds "$rx"); rss2=$(rss "$rx")
stop "$swarm"

# Back to baseline: the hostile connections are closed; give receive its timeouts to notice.
for _ in $(seq 600); do [ "$(fds "$rx")" -le "$fd0" ] && break; sleep 0.1; done
fd3=$(fds "$rx"); rss3=$(rss "$rx")

stored=$(find "$work/root" -name '*.dcm' -not -path '*/.*' | wc -l)
intact=$($py - "$work/ct" "$work/root" <<'EOF'
import os, sys, pydicom
def data_set(p):
    b = open(p, "rb").read()
    gl = int.from_bytes(b[140:144], "little")
    return b[144 + gl:]
sent = {}
for n in os.listdir(sys.argv[1]):
    p = os.path.join(sys.argv[1], n)
    sent[str(pydicom.dcmread(p, stop_before_pixels=True).SOPInstanceUID)] = p
ok = 0
for d, _, files in os.walk(sys.argv[2]):
    if "/." in d:
        continue
    for f in files:
        if f.endswith(".dcm") and f[:-4] in sent and data_set(os.path.join(d, f)) == data_set(sent[f[:-4]]):
            ok += 1
print(ok)
EOF
)
stop "$rx"

echo "receive soak: $n instances from one storescu ($((tries)) transient rejection(s) first, ${seconds} s) while $peers hostile peers held connections"
echo "  hostile connections made: $(tail -1 "$work/swarm.out")"
echo "  stored: $stored of $n, intact (data set byte for byte as sent): $intact"
echo "  receive fds: baseline $fd0, under attack $fd1, after the transfer $fd2, after the peers left $fd3"
echo "  receive RSS: baseline $rss0, under attack $rss1, after the transfer $rss2, after the peers left $rss3"
echo "  receive log: $(grep -c 'evicted' "$work/rx.err" || true) evictions, $(grep -c 'no complete PDU' "$work/rx.err" || true) stalled PDUs dropped, $(grep -c 'rejected' "$work/rx.err" || true) rejections"
[ "$stored" -eq "$n" ] && [ "$intact" -eq "$n" ] && [ "$fd3" -le "$fd0" ]
