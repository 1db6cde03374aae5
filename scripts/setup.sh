#!/usr/bin/env bash
# Installs what EdgeVLM needs to build and test on Debian/Ubuntu, then builds it.
# As root it installs missing apt packages itself; otherwise it names the ones to install.
# Idempotent: re-running skips what is already there.
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(
  pkg-config libsqlite3-dev sqlite3 libssl-dev libopenblas-dev libjpeg-dev libpng-dev zlib1g-dev
  protobuf-compiler python3 python3-venv python3-pip
)
# Extra packages only the test suite needs (PostgreSQL server, ARM cross tools and emulator,
# iproute2 for the network-namespace link-cut test).
if [[ "${EDGEVLM_SETUP_TESTS:-0}" == "1" ]]; then
  APT_PACKAGES+=(postgresql qemu-user-static gcc-aarch64-linux-gnu libc6-dev-arm64-cross chromium iproute2)
fi

missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  if [[ $(id -u) -eq 0 ]]; then
    echo "setup: installing ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  else
    echo "setup: missing system packages; run as root or install them:" >&2
    echo "  sudo apt-get install -y ${missing[*]}" >&2
    exit 1
  fi
fi

if ! command -v swift >/dev/null; then
  echo "setup: the Swift 6 toolchain is not on PATH (https://www.swift.org/install/linux/)." >&2
  exit 1
fi

# Python tools for reference data (gguf-py, numpy, Pillow) live in a project venv.
if [[ ! -x .venv/bin/python ]]; then
  python3 -m venv .venv
fi
if ! .venv/bin/python -c "import gguf, numpy, PIL, png" 2>/dev/null; then
  .venv/bin/pip install -q --disable-pip-version-check -r tools/requirements.txt
fi
