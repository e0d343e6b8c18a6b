#!/usr/bin/env bash
# The main job on a fresh Debian 12 machine: a CT pushed from a PACS comes back as a DICOM-SEG.
# Installs what is needed, builds i2 (release), starts Orthanc (generated config, 127.0.0.1, free high
# ports, i2 listed as a modality) and `i2 receive` + `i2 watch` on loopback, uploads the sample CT
# (Tests/Fixtures/dcmqi/ct-3slice) to Orthanc over REST, pushes it to i2, waits for the SEG that
# `i2 process --tool threshold | i2 send` returns, prints what happened and where to look, and stops
# everything it started (by PID). Results and logs stay in ${TMPDIR:-/tmp}/i2-demo.
# Usage: bash scripts/demo.sh [--wait]   (--wait: keep Orthanc and i2 running until Ctrl-C, so the
#        printed URL can be opened; without it the URL is dead once the script exits)
#        I2_SCRATCH=dir: swift build --scratch-path dir (default .build)
set -euo pipefail
cd "$(dirname "$0")/.."
keep=${1:-}
[ -z "$keep" ] || [ "$keep" = --wait ] || { echo "usage: bash scripts/demo.sh [--wait]" >&2; exit 2; }
quiet=2   # seconds without a new instance before a series counts as complete (production: 10)

say() { printf 'demo: %s\n' "$*" >&2; }
start=$SECONDS
scratch=${I2_SCRATCH:-.build}
# stdout carries only the SEG's URL: everything the install and the build print goes to stderr.
prepare() {
    bash scripts/install-deps.sh --demo
    swift build -c release --static-swift-stdlib --scratch-path "$scratch"
}
prepare >&2
export PATH="$PWD/$scratch/release:$PATH"   # the watch command below says plain `i2`
orthanc=$(command -v Orthanc || echo /usr/sbin/Orthanc)

demo=${TMPDIR:-/tmp}/i2-demo
rm -rf "$demo" && mkdir -p "$demo"/{incoming,results,orthanc}
pids=()
cleanup() {
    local p
    for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
    for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# free_port: a random high port nothing on 127.0.0.1 answers on.
free_port() {
    local p
    while :; do
        p=$((20000 + RANDOM % 40000))
        (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null || { echo "$p"; return; }
    done
}
# until_ok SECONDS CMD...: retries CMD every 0.1 s until it succeeds; fails after SECONDS.
until_ok() {
    local end=$((SECONDS + $1)); shift
    until "$@" >/dev/null 2>&1; do [ $SECONDS -lt $end ] || return 1; sleep 0.1; done
}
fail() { say "$1"; [ -z "${2:-}" ] || tail -n 20 "$2" >&2; exit 1; }

rx_port=$(free_port); http=$(free_port); dicom=$(free_port)
while [ "$http" = "$rx_port" ]; do http=$(free_port); done
while [ "$dicom" = "$rx_port" ] || [ "$dicom" = "$http" ]; do dicom=$(free_port); done
api=http://127.0.0.1:$http

# 1. i2 receive: the DICOM node Orthanc pushes to (only Orthanc's AE title may store).
i2 receive --bind 127.0.0.1 --port "$rx_port" --aet I2 --allow ORTHANC "$demo/incoming" \
    >"$demo/receive.out" 2>"$demo/receive.log" &
pids+=($!)
until_ok 20 grep -q "listening as" "$demo/receive.log" || fail "i2 receive did not start:" "$demo/receive.log"

# 2. Orthanc with i2 registered as modality "i2"; HTTP answers 127.0.0.1 only.
cat > "$demo/orthanc/orthanc.json" <<EOF
{
  "Name": "i2-demo",
  "StorageDirectory": "$demo/orthanc/db",
  "IndexDirectory": "$demo/orthanc/db",
  "HttpPort": $http,
  "DicomPort": $dicom,
  "DicomAet": "ORTHANC",
  "RemoteAccessAllowed": false,
  "AuthenticationEnabled": false,
  "Plugins": [],
  "DicomModalities": { "i2": [ "I2", "127.0.0.1", $rx_port ] }
}
EOF
"$orthanc" "$demo/orthanc/orthanc.json" >"$demo/orthanc/orthanc.log" 2>&1 &
pids+=($!)
until_ok 30 curl -sf "$api/system" || fail "Orthanc did not start:" "$demo/orthanc/orthanc.log"

# 3. i2 watch: each series quiet for $quiet s goes through the threshold tool, the SEG back to Orthanc.
cat > "$demo/nodes.json" <<EOF
{ "orthanc": { "aet": "ORTHANC", "host": "127.0.0.1", "port": $dicom } }
EOF
export I2_NODES=$demo/nodes.json
exec_cmd="i2 process --force --tool threshold {series} -o '$demo/results' | i2 send --to orthanc -"
i2 watch --quiet "$quiet" --exec "$exec_cmd" "$demo/incoming" 2>"$demo/watch.log" &
pids+=($!)

say "Orthanc $api (DICOM ORTHANC@127.0.0.1:$dicom) knows i2 as modality 'i2' = I2@127.0.0.1:$rx_port"
say "i2 watch $demo/incoming --quiet $quiet --exec \"$exec_cmd\""

# 4. The sample CT into Orthanc over REST, then pushed to i2 as a user would from Orthanc's UI.
for f in Tests/Fixtures/dcmqi/ct-3slice/*.dcm; do
    curl -sf -X POST "$api/instances" --data-binary @"$f" >/dev/null || fail "Orthanc refused $f" "$demo/orthanc/orthanc.log"
done
study=$(curl -sf "$api/studies" | jq -r '.[0]')
ct_series_uid=$(curl -sf "$api/studies/$study/series" | jq -r '.[0].MainDicomTags.SeriesInstanceUID')
say "uploaded 3 CT slices to Orthanc: study $api/studies/$study"
t0=$EPOCHREALTIME
curl -sf -X POST "$api/modalities/i2/store" -d "$study" >/dev/null || fail "Orthanc could not push to i2:" "$demo/orthanc/orthanc.log"
say "pushed the study to i2 (POST /modalities/i2/store): i2 receive stored $(wc -l < "$demo/receive.out") instances under $demo/incoming"

# 5. Wait for the SEG to arrive in Orthanc.
find_seg() { curl -sf "$api/tools/find" -d '{"Level": "Series", "Query": {"Modality": "SEG"}}' | jq -r '.[0] // empty'; }
seg=""
for _ in $(seq $(((quiet + 30) * 10))); do
    seg=$(find_seg || true); [ -n "$seg" ] && break; sleep 0.1
done
if [ -z "$seg" ]; then
    tail -n 20 "$demo"/incoming/*/*/*/.i2-watch-*.log >&2 2>/dev/null || true
    fail "no SEG in Orthanc after $((quiet + 30)) s; above: the watch command's log; watch's own:" "$demo/watch.log"
fi
t1=$EPOCHREALTIME
instance=$(curl -sf "$api/series/$seg" | jq -r '.Instances[0]')
tags=$(curl -sf "$api/instances/$instance/tags?simplify")
segments=$(jq -r '[.SegmentSequence[].SegmentLabel] | join(", ")' <<<"$tags")
refs=$(jq -r '.ReferencedSeriesSequence[0].SeriesInstanceUID' <<<"$tags")
[ "$refs" = "$ct_series_uid" ] || fail "the SEG references series $refs, not the CT $ct_series_uid"

say "i2 watch handed the series over after $quiet s of quiet; i2 process ran the threshold tool (HU >= 300)"
say "and wrote $(find "$demo/results" -name '*.dcm' -not -path '*/.i2-work/*' | head -1); i2 send stored it on Orthanc"
say "SEG in Orthanc $(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }') s after the push (segments: $segments), in the CT's study, referencing CT series $ct_series_uid"
say "logs: $demo/{receive,watch}.log, $demo/orthanc/orthanc.log; total $((SECONDS - start)) s"
echo "$api/series/$seg"
if [ "$keep" = --wait ]; then
    say "Orthanc and i2 keep running: open $api/app/explorer.html#series?uuid=$seg ; Ctrl-C stops them"
    wait "${pids[0]}" || true
else
    say "stopping Orthanc and i2 now, so the URL above stops answering; to look at the SEG in Orthanc's"
    say "explorer, run 'bash scripts/demo.sh --wait' (keeps Orthanc and i2 up until Ctrl-C)"
fi
