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
#pragma once

#include <cstdint>

#include "onnx/model.h"

namespace qm::onnx {

/// Raises the default-domain opset of `model` to 10 when it is 7..9 (rewriting the ops above;
/// ir_version becomes at least 5). Returns the opset the model has afterwards. Opset 10 or
/// higher: unchanged. Below 7: Error(Unsupported) naming the opset (binary ops' broadcast
/// attributes and other pre-7 forms are not rewritten). Errors name the node at fault.
int64_t upgrade_to_opset10(Model& model);

}  // namespace qm::onnx
