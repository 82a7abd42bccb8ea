#!/usr/bin/env bash
# npm run eval:search — evidence for the mixed-precision search (issue 5, item 6). Not part of
# the test command (~10-15 min on 2 cores). Two parts:
#
# 1. Trained models, checker-style (tools/eval/eval_search.mjs): the bundled sample
#    (web/samples/fashion_cnn.onnx) and the trained models of tests/data/trained (ResNet-style,
#    MobileNetV2-style, tiny ViT; tools/train_eval_models.py), all Fashion-MNIST. The native CLI
#    runs exactly as a user runs it: `quantmix quantize M --calib ... --bits W4A8|W8A8|W8A16` and
#    `quantmix quantize M --calib ... --candidates W4A8,W8A8,W8A16 --target bops=B [--order O]
#    --report R.json` for B = 0.5 (W4A8's cost), 0.75, 1.5 (between W8A8 and W8A16); ONNX Runtime
#    measures top-1 of every exported file on the 500 labelled test images. Prints the table
#    model | budget | best homogeneous of the same or lower cost | mixed | float, the search
#    times (report timing_s), and robustness to the calibration data (disjoint sets A and B:
#    Spearman of the phase-1 sensitivities, top-1 of both selections). Also W4A4,W4A8,W8A8 at
#    bops=0.25/0.375, where these models are sensitive. Extra arguments go to eval_search.mjs
#    (e.g. --budgets-a4 "" to skip that sweep, --test-images 500). Results: tools/eval/search_results.md.
# 2. Real exports with random weights (torchvision architectures from tools/make_models.py;
#    SQNR only, since random weights say nothing about accuracy): paper vs ratio flip order
#    (front score) and the phase-1 cost in forward-pass equivalents (tools/eval/search_bench.cpp).
#    Skipped with EVAL_REAL=0.
# Env: QM_BUILD_DIR (default build/eval-native), EVAL_MODELS_TRAINED (default fashion_cnn,resnet_fm,
#      mbv2_fm,vit_fm), EVAL_BUDGETS (default 0.5,0.75,1.5), EVAL_REAL (default 1), EVAL_SAMPLES
#      (default 8, real exports), EVAL_MODELS (real exports; default mobilenet_v2_op11 resnet18_op17
#      vit_tiny_op17).
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${QM_BUILD_DIR:-build/eval-native}
SAMPLES=${EVAL_SAMPLES:-8}
MODELS=${EVAL_MODELS:-"mobilenet_v2_op11 resnet18_op17 vit_tiny_op17"}
PY=/usr/bin/python3
T0=$SECONDS

echo "== building quantmix ($BUILD)"
[[ -f $BUILD/CMakeCache.txt ]] || cmake --preset native -B "$BUILD" >/dev/null
cmake --build "$BUILD" -j2 --target quantmix >/dev/null

# ---- 1. trained models (top-1 from labels, measured by ONNX Runtime on the exported files) ----
if [[ ! -f tests/data/trained/models.json ]]; then
  echo "== tests/data/trained/models.json missing: train with /usr/bin/python3 tools/train_eval_models.py"
fi
node --no-experimental-fetch tools/eval/eval_search.mjs --bin "$BUILD/quantmix" --out "$BUILD/eval_search" \
  --models "${EVAL_MODELS_TRAINED:-fashion_cnn,resnet_fm,mbv2_fm,vit_fm}" --budgets "${EVAL_BUDGETS:-0.5,0.75,1.5}" "$@"

# ---- 2. real exports with random weights (SQNR; flip orders; phase-1 cost) ----
if [[ ${EVAL_REAL:-1} != 0 ]]; then
  echo
  echo "== real exports (random weights): building tools/eval/search_bench"
  g++ -std=c++17 -O2 -march=native -I src -I "$BUILD/deps" tools/eval/search_bench.cpp \
    "$BUILD"/libquantmix_core_{api,mixed_precision,quant,graph,ops,onnx,kernels,core}.a -lpthread \
    -o "$BUILD/search_bench"
  OUT="$BUILD/eval_search"
  mkdir -p "$OUT"
  MD="$BUILD/testdata/models"
  if [[ ! -f $MD/index.json ]]; then
    echo "== generating the model corpus (tools/make_models.py)"
    "$PY" tools/make_models.py --out "$MD" >/dev/null
  fi
  for m in $MODELS; do
    [[ -f $MD/$m.onnx ]] || { echo "== $m: not in $MD, skipped"; continue; }
    echo "== $m ($SAMPLES random N(0,1) samples), target bops=0.75, both orders, 24 front points per order"
    "$BUILD/search_bench" "$MD/$m.onnx" --samples "$SAMPLES" --target bops=0.75 --order both --front-points 24 \
      --json "$OUT/$m.json" 2>/dev/null || echo "   (failed: see above)"
    "$PY" - "$OUT/$m.json" <<'PYEOF' || true
import json, sys
r = json.load(open(sys.argv[1]))
s = r.get("front_scores")
if s: print("   front scores (mean best SQNR under the front, higher is better): " +
            ", ".join(f"{k}={v:.2f}" for k, v in s.items()) + f"; kept: {r['pareto_order']}")
PYEOF
  done
fi
echo "== eval:search done in $((SECONDS - T0)) s"
