// Export of a quantization configuration as a QDQ ONNX model (spec amp.md section 1, "Export"):
// what ONNX Runtime computes on the exported file is what the simulator computes.
//
// From the original onnx::Model, the prepared plan that the simulator ran, and the encodings of
// the quantizers that are switched on:
//   - a model of opset 7..9 is raised to opset 10 first (onnx/opset_upgrade.h): ONNX Runtime's
//     default level fuses Q/DQ units into ai.onnx QLinearConv/QLinearMatMul, which need 10;
//     with blocked weight scales (Encoding::block) the model is raised to opset 21 instead
//     (blocked DequantizeLinear), or the export fails naming the node that has no opset-21 form;
//   - blocked weights: integers stored as [outer, K, inner] (BlockLayout; a Conv weight as
//     [C_out, C_in/group x kh x kw] followed by a Reshape back), DequantizeLinear-21 with
//     `axis` = K's and `block_size`, scales [outer, blocks, inner], no zero point;
//   - BatchNormalization nodes the plan folded are removed; their Conv/ConvTranspose/Gemm gets the
//     folded weight and bias constants of the plan (Gemm: beta = 1), so the file holds exactly the
//     weights the simulator quantized;
//   - a weight with bias correction (Encoding::bias_shift) gets its layer's corrected bias as a
//     new float initializer (bias stays float);
//   - each quantized weight becomes an integer initializer + DequantizeLinear (per axis): int8
//     container for 2..8 bits, int16 for 9..16, packed int4 for <= 4 bits where the opset is >= 21
//     (standard ops), and in older opsets the `com.microsoft` DequantizeLinear with int4 (by
//     default; ExportOptions::legacy_int4 = false keeps an int8 container) and int16;
//   - each quantized activation gets QuantizeLinear -> DequantizeLinear (uint8 for <= 8 bits,
//     uint16 above; `com.microsoft` for uint16 below opset 21), preceded by a Clip at the
//     represented range when the bit-width is narrower than the container. Clip then Q equals the
//     simulator's clamp(round(x / s) + zp, 0, 2^b - 1): rounding is monotonic and Q maps the Clip
//     bounds, which are (q - zp) * s for q = 0 and 2^b - 1, back to exactly those q;
//   - an identity Clip (the input grid's own range) goes before a Conv/ConvTranspose/Gemm where
//     ONNX Runtime's WeightBiasQuantization pass would otherwise change the model (float weight,
//     > 8-bit weight or input, opset < 13: see export_qdq.cpp);
//   - inside If/Loop/Scan subgraphs the same is written into the subgraph that holds the
//     quantizer (ExportQuantizer::scope): the integer weight and its DequantizeLinear, the
//     activations' (Clip ->) Q -> DQ right after their producer, initializers in that subgraph;
//     the subgraph structure is kept;
//   - nodes and initializers nothing reads any more (the float weights, folded constant chains)
//     are dropped, so narrower weights give a smaller file.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "graph/plan.h"
#include "onnx/model.h"
#include "quant/quant_model.h"

namespace qm::quant {

/// One quantizer to export (switched on).
struct ExportQuantizer {
  QuantizerKind kind = QuantizerKind::Activation;
  graph::ValueId value = graph::kNoValue;  ///< plan value (resolved)
  /// Weights: the plan step that reads `value` (a constant) as its weight input.
  int step = -1;
  /// Bits, symmetry, axis, scale/zero point (one per channel for per-axis weights).
  Encoding encoding;
  /// Weights with Encoding::bias_shift: their layer's bias (Layer::bias, bias_step, bias_input),
  /// which the export replaces by the corrected one.
  graph::ValueId bias = graph::kNoValue;
  int bias_step = -1, bias_input = -1;
  /// Inside an If/Loop/Scan subgraph (Quantizer::scope and Quantizer::path; "" in the main
  /// graph, where `value` and `step` say where): the graph's path prefix, and the activation's
  /// value path or the weight's layer node path. `weight` is then the float weight (the
  /// subgraph's initializer; QuantModel::weight).
  std::string scope, path;
  const Tensor* weight = nullptr;
};

struct ExportOptions {
  /// Below opset 21, store <= 4-bit weights as int4 for `com.microsoft` DequantizeLinear (which
  /// ONNX Runtime runs). false: int8 container with the standard op (no size gain).
  bool legacy_int4 = true;
  /// Suffix-free prefix for the names of added tensors and nodes (kept unique in the graph).
  std::string prefix = "qm";
};

/// What the export did.
struct ExportStats {
  int weights = 0;           ///< weight quantizers written as integer + DequantizeLinear
  int activations = 0;       ///< activation quantizers written as (Clip ->) Q -> DQ
  int clips = 0;             ///< Clips added for bit-widths narrower than their container
  int guards = 0;            ///< identity Clips between a DQ and a layer (see export_qdq.cpp)
  int batchnorms_folded = 0; ///< BatchNormalization nodes removed
  int nodes_removed = 0;     ///< nodes dropped because nothing reads them any more
  int initializers_removed = 0;
  bool uses_com_microsoft = false;
  bool raised_to_opset21 = false;  ///< blocked weight scales raised the model's opset to 21
};

/// Builds the QDQ model. `plan` must have been prepared from a graph of `model` (plan.graph()
/// .model() is `model`). Throws Error(InvalidArgument) for an encoding that does not fit its
/// tensor (scale count vs channels, bits outside 2..16), Error(Unsupported) for a weight the
/// export cannot rewrite.
onnx::Model export_qdq(const graph::Plan& plan, const std::vector<ExportQuantizer>& quantizers,
                       const ExportOptions& options = {}, ExportStats* stats = nullptr);

/// The integer weight values the export stores: q = clamp(round_half_even(w / scale[c]),
/// -2^(b-1), 2^(b-1) - 1) along `axis` (scale of size 1: per tensor). Exposed for tests.
std::vector<int32_t> quantize_weight_values(const Tensor& w, const Encoding& enc);

}  // namespace qm::quant
