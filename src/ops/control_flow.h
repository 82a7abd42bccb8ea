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
// Subgraphs are compiled when the node is parsed (nodes indexed, attributes parsed, Constant
// nodes computed into the subgraph's constants, a topological order, a memory plan) and
// interpreted by run_subgraph() inside the op's run. The
// values they compute and the constants their nodes read are offered to the SubgraphHooks the
// caller set on the node's RunContext (ops/registry.h), by path: that is how the quantization
// simulation calibrates and fake-quantizes layers inside subgraphs. Per-node caches of subgraph
// nodes (packed weights of constant initializers) live in the control-flow node's own cache slot;
// a node whose constant a hook replaced runs without its cache.
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

/// The names of `g`'s nodes as the engine uses them, unique within `g`: the node's own; for an
/// unnamed node "<op>_<index>", as graph::Graph names the main graph's; for a node whose name an
/// earlier node has, "<name>_<k>". Depends only on the node list (op types, names, order).
std::vector<std::string> subgraph_node_names(const onnx::Graph& g);

/// The path prefix of the values and nodes inside subgraph attribute `attr` of node `node`,
/// which sits in the graph of prefix `scope` ("" for the main graph): "<scope><node>/<attr>/".
std::string subgraph_scope(const std::string& scope, const std::string& node, const std::string& attr);

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

/// A node inside the subgraphs of a control-flow node, with the facts shape inference gives
/// about it: what quantizer placement needs (quant/quant_model.h).
struct SubgraphNode {
  std::string scope;     ///< path prefix of the graph it sits in (subgraph_scope)
  const onnx::Graph* graph = nullptr;  ///< that graph (in the model the node was parsed from)
  std::string name;      ///< its name (subgraph_node_names): its path is scope + name
  const onnx::Node* node = nullptr;
  bool supported = false;                ///< the engine has the op (it may run it)
  std::shared_ptr<const OpAttrs> attrs;  ///< parsed attributes (null for ops that have none)
  std::vector<std::string> inputs;       ///< declared, then implicit (nested subgraphs' outer names)
  std::vector<std::string> outputs;      ///< "" for omitted outputs
  std::vector<TensorInfo> in, out;       ///< facts per input (unknown where omitted) and output
  /// Per input: the initializer it reads (of its subgraph or an enclosing one), else null. The
  /// tensors live in the control-flow node's parsed attributes.
  std::vector<const Tensor*> init;
  std::optional<int64_t> repeat;         ///< as SubgraphLayer::repeat
  std::string branch_of, branch;         ///< as SubgraphLayer
};

/// Every node inside the subgraphs of control-flow node `node`, named `name` by the engine (its
/// graph::Node name; other arguments as subgraph_layers): each subgraph's nodes in the order they
/// run, a nested subgraph's after its enclosing one's.
std::vector<SubgraphNode> subgraph_nodes(const onnx::Node& node, const std::string& name, const OpAttrs* attrs,
                                         const std::vector<const TensorInfo*>& inputs);

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
