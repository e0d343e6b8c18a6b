#!/usr/bin/env bash
# Benchmark: query and retrieve against a real Orthanc on 127.0.0.1 holding a generated 300-slice 512x512
# CT (from Tests/Fixtures/dcmqi/ct-3slice/01.dcm): i2 query vs DCMTK's findscu (study level), i2 retrieve
# (C-GET into i2 receive's layout, fsync'ed; and --no-fsync) vs DCMTK's getscu (C-GET into a flat directory, no fsync),
# i2 retrieve --port (C-MOVE to itself) vs movescu --port, and i2 retrieve when everything is already there
# (the resume path: one C-FIND, nothing fetched). Prints medians, ratios and peak memory.
# Release build. Usage: bash Tests/Benchmarks/retrieve.sh [RUNS]   (I2_SCRATCH: swift build scratch path)
# Peers: Orthanc and DCMTK (Debian orthanc, dcmtk), the .venv Python for the series generator.
set -euo pipefail
cd "$(dirname "$0")/../.."
runs=${1:-3}
source Tests/Benchmarks/release.sh   # $i2 (release build), $py
for t in Orthanc findscu getscu movescu curl; do command -v "$t" >/dev/null || { echo "missing: $t (apt-get install -y orthanc dcmtk curl)" >&2; exit 1; }; done

work=$(mktemp -d)
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
http=$(free_port); dicom=$(free_port); back=$(free_port)
cat > "$work/orthanc.json" <<EOF
{ "Name": "bench", "StorageDirectory": "$work/db", "IndexDirectory": "$work/db", "HttpPort": $http, "DicomPort": $dicom,
  "DicomAet": "ORTHANC", "RemoteAccessAllowed": false, "AuthenticationEnabled": false, "Plugins": [],
  "DicomModalities": { "i2": ["I2", "127.0.0.1", $back] } }
EOF
# TCP_NODELAY=1 for Orthanc and for DCMTK's tools alike (DCMTK leaves Nagle on unless told).
export TCP_NODELAY=1
Orthanc "$work/orthanc.json" > "$work/orthanc.log" 2>&1 &
orthanc=$!
trap 'kill $orthanc 2>/dev/null; wait $orthanc 2>/dev/null; rm -rf "$work"' EXIT
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$http/system" >/dev/null && break; sleep 0.1; done
"$py" Tests/Tools/make_series.py Tests/Fixtures/dcmqi/ct-3slice/01.dcm "$work/ct" --slices 300 >/dev/null
for f in "$work"/ct/*; do curl -sf -X POST "http://127.0.0.1:$http/instances" --data-binary @"$f" >/dev/null; done
study=$("$i2" query --from "ORTHANC@127.0.0.1:$dicom" 2>/dev/null | cut -f1)
labels_bytes=$(du -sb "$work/ct" | cut -f1)   # measure.sh's reference size: the study's bytes
source Tests/Benchmarks/measure.sh   # measure, ratio

echo "Orthanc on 127.0.0.1 with one 300-slice 512x512 CT study ($((labels_bytes / 1048576)) MiB), $runs runs each, $(nproc) cores"
echo "(peak memory as a multiple of the study's size)"
echo "== query (study level)"
measure "i2 query"          "$i2" query --from "ORTHANC@127.0.0.1:$dicom" --study "$study"
measure "dcmtk findscu"     findscu -aet I2 -aec ORTHANC -S -k QueryRetrieveLevel=STUDY -k StudyInstanceUID="$study" -k PatientID 127.0.0.1 "$dicom"
ratio i2-query dcmtk-findscu "target <= 1"
echo "== retrieve by C-GET"
measure "i2 retrieve-get"   "$i2" retrieve --from "ORTHANC@127.0.0.1:$dicom" -o "$work/out/i2" "$study"
measure "i2 retrieve-get no-fsync" "$i2" retrieve --from "ORTHANC@127.0.0.1:$dicom" -o "$work/out/i2" --no-fsync "$study"
measure "dcmtk getscu"      getscu -aet I2 -aec ORTHANC -S -k QueryRetrieveLevel=STUDY -k StudyInstanceUID="$study" -od "$work/out" 127.0.0.1 "$dicom"
ratio i2-retrieve-get dcmtk-getscu "target <= 1"
echo "== retrieve by C-MOVE to ourselves (Orthanc knows I2 at port $back)"
measure "i2 retrieve-move"  "$i2" retrieve --from "ORTHANC@127.0.0.1:$dicom" -o "$work/out/i2" --port "$back" "$study"
measure "i2 retrieve-move no-fsync" "$i2" retrieve --from "ORTHANC@127.0.0.1:$dicom" -o "$work/out/i2" --port "$back" --no-fsync "$study"
measure "dcmtk movescu"     movescu -aet I2 -aec ORTHANC -aem I2 --port "$back" -S -k QueryRetrieveLevel=STUDY -k StudyInstanceUID="$study" -od "$work/out" 127.0.0.1 "$dicom"
ratio i2-retrieve-move dcmtk-movescu "target <= 1"
echo "== retrieve again, everything already there (resume: one C-FIND, nothing fetched)"
"$i2" retrieve --from "ORTHANC@127.0.0.1:$dicom" -o "$work/kept" "$study" >/dev/null 2>&1
measure "i2 retrieve-present" "$i2" retrieve --from "ORTHANC@127.0.0.1:$dicom" -o "$work/kept" "$study"
