#!/usr/bin/env bash
# Benchmark: DICOM TLS send, i2 send --tls vs DCMTK `storescu +tls`, both into `storescp +tls` (TLS 1.2+,
# client certificates required), the same generated 300-slice 512x512 CT in the same run; target >= 1.0x.
# Also plain i2 send for the cost of TLS. Release build (release.sh), RUNS runs each (default 3), the cases
# interleaved within each run; prints medians of wall and CPU time, the ratios and each sender's peak
# memory (RSS). Certificates are made here with openssl; every process runs on 127.0.0.1 and free high
# ports and is stopped by its PID.
# Usage: bash Tests/Benchmarks/tls.sh [RUNS]     (I2_SCRATCH=dir: swift build --scratch-path dir)
set -euo pipefail
cd "$(dirname "$0")/../.."
source Tests/Benchmarks/release.sh
runs=${1:-3}
for t in storescu storescp echoscu openssl; do
    command -v $t >/dev/null || { echo "$t missing: apt-get install -y dcmtk openssl" >&2; exit 1; }
done
[ -x "$py" ] || { echo ".venv missing: bash scripts/install-deps.sh" >&2; exit 1; }

work=$(mktemp -d /tmp/i2-tlsbench.XXXXXX)
scp_pid=
cleanup() { [ -n "$scp_pid" ] && kill -KILL "$scp_pid" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT
export TCP_NODELAY=1   # storescp's and storescu's Nagle off, as i2 sets it for itself

"$py" Tests/Tools/make_series.py Tests/Fixtures/dcmqi/ct-3slice/01.dcm "$work/ct" --slices 300 --size 512 --seed 1 >/dev/null
cat "$work"/ct/* >/dev/null   # page cache warm for both senders alike

pki=$work/pki; mkdir "$pki"
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$pki/ca.key" -out "$pki/ca.pem" -days 2 -subj "/CN=i2 bench CA" 2>/dev/null
for n in scp scu; do
    openssl req -newkey rsa:2048 -nodes -keyout "$pki/$n.key" -out "$pki/$n.csr" -subj "/CN=$n" 2>/dev/null
    openssl x509 -req -in "$pki/$n.csr" -CA "$pki/ca.pem" -CAkey "$pki/ca.key" -CAcreateserial -out "$pki/$n.pem" -days 2 2>/dev/null
done

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
scp_start() {  # storescp [+tls] into a fresh directory on a free port: port, scp_pid
    rm -rf "$work/scp"; mkdir "$work/scp"; port=$(free_port)
    if [ "$1" = tls ]; then
        storescp +tls "$pki/scp.key" "$pki/scp.pem" +cf "$pki/ca.pem" -aet STORESCP -od "$work/scp" "$port" >"$work/scp.log" 2>&1 &
    else
        storescp -aet STORESCP -od "$work/scp" "$port" >"$work/scp.log" 2>&1 &
    fi
    scp_pid=$!
    # Ready when it accepts a TCP connection (a TLS port answers no plain C-ECHO).
    for _ in $(seq 200); do python3 -c "import socket; socket.create_connection(('127.0.0.1', $port), 1)" 2>/dev/null && return; sleep 0.1; done
    echo "storescp did not start" >&2; exit 1
}
scp_stop() { kill -TERM "$scp_pid" 2>/dev/null || true; wait "$scp_pid" 2>/dev/null || true; scp_pid=; }

# The command of case KEY against storescp on PORT, as the array `cmd`; its storescp mode in `mode`.
command_of() {
    case $1 in
    i2-tls) mode=tls; cmd=("$i2" send --tls --tls-ca "$pki/ca.pem" --tls-cert "$pki/scu.pem" --tls-key "$pki/scu.key" --to "STORESCP@127.0.0.1:$2" "$work/ct") ;;
    storescu-tls) mode=tls; cmd=(storescu +tls "$pki/scu.key" "$pki/scu.pem" +cf "$pki/ca.pem" -aec STORESCP +sd 127.0.0.1 "$2" "$work/ct") ;;
    i2-plain) mode=plain; cmd=("$i2" send --to "STORESCP@127.0.0.1:$2" "$work/ct") ;;
    esac
}
cases=(i2-tls storescu-tls i2-plain)
# Each run times every case in turn (interleaved, so a busy machine slows them alike), each into a fresh
# storescp: wall time, CPU time (user + system) and peak RSS per case and run.
for r in $(seq "$runs"); do
    for key in "${cases[@]}"; do
        command_of "$key" 0; scp_start "$mode"; command_of "$key" "$port"
        t0=$EPOCHREALTIME
        /usr/bin/time -f "%M %U %S" -o "$work/mem" timeout 600 "${cmd[@]}" >/dev/null 2>"$work/err" || { cat "$work/err" "$work/scp.log" >&2; exit 1; }
        t1=$EPOCHREALTIME
        scp_stop
        n=$(find "$work/scp" -type f | wc -l)
        [ "$n" -eq 300 ] || { echo "$key: stored $n of 300" >&2; cat "$work/err" >&2; exit 1; }
        echo "$t0 $t1 $(tail -1 "$work/mem")" >> "$work/runs.$key"
    done
done

echo "300-slice 512x512 CT (~150 MiB) to storescp over loopback, $runs interleaved runs each, $(nproc) cores, load $(cut -d' ' -f1 /proc/loadavg); i2: $i2"
python3 - "$work" "${cases[@]}" <<'PY'
import sys, statistics
work, cases = sys.argv[1], sys.argv[2:]
label = {"i2-tls": "i2 send --tls", "storescu-tls": "storescu +tls", "i2-plain": "i2 send (plain TCP)"}
wall, cpu = {}, {}
for k in cases:
    rows = [l.split() for l in open(f"{work}/runs.{k}")]
    t = [float(r[1]) - float(r[0]) for r in rows]
    c = [float(r[3]) + float(r[4]) for r in rows]
    m = [int(r[2]) for r in rows]
    wall[k], cpu[k] = statistics.median(t), statistics.median(c)
    print(f"{label[k]:<22} median {wall[k]:6.3f} s (min {min(t):.3f}, max {max(t):.3f})  {300 / wall[k]:6.1f} instances/s  "
          f"CPU {cpu[k]:5.2f} s  peak RSS {max(m) / 1024:5.1f} MiB")
print(f"{'speed i2 send --tls / storescu +tls':<40} {wall['storescu-tls'] / wall['i2-tls']:5.2f}x  (target >= 1.0x)")
print(f"{'CPU storescu +tls / i2 send --tls':<40} {cpu['storescu-tls'] / cpu['i2-tls']:5.2f}x")
print(f"{'cost of TLS for i2 send (wall)':<40} {wall['i2-tls'] / wall['i2-plain']:5.2f}x the plain time")
PY
