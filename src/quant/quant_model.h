// The quantization view of a prepared model (spec ../shared/spec/amp.md sections 1-2): where the
// quantizers sit, which layers they feed, and a config that sets each one's bits. Encodings
// (calibration.h), the simulator (simulator.h), the metric (metrics.h) and the encodings JSON
// (encodings_json.h) build on it.
//
// This is the contract between src/quant (placement, calibration, simulation, export) and
// src/mixed_precision (groups, cost, search). Everything here refers to a graph::Plan (the one an
// api::Session prepared): value ids are plan value ids, so BN-folded weights are the weights that
// get quantized, and Relu/Clip already fused into a Conv/Gemm step have their output (the
// activation's output value) as that step's output.
//
// Placement (amp.md section 1), over the plan's steps:
//   - a Layer + weight quantizer for every Conv, ConvTranspose, Gemm, MatMul whose input 1 is a
//     float plan constant (axis: Conv 0, ConvTranspose 1, Gemm transB ? 0 : 1, MatMul rank-1);
//   - an activation quantizer on every float model input that reaches (through data movement)
//     an op that is not data movement, and on every float output of a step that is not data
//     movement, except the pre-activation output of a fused unit: a Conv/ConvTranspose/Gemm/
//     MatMul/Add whose output's only consumer is Relu, Clip, LeakyRelu or HardSwish (and which is
//     not a graph output) gets no quantizer; the activation's output does;
//   - data movement (Reshape, Flatten, Transpose, Squeeze, Unsqueeze, Slice, Gather, Split,
//     Identity, Dropout, Pad mode=constant with value 0, MaxPool, Resize mode=nearest) keeps its
//     data input's grid: its outputs get no quantizer. Exception: data movement whose data input
//     is a float constant (e.g. an embedding table read by Gather) computes new values for the
//     quantized graph and gets a quantizer on its output;
//   - integer/bool tensors, constants (other than layer weights) and shape computations (values
//     that depend on the model inputs only through Shape/Size, even when float) are never quantized;
//   - inside If/Loop/Scan subgraphs (nested ones too) the same rules place quantizers on the
//     subgraph's nodes: layers whose weight is an initializer of the subgraph (or of an enclosing
//     one) or a constant of the main graph, activations on what its nodes compute. Their plan step is the control-flow node's
//     (switching one on recomputes that node); their values are not plan values, so each gets a
//     virtual id past the plan's (num_values()) and a path (Quantizer::path), by which the
//     simulator finds it (ops::SubgraphHooks). A layer reading a grid of an enclosing graph, or a
//     Scan body's slice of one, joins that grid's group; a layer reading a Loop or Scan state
//     (the enclosing value at the first iteration, the body's output after) has no input quantizer.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "graph/plan.h"
#include "graph/shape_inference.h"

namespace qm::quant {

enum class QuantizerKind { Weight, Activation };

/// One quantizer: a weight tensor (per-channel, symmetric) or an activation tensor (per-tensor,
/// asymmetric unsigned).
struct Quantizer {
  int id = -1;                       ///< index into QuantModel::quantizers
  QuantizerKind kind = QuantizerKind::Activation;
  graph::ValueId value = -1;         ///< the plan value it quantizes (resolved; weights: the plan
                                     ///< constant, which is the BN-folded tensor where BN was folded)
  /// The ONNX tensor name (encodings JSON key). Weights: the layer node's input-1 name as in the
  /// file, also when the plan folded a BatchNormalization into it (plan.constant(value) holds the
  /// folded data). Activations: the name of the quantized tensor (a fused unit's activation output).
  std::string tensor;
  int layer = -1;                    ///< weights: index into QuantModel::layers
  int axis = 0;                      ///< weights: the per-channel axis (spec section 1); -1 activations
  /// Activations: layers whose data input (input 0) carries this grid, looking through data movement.
  std::vector<int> consumer_layers;
  /// Activations: op types of the non-data-movement steps that read this grid (each once, in step
  /// order), looking through data movement; for profiles.
  std::vector<std::string> consumer_ops;
  std::string producer_op;           ///< activations: op type that computes it ("" = model input);
                                     ///< a fused unit's activation op type (e.g. "Relu") where fused
  int producer_step = -1;            ///< activations: plan step producing it (-1 = model input)
  /// Activations: plan steps that read this grid, directly or through data movement (sorted).
  std::vector<int> consumer_steps;
  /// Inside an If/Loop/Scan subgraph: the path prefix of the graph it sits in
  /// (ops::subgraph_scope: "<node>/<attribute>/" per level); "" in the main graph.
  std::string scope;
  /// Inside a subgraph: activations, scope + the value's name; weights, scope + the layer node's
  /// name (its Layer::name). `value` is then a virtual id past the plan's values (see QuantModel).
  std::string path;
};

/// Blocked weight scales: the weight viewed as [outer, K, inner], K = the layer's reduction
/// (Conv: C_in/group x kernel positions, flattened; Gemm/MatMul: the K axis), with one scale per
/// `block` consecutive elements of K for each (outer, inner); the last block may be shorter.
/// Scales are laid out [outer, blocks, inner]: ONNX's blocked DequantizeLinear layout for a
/// weight stored as [outer, K, inner] (the export stores a Conv weight as [C_out, K] and
/// reshapes it back).
struct BlockLayout {
  int axis = -1;        ///< first weight dim of K; -1: the layer has no blocked form (ConvTranspose)
  int k_dims = 1;       ///< number of weight dims, from `axis` on, that make K
  int64_t outer = 1, k = 1, inner = 1;
  bool ok() const { return axis >= 0; }
  int64_t blocks(int block) const { return (k + block - 1) / block; }
  int64_t scales(int block) const { return outer * blocks(block) * inner; }
};
/// Block sizes a blocked candidate may use: powers of two in [kMinWeightBlock, kMaxWeightBlock].
inline constexpr int kMinWeightBlock = 16, kMaxWeightBlock = 1024;
bool valid_weight_block(int block);
/// The block layout of an `op` layer whose weight of `shape` is quantized per channel along
/// `channel_axis` (Conv: K = dims 1.., Gemm: the other of the two axes, MatMul: rank - 2).
BlockLayout block_layout(const std::string& op, const Shape& shape, int channel_axis);

/// A weighted layer: Conv, ConvTranspose, Gemm, MatMul with a constant float weight input.
struct Layer {
  std::string name;                  ///< ONNX node name (graph::Node::name: generated stable name if empty)
  std::string op;                    ///< op type
  int node = -1;                     ///< graph node index
  int step = -1;                     ///< plan step index
  int weight_quantizer = -1;
  int input_quantizer = -1;          ///< activation quantizer of its data input (-1: none)
  int output_quantizer = -1;         ///< activation quantizer of its output (-1: none)
  int64_t macs = 0;                  ///< per sample, token dims included (spec section 5); 0 unknown
  int64_t weight_elements = 0;
  Shape weight_shape;
  BlockLayout blocks;                ///< its weight's blocked form (blocks.ok() false: none)
  /// Where bias correction goes (Encoding::bias_shift): the float constant added to this layer's
  /// output channels, read by this step only: a Conv's bias or a Gemm's C (alpha == beta, one
  /// value per output column: input `bias_input` of the layer's own step), or the constant of the
  /// Add that alone reads a MatMul's output (`bias_step` is that Add). kNoValue: none.
  graph::ValueId bias = graph::kNoValue;
  int bias_step = -1, bias_input = -1;
  /// Inside an If/Loop/Scan subgraph (see Quantizer::scope; "" in the main graph). Then `name` is
  /// its path (as inspect lists it), `node` and `step` are the control-flow node's in the main
  /// graph, and `output_path` is the path of its output grid's value (a fused activation's where
  /// fused). Layers inside subgraphs get no bias correction.
  std::string scope;
  std::string output_path;
};

/// Bits per quantizer; 0 = off (floating point). Indexed by Quantizer::id.
struct QuantConfig {
  std::vector<int> bits;
  /// Weight quantizers with blocked scales: block[q] = the block size (BlockLayout), 0 = per
  /// channel. Empty = every weight per channel.
  std::vector<int> block;

  int block_of(size_t q) const { return q < block.size() ? block[q] : 0; }
  /// Sets quantizer q's block size (0 = per channel).
  void set_block(size_t q, int b);
  /// True if any quantizer is on.
  bool any() const;
  /// Identifies the configuration (bits, then block sizes where any is set): for maps.
  std::vector<int> key() const;
};

/// One quantizer's encoding at one bit-width. Per-channel weights: one entry per channel.
/// q = clamp(round_half_even(x / scale) + zero_point, qmin, qmax), y = (q - zero_point) * scale.
/// AIMET convention in JSON: offset = -zero_point.
struct Encoding {
  int bits = 8;
  bool symmetric = false;            ///< true: signed range, zero_point 0 (weights)
  int axis = -1;                     ///< -1 per tensor; blocked: the first dim of K (BlockLayout)
  /// Blocked weights: the block size (> 0), and the number of dims from `axis` that make K. Then
  /// scale/zero_point/min/max hold one entry per block, laid out [outer, blocks, inner].
  int block = 0;
  int block_k_dims = 1;
  std::vector<float> scale;
  std::vector<int32_t> zero_point;   ///< ONNX zero points (0 for symmetric)
  std::vector<float> min, max;       ///< represented range per channel: (qmin-zp)*scale, (qmax-zp)*scale
  /// Weights with learned rounding (learned_rounding.h): the integer of every weight element, in
  /// the weight's order; the simulation and the export use these instead of round-to-nearest.
  /// Empty: round to nearest.
  std::vector<int8_t> levels;
  /// Weights with bias correction (output_aware.h bias_shift): added to the layer's bias
  /// (Layer::bias), one per output channel, in the simulation and the export. Empty: none.
  std::vector<float> bias_shift;

  /// False for an activation inside a subgraph that no calibration sample ran (a branch never
  /// taken, a loop body never entered): it has no scales and stays float, in the simulation, the
  /// export and the encodings JSON.
  bool calibrated() const { return !scale.empty(); }

  /// Integer range at the TRUE bit-width: symmetric [-2^(b-1), 2^(b-1)-1], else [0, 2^b-1].
  int32_t qmin() const { return symmetric ? -(int32_t{1} << (bits - 1)) : 0; }
  int32_t qmax() const { return symmetric ? (int32_t{1} << (bits - 1)) - 1 : (int32_t{1} << bits) - 1; }
  size_t channels() const { return scale.size(); }
};

/// True if `op` (default domain) only copies or selects values (keeps its input's grid), given
/// its node (Pad/Resize attributes checked) and the plan (Pad's constant value).
bool is_data_movement(const graph::Plan& plan, const graph::Step& step);

struct PlacementOptions {
  /// Input shapes used for MACs where the model's are dynamic (like inspect --input-shape).
  /// A dynamic leading (batch) dimension is taken as 1 anyway.
  graph::InputShapeOverrides input_shapes;
};

class QuantModel {
 public:
  /// Places quantizers on `plan` (spec section 1; the plan must outlive this). Throws qm::Error.
  explicit QuantModel(const graph::Plan& plan, const PlacementOptions& options = {});

  const graph::Plan& plan() const { return *plan_; }
  const std::vector<Quantizer>& quantizers() const { return quantizers_; }
  const std::vector<Layer>& layers() const { return layers_; }
  const Quantizer& quantizer(int q) const { return quantizers_[static_cast<size_t>(q)]; }

  /// The quantizer sitting on plan value `v` (its own value, not data-movement descendants), or -1.
  int quantizer_on(graph::ValueId v) const;
  /// The activation quantizer whose grid value `v` carries (itself or through data movement), or -1.
  int grid_of(graph::ValueId v) const;
  /// The quantizer whose Quantizer::tensor is `name` (weights and activations), or -1.
  int find_tensor(const std::string& name) const;

  /// The float tensor weight quantizer `q` quantizes (the plan constant, or the initializer of
  /// the subgraph its layer sits in). Throws for an activation quantizer.
  const Tensor& weight(int q) const;
  /// The virtual value id of the activation quantizer on subgraph value `path` (Quantizer::path),
  /// or kNoValue. The simulator offers the values inside subgraphs to value hooks by these ids.
  graph::ValueId inner_value(const std::string& path) const;
  /// The weight quantizer of the layer at subgraph node path `node_path` (Layer::name), or -1.
  int inner_weight(const std::string& node_path) const;
  /// True if some quantizer sits inside a subgraph.
  bool has_subgraph_quantizers() const { return !inner_constants_.empty(); }
  /// Plan values plus the virtual ones of quantizers inside subgraphs: every ValueId a value
  /// hook of the simulation may see is below this.
  size_t num_values() const { return plan_->num_values() + inner_constants_.size(); }

  /// A config with every weight quantizer at `w_bits` (with blocked scales of `w_block` where the
  /// layer has a blocked form, else per channel) and every activation quantizer at `a_bits`.
  QuantConfig homogeneous(int w_bits, int a_bits, int w_block = 0) const;
  /// Everything off (the FP model).
  QuantConfig off() const;

  /// The first plan step whose computation changes when quantizer `q` is switched on: weights, the
  /// layer's step; activations, the first step reading the value (or its producer if it is a
  /// graph output read by no step; 0 for a model input read by no step).
  size_t first_affected_step(int q) const;
  /// The first step affected by any quantizer on in `config` (steps().size() if none is on).
  size_t first_affected_step(const QuantConfig& config) const;

  /// Sets a layer's MACs (the calibrator does this from actual shapes where inference left them
  /// unknown: a fact about the model, hence const).
  void set_layer_macs(int layer, int64_t macs) const { layers_[static_cast<size_t>(layer)].macs = macs; }

 private:
  // Quantizers and layers inside If/Loop/Scan subgraphs (spec section 1 as in the main graph).
  void place_in_subgraphs(const graph::ValueInfos& infos, const graph::ValueInfos& mac_infos, int64_t divisor,
                          const std::vector<bool>& data, std::vector<Quantizer>& qs);

  const graph::Plan* plan_;
  std::vector<Quantizer> quantizers_;
  mutable std::vector<Layer> layers_;
  std::vector<int> on_value_;    // per plan value: quantizer on it or -1
  std::vector<int> grid_;        // per plan value: grid quantizer or -1
  std::map<std::string, int> by_tensor_;
  std::map<std::string, graph::ValueId> inner_paths_;  // activations: Quantizer::path -> virtual value id
  std::map<std::string, graph::ValueId> inner_layers_;  // weights: Quantizer::path -> virtual value id
  std::vector<const Tensor*> inner_constants_;         // per virtual id - plan values: a weight, or null
};

}  // namespace qm::quant
