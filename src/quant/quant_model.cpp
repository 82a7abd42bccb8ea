#include "quant/quant_model.h"

#include <algorithm>
#include <functional>
#include <set>
#include <unordered_map>

#include "core/error.h"
#include "graph/macs.h"
#include "ops/control_flow.h"
#include "ops/gemm.h"

namespace qm::quant {
namespace {

using graph::kNoValue;
using graph::ValueId;

bool is_op(const graph::Node& n, std::initializer_list<const char*> names) {
  if (!n.domain.empty()) return false;
  for (const char* s : names)
    if (n.op_type() == s) return true;
  return false;
}

// Per-sample MACs of every layer node: shapes inferred with the (dynamic) batch set to 1, or
// divided by a fixed batch.
// Also gives the facts inference found (`infos_out`), and those MACs are counted from
// (`mac_infos_out`, empty when none) with their batch divisor.
std::vector<int64_t> layer_macs(const graph::Graph& g, const graph::InputShapeOverrides& overrides,
                                graph::ValueInfos* infos_out, graph::ValueInfos* mac_infos_out, int64_t* divisor_out) {
  std::vector<int64_t> macs(g.nodes().size(), 0);
  graph::ValueInfos infos;
  *divisor_out = 1;
  try {
    infos = graph::infer_shapes(g, overrides);
  } catch (const Error&) {
    // Shapes only serve MACs and dtypes here; the calibrator fills MACs from actual shapes.
    *infos_out = graph::ValueInfos(g.values().size());
    return macs;
  }
  graph::PerSampleShapes per_sample;
  const graph::ValueInfos* mi = nullptr;
  try {
    per_sample = graph::per_sample_shapes(g, overrides, infos);
    mi = &per_sample.mac_infos(infos);
  } catch (const Error&) {
    // No shapes at batch 1: no MACs here either (the calibrator fills them from actual shapes).
  }
  const int64_t divisor = per_sample.divisor();
  if (mi) {
    for (const graph::Node& n : g.nodes())
      if (graph::is_layer_op(n))
        if (auto m = graph::node_macs(g, n, *mi)) macs[static_cast<size_t>(n.index)] = *m / divisor;
    *mac_infos_out = *mi;
    *divisor_out = divisor;
  }
  *infos_out = std::move(infos);
  return macs;
}

// The per-channel axis of a layer's weight `w` (spec section 1); fails naming the node where the
// weight has no such axis.
int weight_axis(const std::string& node, const std::string& op, const ops::OpAttrs* attrs, const Tensor& w) {
  int axis = static_cast<int>(w.rank()) - 1;  // MatMul
  if (op == "Conv") {
    axis = 0;
  } else if (op == "ConvTranspose") {
    axis = 1;
  } else if (op == "Gemm") {
    const auto* a = static_cast<const ops::GemmAttrs*>(attrs);
    axis = a && a->trans_b ? 0 : 1;
  }
  if (axis < 0 || axis >= w.rank())
    throw Error(ErrorKind::Unsupported, "quantizer placement: node '" + node + "' (" + op + "): weight of shape " +
                                            shape_to_string(w.shape()) + " has no channel axis " + std::to_string(axis));
  return axis;
}

bool is_fused_activation(const onnx::Node& n) {
  return ops::normalize_domain(n.domain).empty() &&
         (n.op_type == "Relu" || n.op_type == "Clip" || n.op_type == "LeakyRelu" || n.op_type == "HardSwish");
}

// Layer::bias of `l` (see there), from the readers of each value and the graph outputs.
void find_bias(const graph::Plan& plan, Layer& l, const std::vector<std::vector<int>>& readers, const std::vector<bool>& is_output) {
  const auto& steps = plan.steps();
  const graph::Step& s = steps[static_cast<size_t>(l.step)];
  const Shape& ws = l.weight_shape;
  auto only_here = [&](graph::ValueId v, int step, int64_t n) {
    const Tensor* c = plan.constant(v);
    return c && c->dtype() == DataType::Float && c->numel() == n && readers[static_cast<size_t>(v)].size() == 1 &&
           readers[static_cast<size_t>(v)][0] == step && !is_output[static_cast<size_t>(v)];
  };
  auto set = [&](graph::ValueId v, int step, int input) {
    l.bias = v;
    l.bias_step = step;
    l.bias_input = input;
  };
  if ((l.op == "Conv" || l.op == "Gemm") && ws.size() >= 2 && s.inputs.size() > 2 && s.inputs[2] != kNoValue) {
    int64_t n = ws[0];
    if (l.op == "Gemm") {
      const auto* a = static_cast<const ops::GemmAttrs*>(s.attrs.get());
      if (!a || a->alpha != a->beta || ws.size() != 2) return;
      n = a->trans_b ? ws[0] : ws[1];
      const Tensor* c = plan.constant(s.inputs[2]);
      if (!c || c->shape().empty() || c->shape().back() != n) return;  // one value per output column
    }
    if (only_here(s.inputs[2], l.step, n)) set(s.inputs[2], l.step, 2);
    return;
  }
  if (l.op != "MatMul" || ws.size() != 2 || s.outputs.empty() || s.outputs[0] == kNoValue) return;
  const graph::ValueId y = s.outputs[0];
  if (is_output[static_cast<size_t>(y)] || readers[static_cast<size_t>(y)].size() != 1) return;
  const int a = readers[static_cast<size_t>(y)][0];
  const graph::Step& add = steps[static_cast<size_t>(a)];
  if (plan.graph().node(add.node).op_type() != "Add" || add.inputs.size() != 2) return;
  const int k = add.inputs[0] == y ? 1 : 0;
  if (add.inputs[1 - k] != y || add.inputs[k] == y) return;
  const Tensor* c = plan.constant(add.inputs[k]);
  if (c && !c->shape().empty() && c->shape().back() == ws[1] && only_here(add.inputs[k], a, ws[1])) set(add.inputs[k], a, k);
}

}  // namespace

void QuantConfig::set_block(size_t q, int b) {
  if (b == 0 && q >= block.size()) return;
  if (block.size() < bits.size()) block.resize(bits.size(), 0);
  if (q >= block.size()) block.resize(q + 1, 0);
  block[q] = b;
}

std::vector<int> QuantConfig::key() const {
  std::vector<int> k = bits;
  bool blocked = false;
  for (int b : block) blocked |= b != 0;
  if (blocked)
    for (size_t q = 0; q < bits.size(); ++q) k.push_back(block_of(q));
  return k;
}

bool valid_weight_block(int block) {
  return block >= kMinWeightBlock && block <= kMaxWeightBlock && (block & (block - 1)) == 0;
}

BlockLayout block_layout(const std::string& op, const Shape& shape, int channel_axis) {
  BlockLayout b;
  const int r = static_cast<int>(shape.size());
  if (op == "Conv" && r >= 2 && channel_axis == 0) {
    b.axis = 1;
    b.k_dims = r - 1;
  } else if (op == "Gemm" && r == 2 && (channel_axis == 0 || channel_axis == 1)) {
    b.axis = 1 - channel_axis;
  } else if (op == "MatMul" && r >= 2 && channel_axis == r - 1) {
    b.axis = r - 2;
  } else {
    return b;  // ConvTranspose, or a weight of another form: no blocked scales
  }
  b.outer = b.k = b.inner = 1;
  for (int d = 0; d < r; ++d) {
    const int64_t n = shape[static_cast<size_t>(d)];
    if (d < b.axis) b.outer *= n;
    else if (d < b.axis + b.k_dims) b.k *= n;
    else b.inner *= n;
  }
  return b;
}

bool QuantConfig::any() const {
  for (int b : bits)
    if (b > 0) return true;
  return false;
}

namespace {

// is_data_movement's rule for a node `n` at `opset`; `pad_value` is Pad's input 2 where it is a
// constant, `pad_value_given` whether that input is there at all.
bool moves_values(const onnx::Node& n, int64_t opset, bool pad_value_given, const Tensor* pad_value) {
  if (!ops::normalize_domain(n.domain).empty()) return false;
  static const std::set<std::string> moves = {"Reshape", "Flatten", "Transpose", "Squeeze", "Unsqueeze", "Slice", "Gather",
                                              "Split", "Identity", "Dropout", "MaxPool",
                                              // Rearranging and selecting ops: their float outputs are input values
                                              // (TopK's indices and other integer outputs are never quantized).
                                              "DepthToSpace", "SpaceToDepth", "GatherElements", "GatherND", "TopK"};
  if (moves.count(n.op_type)) return true;
  auto attr = [&](const char* name) -> const onnx::Attribute* {
    for (const onnx::Attribute& a : n.attribute)
      if (a.name == name) return &a;
    return nullptr;
  };
  if (n.op_type == "Pad") {
    if (const onnx::Attribute* m = attr("mode"))
      if (m->s != "constant") return false;
    if (opset < 11) {
      const onnx::Attribute* v = attr("value");
      return !v || v->f == 0.0f;
    }
    if (pad_value_given)
      return pad_value && pad_value->dtype() == DataType::Float && pad_value->numel() == 1 && pad_value->data<float>()[0] == 0.0f;
    return true;
  }
  if (n.op_type == "Resize" || n.op_type == "Upsample") {
    const onnx::Attribute* m = attr("mode");
    return !m || m->s == "nearest";
  }
  return false;
}

}  // namespace

bool is_data_movement(const graph::Plan& plan, const graph::Step& step) {
  const graph::Node& n = plan.graph().node(step.node);
  const bool given = step.inputs.size() > 2 && step.inputs[2] != kNoValue;
  return moves_values(*n.proto, n.opset, given, given ? plan.constant(step.inputs[2]) : nullptr);
}

QuantModel::QuantModel(const graph::Plan& plan, const PlacementOptions& options) : plan_(&plan) {
  const graph::Graph& g = plan.graph();
  const size_t nv = plan.num_values();
  graph::ValueInfos infos, mac_infos;
  int64_t divisor = 1;
  const std::vector<int64_t> macs = layer_macs(g, options.input_shapes, &infos, &mac_infos, &divisor);
  auto is_float = [&](ValueId v) {
    if (v == kNoValue) return false;
    if (const Tensor* c = plan.constant(v)) return c->dtype() == DataType::Float;
    if (static_cast<size_t>(v) < infos.size()) return infos[static_cast<size_t>(v)].dtype == DataType::Float;
    return false;
  };
  const auto& steps = plan.steps();

  // Readers (step indices) of each value, and graph outputs.
  std::vector<std::vector<int>> readers(nv);
  for (size_t si = 0; si < steps.size(); ++si)
    for (ValueId v : steps[si].inputs)
      if (v != kNoValue) {
        auto& r = readers[static_cast<size_t>(v)];
        if (r.empty() || r.back() != static_cast<int>(si)) r.push_back(static_cast<int>(si));
      }
  std::vector<bool> is_output(nv, false);
  for (ValueId v : plan.outputs()) is_output[static_cast<size_t>(v)] = true;
  auto reads_count = [&](ValueId v) {
    size_t c = 0;
    for (const graph::Step& s : steps)
      for (ValueId x : s.inputs) c += x == v;
    return c;
  };

  std::vector<Quantizer> qs;
  on_value_.assign(nv, -1);
  grid_.assign(nv, -1);
  auto add_activation = [&](ValueId v, int producer_step) {
    Quantizer q;
    q.id = static_cast<int>(qs.size());
    q.kind = QuantizerKind::Activation;
    q.value = v;
    q.tensor = plan.value_name(v);
    q.axis = -1;
    q.producer_step = producer_step;
    if (producer_step >= 0) {
      const graph::Value& val = g.value(v);
      q.producer_op = val.producer >= 0 ? g.node(val.producer).op_type()
                                        : g.node(steps[static_cast<size_t>(producer_step)].node).op_type();
    }
    on_value_[static_cast<size_t>(v)] = q.id;
    grid_[static_cast<size_t>(v)] = q.id;
    qs.push_back(std::move(q));
  };

  // Data values: model inputs and whatever a step computes from them, except what only depends on
  // their shapes (Shape/Size and the arithmetic on it): shape computations are never quantized,
  // even where they become float (e.g. Resize scales computed at run time).
  std::vector<bool> data(nv, false);
  for (ValueId v : plan.inputs()) data[static_cast<size_t>(v)] = true;
  for (const graph::Step& s : steps) {
    const graph::Node& n = g.node(s.node);
    bool d = false;
    if (!is_op(n, {"Shape", "Size"}))
      for (size_t k = 0; k < s.inputs.size(); ++k)
        d = d || (s.inputs[k] != kNoValue && !s.constant[k] && data[static_cast<size_t>(s.inputs[k])]);
    for (ValueId v : s.outputs)
      if (v != kNoValue) data[static_cast<size_t>(v)] = d;
  }

  for (ValueId v : plan.inputs())
    if (is_float(v)) add_activation(v, -1);

  for (size_t si = 0; si < steps.size(); ++si) {
    const graph::Step& s = steps[si];
    const graph::Node& n = g.node(s.node);
    // Readers of this step's grids.
    const bool dm = is_data_movement(plan, s);
    for (size_t k = 0; k < s.inputs.size(); ++k) {
      const ValueId v = s.inputs[k];
      if (v == kNoValue || s.constant[k]) continue;
      const int q = grid_[static_cast<size_t>(v)];
      if (q < 0) continue;
      Quantizer& qq = qs[static_cast<size_t>(q)];
      if (qq.consumer_steps.empty() || qq.consumer_steps.back() != static_cast<int>(si))
        qq.consumer_steps.push_back(static_cast<int>(si));
      if (!dm && std::find(qq.consumer_ops.begin(), qq.consumer_ops.end(), n.op_type()) == qq.consumer_ops.end())
        qq.consumer_ops.push_back(n.op_type());
    }
    // A weighted layer.
    if (graph::is_layer_op(n) && s.inputs.size() > 1 && s.inputs[1] != kNoValue && s.constant[1] &&
        plan.constant(s.inputs[1])->dtype() == DataType::Float) {
      const Tensor& w = *plan.constant(s.inputs[1]);
      Layer l;
      l.name = n.name;
      l.op = n.op_type();
      l.node = s.node;
      l.step = static_cast<int>(si);
      l.macs = macs[static_cast<size_t>(s.node)];
      l.weight_elements = w.numel();
      l.weight_shape = w.shape();
      if (s.inputs[0] != kNoValue && !s.constant[0]) l.input_quantizer = grid_[static_cast<size_t>(s.inputs[0])];
      Quantizer q;
      q.id = static_cast<int>(qs.size());
      q.kind = QuantizerKind::Weight;
      q.value = s.inputs[1];
      q.tensor = n.inputs.size() > 1 && n.inputs[1] != kNoValue ? g.value(n.inputs[1]).name : plan.value_name(s.inputs[1]);
      q.layer = static_cast<int>(layers_.size());
      q.axis = weight_axis(l.name, l.op, s.attrs.get(), w);
      l.blocks = block_layout(l.op, w.shape(), q.axis);
      l.weight_quantizer = q.id;
      if (l.input_quantizer >= 0) qs[static_cast<size_t>(l.input_quantizer)].consumer_layers.push_back(q.layer);
      on_value_[static_cast<size_t>(q.value)] = q.id;
      qs.push_back(std::move(q));
      layers_.push_back(std::move(l));
    }
    // Outputs.
    if (dm) {
      const ValueId x = s.inputs.empty() ? kNoValue : s.inputs[0];
      const bool const_float = x != kNoValue && s.constant[0] && is_float(x);
      for (ValueId v : s.outputs) {
        if (v == kNoValue || !is_float(v) || !data[static_cast<size_t>(v)]) continue;
        if (const_float) add_activation(v, static_cast<int>(si));
        else if (x != kNoValue) grid_[static_cast<size_t>(v)] = grid_[static_cast<size_t>(x)];
      }
      continue;
    }
    for (ValueId v : s.outputs) {
      if (v == kNoValue || !is_float(v) || !data[static_cast<size_t>(v)]) continue;
      // Fused unit: the pre-activation output of Conv/ConvTranspose/Gemm/MatMul/Add read only by
      // a Relu/Clip/LeakyRelu/HardSwish gets no quantizer of its own.
      if (s.outputs.size() == 1 && is_op(n, {"Conv", "ConvTranspose", "Gemm", "MatMul", "Add"}) &&
          !is_output[static_cast<size_t>(v)] && readers[static_cast<size_t>(v)].size() == 1 && reads_count(v) == 1) {
        const graph::Step& a = steps[static_cast<size_t>(readers[static_cast<size_t>(v)][0])];
        if (is_op(g.node(a.node), {"Relu", "Clip", "LeakyRelu", "HardSwish"}) && !a.inputs.empty() && a.inputs[0] == v)
          continue;
      }
      add_activation(v, static_cast<int>(si));
    }
  }

  place_in_subgraphs(infos, mac_infos, divisor, data, qs);

  // Drop model-input quantizers that feed no computing op (e.g. only a Shape) and are no graph
  // output; renumber.
  std::vector<int> remap(qs.size(), -1);
  std::vector<Quantizer> kept;
  for (Quantizer& q : qs) {
    const bool unused_input = q.kind == QuantizerKind::Activation && q.producer_step < 0 && q.consumer_ops.empty() &&
                              !is_output[static_cast<size_t>(q.value)];
    if (unused_input) continue;
    remap[static_cast<size_t>(q.id)] = static_cast<int>(kept.size());
    q.id = static_cast<int>(kept.size());
    kept.push_back(std::move(q));
  }
  for (int& x : on_value_)
    if (x >= 0) x = remap[static_cast<size_t>(x)];
  for (int& x : grid_)
    if (x >= 0) x = remap[static_cast<size_t>(x)];
  for (Layer& l : layers_) {
    l.weight_quantizer = remap[static_cast<size_t>(l.weight_quantizer)];
    if (l.input_quantizer >= 0) l.input_quantizer = remap[static_cast<size_t>(l.input_quantizer)];
    if (!l.scope.empty()) {  // inside a subgraph: the quantizer on the path place_in_subgraphs noted
      l.output_quantizer = quantizer_on(inner_value(l.output_path));
      continue;
    }
    // Output grid: the layer's output, or its fused activation's output.
    const graph::Step& s = steps[static_cast<size_t>(l.step)];
    if (!s.outputs.empty() && s.outputs[0] != kNoValue) {
      const ValueId v = s.outputs[0];
      l.output_quantizer = on_value_[static_cast<size_t>(v)];
      if (l.output_quantizer < 0 && readers[static_cast<size_t>(v)].size() == 1) {
        const graph::Step& a = steps[static_cast<size_t>(readers[static_cast<size_t>(v)][0])];
        if (!a.outputs.empty() && a.outputs[0] != kNoValue) l.output_quantizer = on_value_[static_cast<size_t>(a.outputs[0])];
      }
    }
    find_bias(plan, l, readers, is_output);
  }
  quantizers_ = std::move(kept);
  for (const Quantizer& q : quantizers_) by_tensor_.emplace(q.tensor, q.id);
}

void QuantModel::place_in_subgraphs(const graph::ValueInfos& infos, const graph::ValueInfos& mac_infos, int64_t divisor,
                                    const std::vector<bool>& data, std::vector<Quantizer>& qs) {
  const graph::Plan& plan = *plan_;
  const graph::Graph& g = plan.graph();
  const auto& steps = plan.steps();
  const size_t nv = plan.num_values();
  // What placement knows of a value inside a subgraph: the grid it carries, whether it depends on
  // the model's data (shape computations and constants do not).
  struct Fact {
    int grid = -1;
    bool data = true;
  };
  std::unordered_map<std::string, Fact> facts;  // by path
  std::set<std::string> taken;                  // Quantizer::tensor names in use
  for (const Quantizer& q : qs) taken.insert(q.tensor);
  auto tensor_name = [&](const std::string& scope, const std::string& name) {
    std::string t = taken.count(name) ? scope + name : name;  // sibling branches may reuse a name
    taken.insert(t);
    return t;
  };
  auto add_consumer = [&](int q, size_t si, const std::string& op, bool computes) {
    Quantizer& qq = qs[static_cast<size_t>(q)];
    auto it = std::lower_bound(qq.consumer_steps.begin(), qq.consumer_steps.end(), static_cast<int>(si));
    if (it == qq.consumer_steps.end() || *it != static_cast<int>(si)) qq.consumer_steps.insert(it, static_cast<int>(si));
    if (computes && std::find(qq.consumer_ops.begin(), qq.consumer_ops.end(), op) == qq.consumer_ops.end())
      qq.consumer_ops.push_back(op);
  };
  auto new_value = [&](const Tensor* constant) {
    inner_constants_.push_back(constant);
    return static_cast<ValueId>(nv + inner_constants_.size() - 1);
  };

  for (size_t si = 0; si < steps.size(); ++si) {
    const graph::Step& s = steps[si];
    const graph::Node& n = g.node(s.node);
    if (!s.attrs || !ops::has_subgraphs(*n.proto)) continue;
    const graph::ValueInfos& fi = mac_infos.empty() ? infos : mac_infos;
    std::vector<const ops::TensorInfo*> ins;
    std::unordered_map<std::string, size_t> outer;  // main-graph names the subgraphs read -> input index
    for (size_t k = 0; k < s.inputs.size(); ++k) {
      const ValueId v = s.inputs[k];
      ins.push_back(v != kNoValue && static_cast<size_t>(v) < fi.size() ? &fi[static_cast<size_t>(v)] : nullptr);
      if (k < n.inputs.size() && n.inputs[k] != kNoValue) outer.emplace(g.value(n.inputs[k]).name, k);
    }
    const std::vector<ops::SubgraphNode> nodes = ops::subgraph_nodes(*n.proto, n.name, s.attrs.get(), ins);
    // Scopes: each subgraph's enclosing one; readers of each value within its own subgraph; a
    // Scan body's scan-input slices, which keep the grid of the tensor they slice: by path, that
    // tensor's (scope, name) in the graph holding the Scan.
    std::unordered_map<std::string, std::string> parent;
    std::unordered_map<std::string, std::vector<size_t>> readers;
    std::unordered_map<std::string, std::pair<std::string, std::string>> slice_of;
    auto note_scan = [&](const onnx::Node& node, const std::string& scope, const std::string& name) {
      if (!ops::normalize_domain(node.domain).empty() || node.op_type != "Scan") return;
      int64_t m = 0;
      const onnx::Graph* body = nullptr;
      for (const onnx::Attribute& a : node.attribute) {
        if (a.name == "num_scan_inputs") m = a.i;
        if (a.name == "body" && a.g) body = &**a.g;
      }
      const int64_t declared = static_cast<int64_t>(node.input.size());
      if (!body || m < 1 || m > declared || static_cast<int64_t>(body->input.size()) != declared) return;
      for (int64_t i = declared - m; i < declared; ++i)
        slice_of[ops::subgraph_scope(scope, name, "body") + body->input[static_cast<size_t>(i)].name] = {scope, node.input[static_cast<size_t>(i)]};
    };
    note_scan(*n.proto, "", n.name);
    for (size_t i = 0; i < nodes.size(); ++i) {
      const ops::SubgraphNode& f = nodes[i];
      for (const onnx::Attribute& a : f.node->attribute)
        if (a.g) parent[ops::subgraph_scope(f.scope, f.name, a.name)] = f.scope;
      for (const std::string& in : f.inputs)
        if (!in.empty()) readers[f.scope + in].push_back(i);
      note_scan(*f.node, f.scope, f.name);
    }
    std::function<Fact(const std::string&, const std::string&)> resolve = [&](const std::string& scope, const std::string& name) {
      for (std::string sc = scope;;) {
        auto it = facts.find(sc + name);
        if (it != facts.end()) return it->second;
        auto sl = slice_of.find(sc + name);
        if (sl != slice_of.end()) return resolve(sl->second.first, sl->second.second);
        auto p = parent.find(sc);
        if (p == parent.end()) break;
        sc = p->second;
      }
      Fact f;  // a subgraph input (Loop state, Scan state): data, on no one grid
      auto o = outer.find(name);
      if (o != outer.end()) {
        const ValueId v = s.inputs[o->second];
        f.data = v != kNoValue && !s.constant[o->second] && data[static_cast<size_t>(v)];
        f.grid = f.data ? grid_[static_cast<size_t>(v)] : -1;
      }
      return f;
    };
    // The constant a subgraph node's input reads: an initializer of its subgraph (or an enclosing
    // one), or a constant of the main graph read through the scopes.
    auto constant_input = [&](const ops::SubgraphNode& f, size_t k) -> const Tensor* {
      if (k >= f.inputs.size() || f.inputs[k].empty()) return nullptr;
      if (f.init[k]) return f.init[k];
      for (std::string sc = f.scope;;) {
        if (facts.count(sc + f.inputs[k])) return nullptr;  // computed inside
        auto p = parent.find(sc);
        if (p == parent.end()) break;
        sc = p->second;
      }
      auto o = outer.find(f.inputs[k]);
      return o != outer.end() && s.constant[o->second] ? plan.constant(s.inputs[o->second]) : nullptr;
    };
    std::map<const onnx::Graph*, std::set<std::string>> outputs_of;  // each subgraph's output names
    for (size_t i = 0; i < nodes.size(); ++i) {
      const ops::SubgraphNode& f = nodes[i];
      const onnx::Node& p = *f.node;
      const std::string& op = p.op_type;
      const bool std_domain = ops::normalize_domain(p.domain).empty();
      const bool pad_given = f.inputs.size() > 2 && !f.inputs[2].empty();
      const bool dm = moves_values(p, n.opset, pad_given, pad_given ? f.init[2] : nullptr);
      std::vector<Fact> in(f.inputs.size());
      bool d = false;
      for (size_t k = 0; k < f.inputs.size(); ++k) {
        if (f.inputs[k].empty() || f.init[k]) {
          in[k].data = false;
          continue;
        }
        in[k] = resolve(f.scope, f.inputs[k]);
        d = d || in[k].data;
        if (in[k].grid >= 0) add_consumer(in[k].grid, si, op, !dm);
      }
      if (std_domain && (op == "Shape" || op == "Size")) d = false;
      // A weighted layer.
      const bool layer = std_domain && (op == "Conv" || op == "ConvTranspose" || op == "Gemm" || op == "MatMul");
      const Tensor* weight = layer ? constant_input(f, 1) : nullptr;
      if (layer && f.supported && weight && weight->dtype() == DataType::Float && !f.out.empty()) {
        const Tensor& w = *weight;
        Layer l;
        l.name = f.scope + f.name;
        l.scope = f.scope;
        l.op = op;
        l.node = s.node;
        l.step = static_cast<int>(si);
        if (auto m = graph::layer_macs(op, f.attrs.get(), &f.in[0], &f.in[1], &f.out[0]))
          l.macs = ops::checked_mul(*m / divisor, f.repeat.value_or(1)).value_or(INT64_MAX);
        l.weight_elements = w.numel();
        l.weight_shape = w.shape();
        l.input_quantizer = in.empty() ? -1 : in[0].grid;
        Quantizer q;
        q.id = static_cast<int>(qs.size());
        q.kind = QuantizerKind::Weight;
        q.value = new_value(&w);
        q.scope = f.scope;
        q.path = l.name;
        q.tensor = tensor_name(f.scope, f.inputs[1]);
        q.layer = static_cast<int>(layers_.size());
        q.axis = weight_axis(l.name, op, f.attrs.get(), w);
        q.producer_step = -1;
        l.blocks = block_layout(op, w.shape(), q.axis);
        l.weight_quantizer = q.id;
        l.output_path = f.scope + f.outputs[0];
        if (l.input_quantizer >= 0) qs[static_cast<size_t>(l.input_quantizer)].consumer_layers.push_back(q.layer);
        inner_layers_.emplace(q.path, q.value);
        qs.push_back(std::move(q));
        layers_.push_back(std::move(l));
      }
      // Outputs.
      std::set<std::string>& graph_outputs = outputs_of[f.graph];
      if (graph_outputs.empty())
        for (const onnx::ValueInfo& v : f.graph->output) graph_outputs.insert(v.name);
      for (size_t k = 0; k < f.outputs.size(); ++k) {
        const std::string& name = f.outputs[k];
        if (name.empty()) continue;
        const std::string path = f.scope + name;
        Fact out;
        out.data = d;
        const bool is_float = k < f.out.size() && f.out[k].dtype == DataType::Float;
        if (dm && !(in.size() > 0 && f.init.size() > 0 && f.init[0])) {
          out.grid = in.empty() ? -1 : in[0].grid;  // keeps its input's grid
        } else if (is_float && d) {
          // Fused unit: the pre-activation output read only by a Relu/Clip/LeakyRelu/HardSwish.
          const auto r = readers.find(path);
          bool fused = false;
          if (f.outputs.size() == 1 && std_domain &&
              (op == "Conv" || op == "ConvTranspose" || op == "Gemm" || op == "MatMul" || op == "Add") &&
              !graph_outputs.count(name) && r != readers.end() && r->second.size() == 1) {
            const ops::SubgraphNode& a = nodes[r->second[0]];
            fused = is_fused_activation(*a.node) && !a.inputs.empty() && a.inputs[0] == name && !a.outputs.empty();
            if (fused && !layers_.empty() && layers_.back().output_path == path) layers_.back().output_path = a.scope + a.outputs[0];
          }
          if (!fused) {
            Quantizer q;
            q.id = static_cast<int>(qs.size());
            q.kind = QuantizerKind::Activation;
            q.value = new_value(nullptr);
            q.scope = f.scope;
            q.path = path;
            q.tensor = tensor_name(f.scope, name);
            q.axis = -1;
            q.producer_step = static_cast<int>(si);
            q.producer_op = op;
            out.grid = q.id;
            inner_paths_.emplace(path, q.value);
            qs.push_back(std::move(q));
          }
        }
        facts[path] = out;
      }
    }
  }
  on_value_.resize(nv + inner_constants_.size(), -1);
  grid_.resize(nv + inner_constants_.size(), -1);
  for (const Quantizer& q : qs)
    if (static_cast<size_t>(q.value) >= nv) on_value_[static_cast<size_t>(q.value)] = grid_[static_cast<size_t>(q.value)] = q.id;
}

graph::ValueId QuantModel::inner_value(const std::string& path) const {
  auto it = inner_paths_.find(path);
  return it == inner_paths_.end() ? kNoValue : it->second;
}

int QuantModel::inner_weight(const std::string& node_path) const {
  auto it = inner_layers_.find(node_path);
  return it == inner_layers_.end() ? -1 : quantizer_on(it->second);
}

const Tensor& QuantModel::weight(int q) const {
  const Quantizer& qq = quantizer(q);
  const size_t nv = plan_->num_values();
  const Tensor* w = static_cast<size_t>(qq.value) >= nv ? inner_constants_[static_cast<size_t>(qq.value) - nv]
                                                         : plan_->constant(qq.value);
  if (qq.kind != QuantizerKind::Weight || !w)
    throw Error(ErrorKind::InvalidArgument, "quantizer '" + qq.tensor + "' is not a weight quantizer");
  return *w;
}

int QuantModel::quantizer_on(graph::ValueId v) const {
  if (v < 0 || static_cast<size_t>(v) >= on_value_.size()) return -1;
  return on_value_[static_cast<size_t>(v)];
}

int QuantModel::grid_of(graph::ValueId v) const {
  if (v < 0 || static_cast<size_t>(v) >= grid_.size()) return -1;
  return grid_[static_cast<size_t>(v)];
}

int QuantModel::find_tensor(const std::string& name) const {
  auto it = by_tensor_.find(name);
  return it == by_tensor_.end() ? -1 : it->second;
}

QuantConfig QuantModel::homogeneous(int w_bits, int a_bits, int w_block) const {
  QuantConfig c;
  c.bits.resize(quantizers_.size());
  for (const Quantizer& q : quantizers_) {
    c.bits[static_cast<size_t>(q.id)] = q.kind == QuantizerKind::Weight ? w_bits : a_bits;
    if (q.kind == QuantizerKind::Weight && w_block > 0 && layers_[static_cast<size_t>(q.layer)].blocks.ok())
      c.set_block(static_cast<size_t>(q.id), w_block);
  }
  return c;
}

QuantConfig QuantModel::off() const {
  QuantConfig c;
  c.bits.assign(quantizers_.size(), 0);
  return c;
}

size_t QuantModel::first_affected_step(int qi) const {
  const Quantizer& q = quantizer(qi);
  if (q.kind == QuantizerKind::Weight) return static_cast<size_t>(layers_[static_cast<size_t>(q.layer)].step);
  if (!q.consumer_steps.empty()) return static_cast<size_t>(q.consumer_steps.front());
  return q.producer_step < 0 ? 0 : static_cast<size_t>(q.producer_step);
}

size_t QuantModel::first_affected_step(const QuantConfig& config) const {
  size_t first = plan_->steps().size();
  for (size_t i = 0; i < config.bits.size() && i < quantizers_.size(); ++i)
    if (config.bits[i] > 0) first = std::min(first, first_affected_step(static_cast<int>(i)));
  return first;
}

}  // namespace qm::quant
