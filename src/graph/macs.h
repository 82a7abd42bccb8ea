// Multiply-accumulate counts of the layers quantmix quantizes (Conv, ConvTranspose, Gemm, MatMul),
// from inferred shapes (spec amp.md §5):
//   Conv          = output elements × (C_in / group) × prod(kernel)     (= out × prod(W.shape[1:]))
//   ConvTranspose = input elements × (C_out / group) × prod(kernel)     (= in × prod(W.shape[1:]))
//   Gemm          = M × N × K
//   MatMul        = output elements × K   (every batch and token dimension counts)
// These are totals over the whole tensors; divide by the batch size for "per sample".
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "graph/graph.h"
#include "graph/shape_inference.h"

namespace qm::graph {

/// True for Conv, ConvTranspose, Gemm and MatMul in the default domain.
bool is_layer_op(const Node& n);

/// MACs of layer `n` for its whole input tensors; nullopt if a dimension it needs is unknown or
/// `n` is not a layer op.
std::optional<int64_t> node_macs(const Graph& g, const Node& n, const ValueInfos& infos);

/// The same from the facts about the layer's input 0 (`x`), input 1 (`w`) and output 0 (`y`)
/// (any may be null), for layers that are not nodes of a Graph (inside If/Loop/Scan subgraphs).
/// `op` is Conv, ConvTranspose, Gemm or MatMul; `attrs` its parsed attributes.
std::optional<int64_t> layer_macs(const std::string& op, const ops::OpAttrs* attrs, const ops::TensorInfo* x,
                                  const ops::TensorInfo* w, const ops::TensorInfo* y);

/// What "per sample" means for a model's MACs: the batch is the leading dimension of the first
/// input (when it has rank >= 2). A fixed batch divides the totals; a symbolic or unknown one is
/// set to 1 wherever it appears (the first input's lead and every input dimension of the same
/// symbol) and the shapes are inferred again.
struct PerSampleShapes {
  std::optional<int64_t> batch;     ///< the fixed batch (>= 1) to divide totals by
  bool batch_dynamic = false;       ///< the lead dimension is symbolic or unknown
  std::string batch_symbol;         ///< its symbol ("" when unnamed)
  std::optional<ValueInfos> batch1; ///< with batch_dynamic: the shapes at batch 1
  /// The shapes to count per-sample MACs with: batch1 when there is one, else `infos`.
  const ValueInfos& mac_infos(const ValueInfos& infos) const { return batch1 ? *batch1 : infos; }
  int64_t divisor() const { return batch.value_or(1); }
};

/// The above for `g`, whose shapes inferred with `overrides` are `infos`. Throws infer_shapes'
/// Error when the batch-1 inference fails (callers add their context).
PerSampleShapes per_sample_shapes(const Graph& g, const InputShapeOverrides& overrides, const ValueInfos& infos);

}  // namespace qm::graph
