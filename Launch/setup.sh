#!/usr/bin/env bash
# Installs every system package avtrain needs (idempotent) on Debian bookworm, then builds the
# release binaries. Usage: Launch/setup.sh [--no-build]
set -euo pipefail
cd "$(dirname "$0")/.."

apt_pkgs=(pkg-config libopenblas-dev libopenmpi-dev openmpi-bin libhdf5-dev libsndfile1-dev
          libfftw3-dev espeak-ng sox
          iproute2 nftables)   # the last two: multi-host test bed (Launch/testbed)
missing=()
for p in "${apt_pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  echo "setup: installing ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
# Python side (h5py compatibility tests, dataset preparation helpers).
python3 -c 'import h5py, numpy' 2>/dev/null || python3 -m pip install -q h5py numpy

if [ "${1:-}" != "--no-build" ]; then
  swift build -c release
  echo "setup: built .build/release/{avtrain,avtool,avembed}"
fi
