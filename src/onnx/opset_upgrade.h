// Raising a model's default-domain opset where the ops between the two versions changed form.
//
// Why: a QDQ export of an opset-7..9 model is run by ONNX Runtime, whose default optimisation
// level fuses DequantizeLinear -> MatMul/Conv -> QuantizeLinear into the ai.onnx QLinearMatMul /
// QLinearConv of the model's own opset. Those exist from opset 10, so an opset-9 export failed to
// load ("No Op registered for QLinearMatMul with domain_version of 9"). The export therefore
// raises such models to opset 10 first, the smallest step that has the quantized ops.
//
// Opset 7..9 -> 10 changes these ops (everything else keeps its form):
//   - Slice: starts/ends/axes attributes -> int64 constant inputs;
//   - TopK: attribute k -> a one-element int64 input;
//   - Upsample (deprecated in 10) -> Resize-10, same semantics, scales as a float input;
//   - BatchNormalization: the `spatial` attribute (removed in 9) is dropped when it is 1;
//   - Scan-8 (batch axis, sequence_lens input) has no mechanical rewrite: Error(Unsupported).
// Subgraphs (If/Loop/Scan bodies) are rewritten the same way.
//
// Opset 10..20 -> 21 (blocked DequantizeLinear, for blocked weight candidates) changes these ops;
// all others keep their form and meaning (every rewrite is checked against ONNX Runtime on the op
// corpus: tests/ops/opset21.test.mjs):
//   - Clip (<= 10): min/max attributes -> float scalar inputs;
//   - Pad (<= 10): pads/value attributes -> inputs;
//   - Resize-10 -> Resize-11+: (X, scales) -> (X, roi "", scales) with the opset-10 sampling
//     spelled out (asymmetric coordinates; nearest: floor when upsampling, ceil when downsampling,
//     which needs constant scales);
//   - Softmax/LogSoftmax/Hardmax (<= 12, over the input flattened from `axis` on): kept when
//     `axis` is the last axis (then both forms agree); otherwise Error(Unsupported);
//   - Squeeze/Unsqueeze (<= 12), ReduceSum (<= 12) and the other Reduce* ops (<= 17): axes
//     attribute -> int64 input;
//   - Split (<= 12): split attribute -> input; without it (equal parts), num_outputs (18+ form);
//   - Dropout (<= 11): ratio/is_test attributes dropped (identity at inference either way);
//   - Scatter (<= 10) -> ScatterElements (same semantics);
//   - GridSample (16..19): mode bilinear/bicubic -> linear/cubic;
//   - BatchNormalization (<= 13): unused optional outputs dropped;
//   - GroupNormalization-18 (per-group scale/bias) and Resize's tf_half_pixel_for_nn (dropped in
//     13) have no mechanical rewrite: Error(Unsupported).
// In-place: nodes are rewritten, never added or reordered (callers index nodes), and constant
// inputs are appended as initializers.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "onnx/model.h"

namespace qm::onnx {

/// Raises the default-domain opset of `model` to 10 when it is 7..9 (rewriting the ops above;
/// ir_version becomes at least 5). Returns the opset the model has afterwards. Opset 10 or
/// higher: unchanged. Below 7: Error(Unsupported) naming the opset (binary ops' broadcast
/// attributes and other pre-7 forms are not rewritten). Errors name the node at fault.
int64_t upgrade_to_opset10(Model& model);

/// The rank of a named tensor of the model's main graph, or -1 when unknown.
using RankFn = std::function<int(const std::string& tensor)>;

/// Raises the default-domain opset of `model` to 21 (from 7..20; via upgrade_to_opset10 below
/// 10), rewriting the ops listed above; ir_version becomes at least 10. `rank_of` lets opset <= 12
/// Softmax-like ops with a positive axis be kept when it is the last axis. Returns the opset the
/// model has afterwards (21, or the model's own when it was newer: then unchanged). Errors name the node at fault and say why.
int64_t upgrade_to_opset21(Model& model, const RankFn& rank_of = {});

}  // namespace qm::onnx
