#!/usr/bin/env bash
# Benchmark: DICOM TLS send, i2 send --tls vs DCMTK `storescu +tls`, both into `storescp +tls` (TLS 1.2+,
# client certificates required), the same generated 300-slice 512x512 CT in the same run; target >= 1.0x.
# Also plain i2 send for the cost of TLS. Release build (release.sh), RUNS runs each (default 3); prints
# medians, the ratio and each sender's peak memory (RSS). Certificates are made here with openssl; every
# process runs on 127.0.0.1 and free high ports and is stopped by its PID.
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

# run KEY MODE CMD...: CMD (the word PORT replaced by storescp's port) against a fresh storescp (MODE
# tls|plain) $runs times; prints the median time and the highest peak RSS.
run() {
    local key=$1 mode=$2; shift 2
    local times=() mems=() r t0 t1 cmd a
    for r in $(seq "$runs"); do
        scp_start "$mode"
        cmd=(); for a in "$@"; do cmd+=("${a//PORT/$port}"); done
        t0=$EPOCHREALTIME
        /usr/bin/time -f %M -o "$work/mem" timeout 600 "${cmd[@]}" >/dev/null 2>"$work/err" || { cat "$work/err" "$work/scp.log" >&2; exit 1; }
        t1=$EPOCHREALTIME
        scp_stop
        n=$(find "$work/scp" -type f | wc -l)
        [ "$n" -eq 300 ] || { echo "$key: stored $n of 300" >&2; cat "$work/err" >&2; exit 1; }
        times+=("$(python3 -c "print($t1 - $t0)")"); mems+=("$(tail -1 "$work/mem")")
    done
    python3 - "$key" "$work/median.$key" "${times[*]}" "${mems[*]}" <<'PY'
import sys, statistics
key, out, t, m = sys.argv[1], sys.argv[2], [float(x) for x in sys.argv[3].split()], [int(x) for x in sys.argv[4].split()]
med = statistics.median(t)
open(out, "w").write(str(med))
print(f"{key:<28} median {med:6.3f} s  (min {min(t):.3f}, max {max(t):.3f})  {300 / med:6.1f} instances/s  peak RSS {max(m) / 1024:6.1f} MiB")
PY
}

echo "300-slice 512x512 CT (~150 MiB) to storescp over loopback, $runs runs each, $(nproc) cores; i2: $i2"
run "i2 send --tls" tls "$i2" send --tls --tls-ca "$pki/ca.pem" --tls-cert "$pki/scu.pem" --tls-key "$pki/scu.key" --to STORESCP@127.0.0.1:PORT "$work/ct"
run "storescu +tls" tls storescu +tls "$pki/scu.key" "$pki/scu.pem" +cf "$pki/ca.pem" -aec STORESCP +sd 127.0.0.1 PORT "$work/ct"
run "i2 send (plain TCP)" plain "$i2" send --to STORESCP@127.0.0.1:PORT "$work/ct"
python3 -c "a=float(open('$work/median.i2 send --tls').read()); b=float(open('$work/median.storescu +tls').read()); print(f'{\"speed i2 send --tls / storescu +tls\":<28} {b / a:5.2f}x  (target >= 1.0x)')"
python3 -c "a=float(open('$work/median.i2 send --tls').read()); b=float(open('$work/median.i2 send (plain TCP)').read()); print(f'{\"cost of TLS for i2 send\":<28} {a / b:5.2f}x the plain time')"
