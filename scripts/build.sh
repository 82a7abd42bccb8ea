#!/usr/bin/env bash
# Builds what is missing: the native CLI and tests (build/native) and the browser module and
# static site (build/wasm/web). Usage: scripts/build.sh [native|wasm]...
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export NODE_PATH=/usr/share/nodejs   # em++ needs node's acorn from Debian (see toolchain notes)
presets=("$@"); [ ${#presets[@]} -gt 0 ] || presets=(native wasm)
for p in "${presets[@]}"; do
  [ -f "build/$p/CMakeCache.txt" ] || cmake --preset "$p" >/dev/null
  cmake --build --preset "$p"
done
