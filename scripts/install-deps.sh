#!/usr/bin/env bash
# Installs what i2 needs on Debian 12 (as root, or with sudo). Idempotent: a second run only checks.
#   (no option)    everything: build packages, every test peer, and the Python peers in ./.venv
#   --build-only   only the packages needed to build i2
#   --demo         the build packages plus what scripts/demo.sh runs (Orthanc, curl, jq)
set -euo pipefail
cd "$(dirname "$0")/.."

build_pkgs=(libdcmtk-dev libopenjp2-7-dev libcharls-dev libnifti-dev libniftiio-dev libznz-dev zlib1g-dev libdeflate-dev libcurl4-openssl-dev libssl-dev pkg-config)
demo_pkgs=(orthanc curl jq)
peer_pkgs=(dcmtk dcm2niix dicom3tools nifti-bin plastimatch orthanc orthanc-dicomweb curl jq bash-completion zsh fish pigz python3-venv time groff-base openssl prometheus
           slurm-wlm slurm-client slurmdbd munge mariadb-server)

mode=${1:-all}
case "$mode" in
    all) wanted=("${build_pkgs[@]}" "${peer_pkgs[@]}") ;;
    --build-only) wanted=("${build_pkgs[@]}") ;;
    --demo) wanted=("${build_pkgs[@]}" "${demo_pkgs[@]}") ;;
    *) echo "usage: bash scripts/install-deps.sh [--build-only | --demo]" >&2; exit 2 ;;
esac

missing=()
for p in "${wanted[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
    SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO=sudo
    export DEBIAN_FRONTEND=noninteractive
    # Progress goes to stderr: callers (scripts/demo.sh) keep stdout for their own result.
    $SUDO apt-get update >&2
    $SUDO apt-get install -y --no-install-recommends "${missing[@]}" >&2
fi

# The marker names the package list, so a changed list installs again.
peers="nibabel numpy pydicom highdicom dcmqi pylibjpeg pylibjpeg-rle rt-utils dicomweb-client"
marker=".venv/.i2-peers-$(echo "$peers" | cksum | cut -d' ' -f1)"
if [ "$mode" = all ] && [ ! -f "$marker" ]; then
    python3 -m venv .venv >&2
    .venv/bin/pip install --quiet --disable-pip-version-check $peers >&2
    touch "$marker"
fi
# dcmrtstruct2nii and dicompyler-core (RTSTRUCT readers the tests compare with) use pydicom 2's API (read_file),
# gone in pydicom 3: a venv of their own keeps pydicom 2 away from the others. shapely: dicompyler-core's volumes.
rt_peers="dcmrtstruct2nii==5 dicompyler-core==0.5.6 shapely pydicom<3 nibabel numpy"
rt_marker=".venv-rt/.i2-peers-$(echo "$rt_peers" | cksum | cut -d' ' -f1)"
if [ "$mode" = all ] && [ ! -f "$rt_marker" ]; then
    python3 -m venv .venv-rt >&2
    .venv-rt/bin/pip install --quiet --disable-pip-version-check dcmrtstruct2nii==5 dicompyler-core==0.5.6 shapely "pydicom<3" nibabel numpy >&2
    touch "$rt_marker"
fi
