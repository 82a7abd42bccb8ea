// The quantization view of a prepared model (spec ../shared/spec/amp.md sections 1-2): where the
// quantizers sit, which layers they feed, their encodings per bit-width, and a simulator that
// runs the FP32 engine with any configuration of them switched on.
//
// This is the contract between src/quant (placement, calibration, simulation, export) and
// src/mixed_precision (groups, cost, search). Everything here refers to the api::Session's plan:
// value ids are plan value ids, so BN-folded weights are the weights that get quantized.
//
// STATUS: interface sketch written before the implementation; the src/quant owner may extend it
// (add members, helpers) but keeps these names and meanings so mixed_precision can build on them.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/tensor.h"
#include "graph/executor.h"
#include "graph/plan.h"

namespace qm::api {
class Session;
}

namespace qm::quant {

enum class QuantizerKind { Weight, Activation };

/// One quantizer: a weight tensor (per-channel, symmetric) or an activation tensor (per-tensor,
/// asymmetric unsigned).
struct Quantizer {
  int id = -1;                       ///< index into QuantModel::quantizers
  QuantizerKind kind = QuantizerKind::Activation;
  graph::ValueId value = -1;         ///< the plan value it quantizes (resolved)
  std::string tensor;                ///< the ONNX tensor name it quantizes (for export/encodings)
  int layer = -1;                    ///< weights: index into QuantModel::layers
  int axis = 0;                      ///< weights: the per-channel axis (spec section 1)
  /// Activations: layers whose input this tensor is (looking through data-movement ops).
  std::vector<int> consumer_layers;
  /// Activations: every op type that reads this grid (through data movement), for profiles.
  std::vector<std::string> consumer_ops;
  std::string producer_op;           ///< activations: op type that computes it ("" = model input)
};

/// A weighted layer: Conv, ConvTranspose, Gemm, MatMul with a constant weight input.
struct Layer {
  std::string name;                  ///< ONNX node name (generated stable name if empty)
  std::string op;                    ///< op type
  int step = -1;                     ///< plan step index
  int weight_quantizer = -1;
  int input_quantizer = -1;          ///< activation quantizer of its data input (-1: none)
  int64_t macs = 0;                  ///< per sample, token dims included (spec section 5)
  int64_t weight_elements = 0;
};

/// Bits per quantizer; 0 = off (floating point). Indexed by Quantizer::id.
struct QuantConfig {
  std::vector<int> bits;
};

/// One quantizer's encoding at one bit-width. Per-channel weights: one entry per channel.
/// AIMET convention: offset = -zero_point; q = clamp(round(x/scale) - offset, qmin, qmax).
struct Encoding {
  int bits = 8;
  bool symmetric = false;
  int axis = -1;                     ///< -1 per tensor
  std::vector<float> scale;
  std::vector<int32_t> zero_point;   ///< ONNX zero points (0 for symmetric)
  std::vector<float> min, max;       ///< represented range per channel
};

class QuantModel {
 public:
  /// Places quantizers on the session's plan (spec section 1). Throws qm::Error.
  explicit QuantModel(api::Session& session);
  const std::vector<Quantizer>& quantizers() const;
  const std::vector<Layer>& layers() const;
  api::Session& session();
  /// A config with every quantizer set to `w_bits` (weights) / `a_bits` (activations).
  QuantConfig homogeneous(int w_bits, int a_bits) const;
};

}  // namespace qm::quant
