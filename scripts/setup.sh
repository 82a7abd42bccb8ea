#!/usr/bin/env bash
# Installs whatever is missing for building and testing quantmix, from Debian's and npm's
# registries only. Safe to run again: it does nothing when everything is there.
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(
  cmake g++ clang libclang-rt-14-dev           # native and fuzz builds
  emscripten binaryen wabt                     # wasm build (Emscripten 3.1.6)
  libxsimd-dev doctest-dev libprotozero-dev libstb-dev  # header-only C++ dependencies (stb: images)
  nodejs npm chromium                          # JS tests and the browser end-to-end test
  python3-onnx python3-numpy python3-torch python3-torchvision  # test-model generators (tools/)
  libonnx-testdata                             # ONNX's own test models (round-trip oracle)
)

missing=()
for p in "${APT_PACKAGES[@]}"; do
  # nodejs from another Debian-compatible source (e.g. nodesource) provides npm itself.
  if [ "$p" = npm ] && command -v npm >/dev/null; then continue; fi
  if [ "$p" = nodejs ] && command -v node >/dev/null; then continue; fi
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing Debian packages: ${missing[*]}"
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO=sudo
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# npm packages, exactly as package-lock.json pins them.
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "setup: npm ci"
  npm ci --no-audit --no-fund --loglevel=error
fi
