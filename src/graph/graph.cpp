#include "graph/graph.h"

#include <algorithm>
#include <functional>
#include <queue>
#include <set>

#include "core/error.h"
#include "ops/control_flow.h"

namespace qm::graph {
namespace {

[[noreturn]] void invalid(const std::string& msg) { throw Error(ErrorKind::InvalidModel, msg); }

std::string node_ref(const Node& n) { return "node '" + n.name + "' (" + n.op_type() + ")"; }

std::string count_range(int lo, int hi) {
  if (lo == hi) return std::to_string(lo);
  if (hi == ops::kVariadic) return "at least " + std::to_string(lo);
  return std::to_string(lo) + " to " + std::to_string(hi);
}

}  // namespace

std::string qualified_op_type(const onnx::Node& node) {
  const std::string d = ops::normalize_domain(node.domain);
  return d.empty() ? node.op_type : d + "." + node.op_type;
}

ValueId Graph::add_value(const std::string& name, ValueKind kind) {
  const ValueId id = static_cast<ValueId>(values_.size());
  Value v;
  v.name = name;
  v.kind = kind;
  values_.push_back(std::move(v));
  by_name_.emplace(name, id);
  return id;
}

std::optional<ValueId> Graph::find(std::string_view name) const {
  auto it = by_name_.find(name);
  if (it == by_name_.end()) return std::nullopt;
  return it->second;
}

Graph::Graph(const onnx::Model& model, const ops::OpRegistry& registry) : model_(&model) {
  if (!model.graph) invalid("model has no graph");
  const onnx::Graph& g = *model.graph;

  for (const onnx::Tensor& t : g.initializer) {
    if (t.name.empty()) invalid("an initializer has no name");
    if (find(t.name)) invalid("initializer '" + t.name + "' is defined twice");
    values_[static_cast<size_t>(add_value(t.name, ValueKind::Initializer))].initializer = &t;
  }
  for (const onnx::SparseTensor& t : g.sparse_initializer) {
    if (t.values.name.empty()) invalid("a sparse initializer has no name");
    if (find(t.values.name)) invalid("initializer '" + t.values.name + "' is defined twice");
    add_value(t.values.name, ValueKind::Initializer);
  }
  std::set<std::string> input_names;
  for (const onnx::ValueInfo& vi : g.input) {
    if (vi.name.empty()) invalid("a graph input has no name");
    if (!input_names.insert(vi.name).second) invalid("graph input '" + vi.name + "' is declared twice");
    if (auto id = find(vi.name)) {
      values_[static_cast<size_t>(*id)].declared = &vi;  // an initializer listed as input
      continue;
    }
    const ValueId id = add_value(vi.name, ValueKind::Input);
    values_[static_cast<size_t>(id)].declared = &vi;
    inputs_.push_back(id);
  }

  index_nodes(registry);

  for (const onnx::ValueInfo& vi : g.output) {
    auto id = find(vi.name);
    if (!id)
      invalid("graph output '" + vi.name + "' is not produced by any node, input or initializer");
    Value& v = values_[static_cast<size_t>(*id)];
    v.is_graph_output = true;
    if (v.kind == ValueKind::NodeOutput) v.declared = &vi;
    outputs_.push_back(*id);
  }
  for (const onnx::ValueInfo& vi : g.value_info) {
    if (auto id = find(vi.name)) {
      Value& v = values_[static_cast<size_t>(*id)];
      if (!v.declared) v.declared = &vi;
    }
  }

  sort_topologically();

  // Constant propagation of "is fixed": initializers, Constant nodes, and deterministic
  // supported ops whose inputs are all fixed.
  constant_.assign(values_.size(), false);
  for (size_t i = 0; i < values_.size(); ++i)
    constant_[i] = values_[i].kind == ValueKind::Initializer;
  for (int ni : topo_) {
    const Node& n = nodes_[static_cast<size_t>(ni)];
    bool fixed = n.supported() && (n.op_type() == "Constant" || !n.inputs.empty());
    for (ValueId in : n.inputs)
      if (in != kNoValue && !constant_[static_cast<size_t>(in)]) fixed = false;
    if (n.op_type() == "Dropout" && n.inputs.size() > 2) fixed = false;  // training_mode may be set
    for (ValueId out : n.outputs)
      if (out != kNoValue) constant_[static_cast<size_t>(out)] = fixed;
  }
}

void Graph::index_nodes(const ops::OpRegistry& registry) {
  const onnx::Graph& g = *model_->graph;
  const onnx::Model& m = *model_;

  // Stable names: explicit names first, so generated ones can avoid them.
  std::set<std::string> taken;
  for (const onnx::Node& n : g.node)
    if (!n.name.empty()) taken.insert(n.name);
  nodes_.resize(g.node.size());
  for (size_t i = 0; i < g.node.size(); ++i) {
    Node& n = nodes_[i];
    n.proto = &g.node[i];
    n.index = static_cast<int>(i);
    n.name = n.proto->name;
    if (n.name.empty()) {
      const std::string base = n.proto->op_type + "_" + std::to_string(i);
      std::string name = base;
      for (int k = 1; taken.count(name); ++k) name = base + "_" + std::to_string(k);
      taken.insert(name);
      n.name = name;
    }
    n.domain = ops::normalize_domain(n.proto->domain);
    n.opset = m.opset_version(n.domain);
    // IR versions before 3 had no opset_import: the default domain was at version 1.
    if (n.opset == 0 && n.domain.empty() && m.ir_version < 3 && m.opset_import.empty()) n.opset = 1;
    if (n.opset == 0 && n.domain.empty())
      invalid(node_ref(n) + ": the model imports no opset for the default ONNX domain");
  }

  // Outputs: each name produced once.
  for (Node& n : nodes_) {
    for (const std::string& out : n.proto->output) {
      if (out.empty()) {
        n.outputs.push_back(kNoValue);
        continue;
      }
      if (auto id = find(out)) {
        const Value& v = values_[static_cast<size_t>(*id)];
        std::string other = v.kind == ValueKind::Input ? "a graph input"
                            : v.kind == ValueKind::Initializer
                                ? "an initializer"
                                : node_ref(nodes_[static_cast<size_t>(v.producer)]);
        invalid(node_ref(n) + ": output '" + out + "' is already produced by " + other);
      }
      const ValueId id = add_value(out, ValueKind::NodeOutput);
      values_[static_cast<size_t>(id)].producer = n.index;
      n.outputs.push_back(id);
    }
  }

  // Inputs: every name must exist somewhere.
  for (Node& n : nodes_) {
    for (const std::string& in : n.proto->input) {
      if (in.empty()) {
        n.inputs.push_back(kNoValue);
        continue;
      }
      auto id = find(in);
      if (!id)
        invalid(node_ref(n) + ": input '" + in +
                "' is not a graph input, an initializer or the output of any node");
      n.inputs.push_back(*id);
      auto& cons = values_[static_cast<size_t>(*id)].consumers;
      if (cons.empty() || cons.back() != n.index) cons.push_back(n.index);
    }
    // Names its subgraphs read from this scope become implicit inputs after the declared ones
    // (ops/control_flow.h), so the plan keeps them alive and the op receives them.
    for (const std::string& in : ops::subgraph_outer_names(*n.proto)) {
      auto id = find(in);
      if (!id)
        invalid(node_ref(n) + ": a subgraph reads '" + in +
                "', which is not defined in it or in an enclosing graph");
      n.inputs.push_back(*id);
      auto& cons = values_[static_cast<size_t>(*id)].consumers;
      if (std::find(cons.begin(), cons.end(), n.index) == cons.end()) cons.push_back(n.index);
    }
  }

  // Registry lookup, arity and attributes.
  for (Node& n : nodes_) {
    n.def = registry.find(n.domain, n.op_type(), n.opset);
    if (!n.def) continue;
    const int nin = static_cast<int>(n.proto->input.size());
    const int nout = static_cast<int>(n.proto->output.size());
    if (nin < n.def->min_inputs || nin > n.def->max_inputs)
      invalid(node_ref(n) + ": expected " + count_range(n.def->min_inputs, n.def->max_inputs) +
              " inputs, got " + std::to_string(nin));
    for (int i = 0; i < n.def->min_inputs; ++i)
      if (n.proto->input[static_cast<size_t>(i)].empty())
        invalid(node_ref(n) + ": input " + std::to_string(i) + " is required but empty");
    if (nout < n.def->min_outputs || nout > n.def->max_outputs)
      invalid(node_ref(n) + ": expected " + count_range(n.def->min_outputs, n.def->max_outputs) +
              " outputs, got " + std::to_string(nout));
    if (n.def->parse) n.attrs = n.def->parse(ops::ParseContext(*n.proto, n.name, n.opset));
  }
}

void Graph::sort_topologically() {
  const size_t n = nodes_.size();
  // Dependencies: explicit inputs plus names that subgraphs read from this scope.
  std::vector<std::vector<int>> preds(n);
  for (size_t i = 0; i < n; ++i) {
    const Node& node = nodes_[i];
    auto add_pred = [&](ValueId v) {
      if (v == kNoValue) return;
      const int p = values_[static_cast<size_t>(v)].producer;
      if (p >= 0) preds[i].push_back(p);
    };
    for (ValueId v : node.inputs) add_pred(v);
    // Names its subgraphs read from this scope are inputs too (ordering).
    for (const std::string& name : ops::subgraph_outer_names(*node.proto))
      if (auto id = find(name)) add_pred(*id);
  }
  std::vector<int> pending(n, 0);
  std::vector<std::vector<int>> succs(n);
  for (size_t i = 0; i < n; ++i) {
    std::sort(preds[i].begin(), preds[i].end());
    preds[i].erase(std::unique(preds[i].begin(), preds[i].end()), preds[i].end());
    for (int p : preds[i]) {
      if (p == static_cast<int>(i)) continue;  // self-loop: caught below as a cycle
      succs[static_cast<size_t>(p)].push_back(static_cast<int>(i));
    }
    pending[i] = static_cast<int>(preds[i].size());
  }
  // Kahn's algorithm, smallest index first, so a sorted graph keeps its order.
  std::priority_queue<int, std::vector<int>, std::greater<int>> ready;
  for (size_t i = 0; i < n; ++i)
    if (pending[i] == 0) ready.push(static_cast<int>(i));
  topo_.clear();
  while (!ready.empty()) {
    const int i = ready.top();
    ready.pop();
    topo_.push_back(i);
    for (int s : succs[static_cast<size_t>(i)])
      if (--pending[static_cast<size_t>(s)] == 0) ready.push(s);
  }
  if (topo_.size() == n) return;

  // Find one cycle: walk predecessors among the unsorted nodes until a node repeats.
  std::vector<bool> left(n, false);
  for (size_t i = 0; i < n; ++i) left[i] = pending[i] > 0;
  int cur = -1;
  for (size_t i = 0; i < n && cur < 0; ++i)
    if (left[i]) cur = static_cast<int>(i);
  std::vector<int> path;
  std::vector<int> pos(n, -1);
  while (pos[static_cast<size_t>(cur)] < 0) {
    pos[static_cast<size_t>(cur)] = static_cast<int>(path.size());
    path.push_back(cur);
    int next = -1;
    for (int p : preds[static_cast<size_t>(cur)])
      if (left[static_cast<size_t>(p)]) { next = p; break; }
    if (next < 0) break;  // cannot happen: an unsorted node has an unsorted predecessor
    cur = next;
  }
  std::vector<int> cycle(path.begin() + pos[static_cast<size_t>(cur)], path.end());
  std::reverse(cycle.begin(), cycle.end());
  std::string names;
  for (size_t k = 0; k < cycle.size() && k < 8; ++k) {
    if (k) names += " -> ";
    names += "'" + nodes_[static_cast<size_t>(cycle[k])].name + "'";
  }
  if (cycle.size() > 8) names += " -> ...";
  invalid("graph has a cycle: " + node_ref(nodes_[static_cast<size_t>(cycle[0])]) +
          " depends on its own output (cycle " + names + ")");
}

std::vector<std::string> Graph::unsupported_op_types() const {
  std::vector<std::string> out;
  for (const Node& n : nodes_) {
    if (!n.supported()) {
      std::string t = qualified_op_type(*n.proto);
      if (std::find(out.begin(), out.end(), t) == out.end()) out.push_back(std::move(t));
    }
    if (n.supported() && ops::has_subgraphs(*n.proto))
      for (std::string& t : ops::subgraph_unsupported_ops(*n.proto, n.opset))
        if (std::find(out.begin(), out.end(), t) == out.end()) out.push_back(std::move(t));
  }
  return out;
}

}  // namespace qm::graph
