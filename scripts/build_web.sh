#!/usr/bin/env bash
# `npm run build:web`: the static site in dist/ (also left in build/wasm/web): index.html, the
# ES modules, quantmix.mjs + quantmix.wasm (the C++ core) and its wasm-threads twin quantmix-mt.*,
# the sample model and ONNX Runtime Web's wasm-only files in ort/ (ort.wasm.min.mjs, ort-wasm-simd-threaded.mjs/.wasm) for
# validating exports. Works from any static host: no special headers needed (threads are used
# only when the host makes the page cross-origin isolated), and nothing is fetched from elsewhere.
# Usage: scripts/build_web.sh [OUT_DIR]   (default dist; QM_BUILD_DIR=build/x picks the build dir)
set -euo pipefail
cd "$(dirname "$0")/.."
out="${1:-dist}"
export NODE_PATH=/usr/share/nodejs   # em++ needs Debian's acorn (toolchain notes §2)
[ -d node_modules/onnxruntime-web ] || npm ci --no-audit --no-fund
build="${QM_BUILD_DIR:-build/wasm}"
[ -f "$build/CMakeCache.txt" ] || cmake --preset wasm -B "$build" >/dev/null
cmake --build "$build" -j2 --target quantmix_wasm quantmix_mt web_site web_ort
site="$build/web"
for f in index.html app/main.js quantmix.js api/quantmix.js api/worker.js embed.js quantmix.mjs quantmix.wasm \
         quantmix-mt.mjs quantmix-mt.wasm quantmix-mt.worker.js \
         ort/ort.wasm.min.mjs ort/ort-wasm-simd-threaded.mjs ort/ort-wasm-simd-threaded.wasm; do
  [ -f "$site/$f" ] || { echo "error: $site/$f is missing after the build" >&2; exit 1; }
done
ls "$site"/samples/*.onnx >/dev/null 2>&1 || { echo "error: no sample model in $site/samples" >&2; exit 1; }
rm -rf "$out"
mkdir -p "$out"
cp -R "$site"/. "$out"/
echo "static site: $out/ ($(du -sh "$out" | cut -f1)); serve it with: node tools/serve.mjs $out"
