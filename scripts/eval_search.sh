#!/usr/bin/env bash
# npm run eval:search — evidence for the mixed-precision search (issue 5, item 6). Not part of
# the test command (minutes of CPU). Prints, per model:
#   - the homogeneous baselines against the best mixed front point at the same or lower
#     relative BOPs (SQNR on the calibration samples; on the sample model also top-1 on its 500
#     labelled test images, simulated = what the exported QDQ model computes);
#   - paper vs ratio flip order (front score = mean best metric under the front);
#   - phase-1 cost in forward-pass equivalents vs the naive groups x candidates full passes;
#   - on the sample model: robustness to the calibration data (two disjoint sets A/B: Spearman
#     rank correlation of the phase-1 sensitivities, top-1 of both selections).
# Env: QM_BUILD_DIR (default build/eval-native), EVAL_SAMPLES (default 8, real exports),
#      EVAL_MODELS (default: mobilenet_v2_op11 resnet18_op17 mnasnet0_5_op15_init_inputs vit_tiny_op17).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
BUILD=${QM_BUILD_DIR:-build/eval-native}
SAMPLES=${EVAL_SAMPLES:-8}
MODELS=${EVAL_MODELS:-"mobilenet_v2_op11 resnet18_op17 mnasnet0_5_op15_init_inputs vit_tiny_op17"}
PY=/usr/bin/python3

echo "== building the core library and tools/eval/search_bench ($BUILD)"
cmake --preset native -B "$BUILD" >/dev/null
cmake --build "$BUILD" -j2 --target quantmix_core >/dev/null
g++ -std=c++17 -O2 -march=native -I src -I "$BUILD/deps" tools/eval/search_bench.cpp \
  "$BUILD/libquantmix_core.a" -lpthread -o "$BUILD/search_bench"
BENCH="$BUILD/search_bench"
OUT="$BUILD/eval_search"
mkdir -p "$OUT"

spearman() {  # two search JSON files -> rank correlation of shared (group, candidate) sensitivities
  "$PY" - "$1" "$2" <<'EOF'
import json, sys
import numpy as np
a, b = (json.load(open(p)) for p in sys.argv[1:3])
def sens(r):
    return {(g["id"], c): v for g in r["groups"] for c, v in g["sensitivity_db"].items()}
sa, sb = sens(a), sens(b)
keys = sorted(set(sa) & set(sb))
if len(keys) < 3:
    print("spearman: too few shared sensitivities"); sys.exit()
x = np.array([sa[k] for k in keys]); y = np.array([sb[k] for k in keys])
rank = lambda v: np.argsort(np.argsort(v)).astype(float)
rho = np.corrcoef(rank(x), rank(y))[0, 1]
same = sum(1 for g, h in zip(a["selected"]["config"], b["selected"]["config"]) if g == h)
print(f"phase-1 sensitivities: {len(keys)} (group, candidate) pairs, Spearman rho = {rho:.3f}; "
      f"selected configs agree on {same}/{len(a['selected']['config'])} groups")
EOF
}

# ---- the sample model (top-1 from labels) ----
S=web/samples
if [[ -f $S/fashion_cnn.onnx && -d $S/calib && -f $S/fashion_calib.npz && -f $S/fashion_test.npz ]]; then
  for set in A B; do
    if [[ $set == A ]]; then CAL=(--calib $S/calib --preprocess unit); else CAL=(--calib $S/fashion_calib.npz); fi
    echo "== sample model fashion_cnn, calibration set $set (64 images), target bops=0.5, both orders"
    "$BENCH" $S/fashion_cnn.onnx "${CAL[@]}" --samples 64 --target bops=0.5 --order both \
      --test-npz $S/fashion_test.npz --json "$OUT/fashion_$set.json" 2>/dev/null
  done
  echo "== robustness to the calibration data (sets A and B are disjoint)"
  spearman "$OUT/fashion_A.json" "$OUT/fashion_B.json"
else
  echo "== sample model: web/samples/fashion_cnn.onnx (+ calib/, fashion_calib.npz, fashion_test.npz) not found: skipped"
fi

# ---- real exports (torchvision architectures from tools/make_models.py; SQNR) ----
MD="$BUILD/testdata/models"
if [[ ! -f $MD/index.json ]]; then
  echo "== generating the model corpus (tools/make_models.py)"
  "$PY" tools/make_models.py --out "$MD" >/dev/null
fi
for m in $MODELS; do
  [[ -f $MD/$m.onnx ]] || { echo "== $m: not in $MD, skipped"; continue; }
  echo "== $m ($SAMPLES random N(0,1) samples), target bops=0.75, both orders, 24 front points per order"
  "$BENCH" "$MD/$m.onnx" --samples "$SAMPLES" --target bops=0.75 --order both --front-points 24 \
    --json "$OUT/$m.json" 2>/dev/null || echo "   (failed: see above)"
  "$PY" - "$OUT/$m.json" <<'EOF' || true
import json, sys
r = json.load(open(sys.argv[1]))
s = r.get("front_scores")
if s: print("   front scores (mean best SQNR under the front, higher is better): " +
            ", ".join(f"{k}={v:.2f}" for k, v in s.items()) + f"; kept: {r['pareto_order']}")
EOF
done
