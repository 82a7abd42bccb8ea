#!/usr/bin/env bash
# `npm run eval:homogeneous`: where homogeneous quantization stands. For the bundled sample model
# (web/samples: the trained Fashion-MNIST CNN with its labelled test images when present) and a
# few real exports of the model corpus, quantizes with W8A8, W4A8, W8A16, W16A16 and measures the
# exported QDQ files in ONNX Runtime: output SQNR vs the float model, top-1 agreement, top-1
# accuracy where labels exist, file size. Not part of the test command. Builds the native CLI in
# its own build dir (QM_EVAL_NATIVE_DIR, default build/eval-native) and the model corpus there.
# Extra arguments go to tools/eval/eval_homogeneous.mjs (e.g. --corpus vit_tiny_op17 --eval 16).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
NATIVE="${QM_EVAL_NATIVE_DIR:-build/eval-native}"
JOBS="${QM_EVAL_JOBS:-2}"

echo "== building native quantmix ($NATIVE)"
[ -f "$NATIVE/CMakeCache.txt" ] || cmake --preset native -B "$NATIVE" >/dev/null
cmake --build "$NATIVE" -j"$JOBS" --target quantmix >/dev/null
[ -f "$NATIVE/testdata/models/index.json" ] || /usr/bin/python3 tools/make_models.py --out "$NATIVE/testdata/models"

node --no-experimental-fetch tools/eval/eval_homogeneous.mjs --bin "$NATIVE/quantmix" --models "$NATIVE/testdata/models" "$@"
