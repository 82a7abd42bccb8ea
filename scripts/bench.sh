#!/usr/bin/env bash
# `npm run bench`: (1) forward latency of quantmix (wasm under node, 1 thread; and native) against
# onnxruntime-web's wasm backend (1 thread, SIMD) on MobileNetV2, ResNet-18 and a small ViT
# encoder, batch 1 and 8; (2) the whole mixed-precision search (as the app runs it) on
# MobileNetV2 with 32 random 224x224 samples, in wasm under node (1 thread) and natively
# (--threads 1 and 2): wall/CPU time, per-phase timing, phase-1 cost, memory. Section 2 takes
# several minutes (about 5 min of CPU in wasm plus the native runs): `npm run bench -- --no-search`
# skips it, `npm run bench -- --only-search` runs only it. Not part of the test command.
# Builds what it needs with the existing presets into its own build dirs (override with
# QM_BENCH_NATIVE_DIR / QM_BENCH_WASM_DIR), then runs tools/bench/bench.mjs; extra arguments are
# passed to it (e.g. --repeat 20 --only resnet18 --batches 1 --search-samples 8
# --search-target bops=0.5 --mt-module PATH, see its header). Environment: QM_BENCH_NODE_FLAGS
# (e.g. "--no-liftoff") for the node that runs both engines.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
NATIVE="${QM_BENCH_NATIVE_DIR:-build/bench-native}"
WASM="${QM_BENCH_WASM_DIR:-build/bench-wasm}"
JOBS="${QM_BENCH_JOBS:-2}"
export NODE_PATH=/usr/share/nodejs   # em++ needs acorn (docs: toolchain.md §2)

echo "== building native quantmix ($NATIVE) and the wasm bench module ($WASM)"
build() {  # quiet unless it fails
  local log; log="$(mktemp)"
  if ! "$@" >"$log" 2>&1; then tail -30 "$log"; rm -f "$log"; echo "bench: failed: $*" >&2; exit 1; fi
  rm -f "$log"
}
[ -f "$NATIVE/CMakeCache.txt" ] || build cmake --preset native -B "$NATIVE"
build cmake --build "$NATIVE" -j"$JOBS" --target quantmix
[ -f "$WASM/CMakeCache.txt" ] || build cmake --preset wasm -B "$WASM"
build cmake --build "$WASM" -j"$JOBS" --target quantmix_bench

echo "== models"
/usr/bin/python3 tools/make_models.py --out "$NATIVE/testdata/models"
/usr/bin/python3 tools/bench/make_bench_models.py --corpus "$NATIVE/testdata/models" --out "$NATIVE/bench_models"

# shellcheck disable=SC2086
CMD=(node --no-experimental-fetch ${QM_BENCH_NODE_FLAGS:-} tools/bench/bench.mjs
     --module "$WASM/bench/quantmix_bench.js" --models "$NATIVE/bench_models"
     --native "$NATIVE/quantmix" --profile
     --search-model "$NATIVE/testdata/models/mobilenet_v2_op11.onnx" "$@")
echo "== ${CMD[*]}"
"${CMD[@]}"
