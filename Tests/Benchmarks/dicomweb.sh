#!/usr/bin/env bash
# Benchmark: DICOMweb against a real Orthanc with Debian's DICOMweb plugin on 127.0.0.1 (TCP_NODELAY=1),
# a generated 300-slice 512x512 CT (from Tests/Fixtures/dcmqi/ct-3slice/01.dcm), in one run:
# - STOW-RS: i2 send vs the dicomweb-client Python package (store_instances of the datasets it read) vs
#   curl posting a ready-made multipart body of the same files (Orthanc's own ingest limit: every client
#   is bounded by it). Orthanc is emptied (untimed) before each run.
# - WADO-RS: i2 retrieve (into i2 receive's layout, made durable; and --no-fsync) vs dicomweb-client's
#   retrieve_study, alone (datasets in memory) and with the files written (pydicom save_as), vs curl
#   fetching the multipart answer into one file (Orthanc's serving limit).
# Prints medians, ratios and peak memory. Release build. Usage: bash Tests/Benchmarks/dicomweb.sh [RUNS]
# Peers: Orthanc + orthanc-dicomweb, curl (Debian), dicomweb-client and pydicom in .venv (install-deps.sh).
set -euo pipefail
cd "$(dirname "$0")/../.."
runs=${1:-3}
source Tests/Benchmarks/release.sh   # $i2 (release build), $py
for t in Orthanc curl; do command -v "$t" >/dev/null || { echo "missing: $t (apt-get install -y orthanc orthanc-dicomweb curl)" >&2; exit 1; }; done
plugin=/usr/share/orthanc/plugins/libOrthancDicomWeb.so
[ -f "$plugin" ] || { echo "missing: $plugin (apt-get install -y orthanc-dicomweb)" >&2; exit 1; }
"$py" -c 'import dicomweb_client' 2>/dev/null || { echo "missing: dicomweb-client in .venv (bash scripts/install-deps.sh)" >&2; exit 1; }

work=$(mktemp -d)
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
http=$(free_port); dicom=$(free_port)
cat > "$work/orthanc.json" <<EOF
{ "Name": "bench", "StorageDirectory": "$work/db", "IndexDirectory": "$work/db", "HttpPort": $http, "DicomPort": $dicom,
  "RemoteAccessAllowed": false, "AuthenticationEnabled": false, "Plugins": ["$plugin"],
  "DicomWeb": { "Enable": true, "Root": "/dicom-web/" } }
EOF
TCP_NODELAY=1 Orthanc "$work/orthanc.json" > "$work/orthanc.log" 2>&1 &
orthanc=$!
trap 'kill $orthanc 2>/dev/null; wait $orthanc 2>/dev/null; rm -rf "$work"' EXIT
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$http/system" >/dev/null && break; sleep 0.1; done
base="http://127.0.0.1:$http/dicom-web"
"$py" Tests/Tools/make_series.py Tests/Fixtures/dcmqi/ct-3slice/01.dcm "$work/ct" --slices 300 >/dev/null
labels_bytes=$(du -sb "$work/ct" | cut -f1)   # measure.sh's reference size: the study's bytes
source Tests/Benchmarks/measure.sh   # measure, ratio

# The ready-made multipart body for curl, and the dicomweb-client scripts.
"$py" - "$work/ct" "$work/body" <<'PY'
import os, sys
with open(sys.argv[2], "wb") as out:
    for n in sorted(os.listdir(sys.argv[1])):
        out.write(b"--i2bench\r\nContent-Type: application/dicom\r\n\r\n" + open(os.path.join(sys.argv[1], n), "rb").read() + b"\r\n")
    out.write(b"--i2bench--\r\n")
PY
cat > "$work/stow.py" <<'PY'
import os, sys, pydicom
from dicomweb_client.api import DICOMwebClient
d = sys.argv[2]
DICOMwebClient(url=sys.argv[1]).store_instances([pydicom.dcmread(os.path.join(d, n)) for n in sorted(os.listdir(d))])
PY
cat > "$work/wado.py" <<'PY'
import os, sys
from dicomweb_client.api import DICOMwebClient
instances = DICOMwebClient(url=sys.argv[1]).retrieve_study(sys.argv[2])
assert len(instances) == 300, len(instances)
if len(sys.argv) > 3:
    for ds in instances: ds.save_as(os.path.join(sys.argv[3], ds.SOPInstanceUID + ".dcm"))
PY

echo "Orthanc (DICOMweb plugin) on 127.0.0.1 with one 300-slice 512x512 CT study ($((labels_bytes / 1048576)) MiB), $runs runs each, $(nproc) cores"
echo "(peak memory as a multiple of the study's size)"
echo "== STOW-RS of the 300 files (Orthanc emptied before each run)"
before="curl -sf -X DELETE http://127.0.0.1:$http/patients/\$(curl -sf http://127.0.0.1:$http/patients | tr -d '[]\" \n') >/dev/null || true"
export before
measure "i2 send stow"            "$i2" send --to "$base" "$work/ct"
measure "dicomweb-client store"   "$py" "$work/stow.py" "$base" "$work/ct"
measure "curl ready-made body"    curl -sf -o /dev/null -X POST -H 'Content-Type: multipart/related; type="application/dicom"; boundary=i2bench' --data-binary @"$work/body" "$base/studies"
unset before
ratio i2-send-stow dicomweb-client-store "target <= 1"
ratio i2-send-stow curl-ready-made-body "target <= 1.11 (>= 0.9x the server's limit)"
echo "== WADO-RS of the study"
study=$("$i2" query --from "$base" 2>/dev/null | cut -f1)
measure "i2 retrieve wado"          "$i2" retrieve --from "$base" -o "$work/out/i2" "$study"
measure "i2 retrieve wado no-fsync" "$i2" retrieve --from "$base" -o "$work/out/i2" --no-fsync "$study"
measure "dicomweb-client retrieve"  "$py" "$work/wado.py" "$base" "$study"
measure "dicomweb-client retrieve+save" "$py" "$work/wado.py" "$base" "$study" "$work/out"
measure "curl multipart to a file"  curl -sf -o "$work/out/study" -H 'Accept: multipart/related; type="application/dicom"; transfer-syntax=*' "$base/studies/$study"
ratio i2-retrieve-wado dicomweb-client-retrieve "target <= 0.4 (>= 2.5x)"
ratio i2-retrieve-wado dicomweb-client-retrieve+save "target <= 0.4 (>= 2.5x)"
ratio i2-retrieve-wado curl-multipart-to-a-file "the server's serving limit"
