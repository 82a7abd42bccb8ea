// Shape inference over a Graph: a TensorInfo (dtype, shape with numeric/symbolic/unknown dims,
// contents of small integer tensors) for every value, computed in topological order by each op's
// registry `infer` step. Nothing runs; integer shape arithmetic is folded on the way.
#pragma once

#include <functional>
#include <map>
#include <string>
#include <vector>

#include "graph/graph.h"
#include "ops/tensor_info.h"

namespace qm::graph {

/// One TensorInfo per value, indexed by ValueId.
using ValueInfos = std::vector<ops::TensorInfo>;

/// Input name -> shape to use instead of the declared one (e.g. from --input-shape).
using InputShapeOverrides = std::map<std::string, ops::Dims>;

/// Infers every value of `g`. Graph inputs take their declared type, with shapes from
/// `overrides` where given (the caller checks names and ranks); initializers give their dims and
/// small contents; outputs of unsupported ops are unknown, and so is whatever depends on them
/// only through unknown facts. Throws Error(InvalidModel) naming the node when shapes are
/// inconsistent (e.g. Conv channels that do not match the weight).
ValueInfos infer_shapes(const Graph& g, const InputShapeOverrides& overrides = {});

/// The inferred rank of each value of `g` by name, -1 where unknown (what raising an opset asks
/// of Softmax inputs: onnx::upgrade_to_opset21). Infers once; `g` must outlive the function.
std::function<int(const std::string&)> rank_lookup(const Graph& g);

}  // namespace qm::graph
