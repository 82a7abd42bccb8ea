// A validated, indexed view over an onnx::Graph: every tensor name becomes a Value with its
// producer and consumers, every node gets a stable display name, its registry entry and its
// parsed attributes, and the nodes get a topological order.
//
// Validation (qm::Error(InvalidModel), one line naming the node):
//   - a node input that is not a graph input, an initializer or some node's output
//     ("" marks an omitted optional input and is fine);
//   - a graph output that nothing produces;
//   - two producers of the same name (two nodes, or a node and an input/initializer);
//   - a cycle (the message names the nodes on it);
//   - a registered op with the wrong number of inputs/outputs or a bad attribute (from its parse).
// Nodes need not be listed in topological order (ONNX Runtime accepts that too); topo_order()
// gives one. Ops absent from the registry are kept as unsupported nodes (def == nullptr): loading
// does not fail, and their outputs get unknown shapes.
//
// Node names: a node with an empty name gets "<op_type>_<index>", index = its position in
// graph.node; if another node already carries that name, "_<k>" (k = 1, 2, ...) is appended until
// the name is unique. The same file always gives the same names.
//
// Inputs: graph inputs that are also initializers (models exported with
// keep_initializers_as_inputs) are initializers, not model inputs.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "onnx/model.h"
#include "ops/registry.h"

namespace qm::graph {

using ValueId = int32_t;
constexpr ValueId kNoValue = -1;

enum class ValueKind {
  Input,        ///< a graph input that is not an initializer
  Initializer,  ///< an initializer (or sparse initializer)
  NodeOutput,   ///< produced by a node (including Constant nodes)
};

struct Value {
  std::string name;
  ValueKind kind = ValueKind::NodeOutput;
  int producer = -1;              ///< node index for NodeOutput
  std::vector<int> consumers;     ///< node indices, in graph order, each once
  const onnx::Tensor* initializer = nullptr;    ///< dense initializer data, if any
  const onnx::ValueInfo* declared = nullptr;    ///< graph input/output/value_info entry, if any
  bool is_graph_output = false;
};

struct Node {
  const onnx::Node* proto = nullptr;
  int index = 0;                   ///< position in graph.node
  std::string name;                ///< the node's name, or the generated stable name
  std::string domain;              ///< normalised: "" for ai.onnx
  int64_t opset = 0;               ///< imported opset version of `domain` (0 if not imported)
  const ops::OpDef* def = nullptr; ///< nullptr: unsupported op
  std::shared_ptr<const ops::OpAttrs> attrs;  ///< parsed attributes (may be null)
  std::vector<ValueId> inputs;     ///< kNoValue for omitted optional inputs ("")
  std::vector<ValueId> outputs;    ///< kNoValue for omitted optional outputs ("")

  const std::string& op_type() const { return proto->op_type; }
  bool supported() const { return def != nullptr; }
};

class Graph {
 public:
  /// Indexes and validates `model.graph`. `model` must outlive the Graph. Throws
  /// Error(InvalidModel) as described above.
  explicit Graph(const onnx::Model& model,
                 const ops::OpRegistry& registry = ops::default_registry());

  const onnx::Model& model() const { return *model_; }
  const std::vector<Node>& nodes() const { return nodes_; }
  const std::vector<Value>& values() const { return values_; }
  const Node& node(int i) const { return nodes_[static_cast<size_t>(i)]; }
  const Value& value(ValueId v) const { return values_[static_cast<size_t>(v)]; }

  /// The value called `name`, if any.
  std::optional<ValueId> find(std::string_view name) const;
  /// Graph inputs that are not initializers, in declaration order.
  const std::vector<ValueId>& inputs() const { return inputs_; }
  /// Graph outputs, in declaration order.
  const std::vector<ValueId>& outputs() const { return outputs_; }
  /// Node indices in a topological order (graph order where it already is one).
  const std::vector<int>& topo_order() const { return topo_; }

  /// True if `v` is computed from initializers and Constant nodes only (so its value is fixed).
  bool is_constant(ValueId v) const { return constant_[static_cast<size_t>(v)]; }

  /// Op types (with "domain." prefix outside the default domain) that have no registry entry
  /// for their opset, each once, in order of first occurrence.
  std::vector<std::string> unsupported_op_types() const;

 private:
  ValueId add_value(const std::string& name, ValueKind kind);
  void index_nodes(const ops::OpRegistry& registry);
  void sort_topologically();

  const onnx::Model* model_;
  std::vector<Node> nodes_;
  std::vector<Value> values_;
  std::map<std::string, ValueId, std::less<>> by_name_;
  std::vector<ValueId> inputs_;
  std::vector<ValueId> outputs_;
  std::vector<int> topo_;
  std::vector<bool> constant_;
};

/// "<domain>.<op_type>" outside the default domain, else op_type (as inspect lists ops).
std::string qualified_op_type(const onnx::Node& node);

}  // namespace qm::graph
