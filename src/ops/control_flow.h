// Control flow: If, Loop and Scan, whose bodies are subgraphs (node attributes then_branch,
// else_branch, body).
//
// Outer scope: a subgraph may read names of the enclosing graphs without declaring them as
// inputs. graph::Graph appends those names (subgraph_outer_names(), nested subgraphs included)
// to the node's inputs after its declared ones, as ONNX Runtime's "implicit inputs": the plan,
// the memory plan and the executor then treat them as ordinary inputs, and the op's run receives
// their tensors after its declared inputs. A nested control-flow node inside a subgraph gets its
// implicit inputs the same way from the subgraph it sits in.
//
// Subgraphs are compiled when the node is parsed (nodes indexed, attributes parsed, a
// topological order, a memory plan) and interpreted by run_subgraph() inside the op's run. Their
// values are not offered to executor hooks, so the quantization simulation leaves layers inside
// subgraphs in float. Per-node caches of subgraph nodes (packed weights of constant initializers)
// live in the control-flow node's own cache slot.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "onnx/model.h"
#include "ops/registry.h"
#include "ops/tensor_info.h"

namespace qm::ops {

/// The engine's limit on Loop iterations (and scan lengths): beyond it a Loop is an error naming
/// the node instead of a run that never ends.
constexpr int64_t kMaxLoopIterations = int64_t{1} << 20;

/// True if the node has a GRAPH or GRAPHS attribute.
bool has_subgraphs(const onnx::Node& node);

/// Names the subgraphs of `node` (nested ones included) read from enclosing scopes: used but not
/// defined inside. Sorted, each once; empty for nodes without subgraphs.
std::vector<std::string> subgraph_outer_names(const onnx::Node& node);

/// Op types inside the subgraphs of `node` (nested too) that the default registry cannot run at
/// default-domain opset `opset` ("domain.Op" outside ai.onnx), each once, in order of occurrence.
std::vector<std::string> subgraph_unsupported_ops(const onnx::Node& node, int64_t opset);

/// A Conv/ConvTranspose/Gemm/MatMul inside a subgraph, for inspect: its path, the facts shape
/// inference gives about its data input, weight and output, and how often it runs.
struct SubgraphLayer {
  std::string name;      ///< "<node>/<attribute>/<layer>", nested paths joined the same way
  const onnx::Node* node = nullptr;
  std::shared_ptr<const OpAttrs> attrs;
  TensorInfo x, w, y;    ///< input 0, input 1, output 0
  bool weight_constant = false;  ///< input 1 is an initializer of a subgraph or of the model
  /// Executions per run of the model when known: 1 in an If branch (only one branch runs: its
  /// control-flow node is `branch_of`), the trip count or scan length of a Loop/Scan body when
  /// inference knows it; nullopt when it depends on run-time values.
  std::optional<int64_t> repeat;
  std::string branch_of;  ///< the If node whose branch holds the layer ("" if none)
  std::string branch;     ///< "then_branch" / "else_branch" of that If
};

/// The layers inside the subgraphs of control-flow node `node` (parsed attributes `attrs`, which
/// must come from this registry's If/Loop/Scan parse), with `inputs` the facts about its inputs
/// (declared, then implicit ones, as the graph gives them). Never throws on odd models: facts
/// that cannot be inferred stay unknown.
std::vector<SubgraphLayer> subgraph_layers(const onnx::Node& node, const OpAttrs* attrs,
                                           const std::vector<const TensorInfo*>& inputs);

/// Elements of float initializers and float Constant tensors inside the subgraphs of `node`
/// (nested too), as inspect counts parameters.
int64_t subgraph_params(const onnx::Node& node);

}  // namespace qm::ops
