#!/usr/bin/env bash
# Installs everything i2 needs to build and everything its tests talk to, on Debian 12 (as root).
# Idempotent: a second run only checks. The Python peers (nibabel, pydicom) go into ./.venv.
set -euo pipefail
cd "$(dirname "$0")/.."

build_pkgs=(libdcmtk-dev libnifti-dev libniftiio-dev libznz-dev zlib1g-dev libdeflate-dev pkg-config)
peer_pkgs=(dcmtk dcm2niix dicom3tools nifti-bin orthanc curl bash-completion zsh fish pigz python3-venv time groff-base)

missing=()
for p in "${build_pkgs[@]}" "${peer_pkgs[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
    SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO=sudo
    export DEBIAN_FRONTEND=noninteractive
    $SUDO apt-get update
    $SUDO apt-get install -y --no-install-recommends "${missing[@]}"
fi

# The marker names the package list, so a changed list installs again.
peers="nibabel numpy pydicom highdicom dcmqi"
marker=".venv/.i2-peers-$(echo "$peers" | cksum | cut -d' ' -f1)"
if [ "${1:-}" != "--build-only" ] && [ ! -f "$marker" ]; then
    python3 -m venv .venv
    .venv/bin/pip install --quiet --disable-pip-version-check $peers
    touch "$marker"
fi
