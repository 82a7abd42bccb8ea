#include "quant/export_qdq.h"

#include <algorithm>
#include <cmath>
#include <functional>
#include <map>
#include <set>

#include "core/error.h"
#include "graph/shape_inference.h"
#include "onnx/opset_upgrade.h"
#include "onnx/tensor_data.h"
#include "ops/control_flow.h"
#include "quant/output_aware.h"

namespace qm::quant {
namespace {

constexpr const char* kMsDomain = "com.microsoft";

onnx::Attribute int_attr(const std::string& name, int64_t v) {
  onnx::Attribute a;
  a.name = name;
  a.i = v;
  a.type = static_cast<int32_t>(onnx::AttributeType::Int);
  a.wire.mark(1);
  a.wire.mark(3);  // written even when 0 (axis=0), for readers that want it explicit
  a.wire.mark(20);
  return a;
}

onnx::Attribute float_attr(const std::string& name, float v) {
  onnx::Attribute a;
  a.name = name;
  a.f = v;
  a.type = static_cast<int32_t>(onnx::AttributeType::Float);
  a.wire.mark(1);
  a.wire.mark(2);
  a.wire.mark(20);
  return a;
}

void rename_in_subgraphs(onnx::Node& n, const std::string& from, const std::string& to);

/// Reads of `from` inside `g` (and graphs nested in it) become `to`, unless `g` defines `from`.
void rename_in_graph(onnx::Graph& g, const std::string& from, const std::string& to) {
  for (const auto& v : g.input)
    if (v.name == from) return;
  for (const auto& t : g.initializer)
    if (t.name == from) return;
  for (const auto& n : g.node)
    for (const auto& o : n.output)
      if (o == from) return;
  for (onnx::Node& n : g.node) {
    for (std::string& i : n.input)
      if (i == from) i = to;
    rename_in_subgraphs(n, from, to);
  }
}

/// A graph input read inside If/Loop/Scan subgraphs: they read its dequantized copy too, as the
/// simulation (which replaces the value for every reader, implicit ones included) does.
void rename_in_subgraphs(onnx::Node& n, const std::string& from, const std::string& to) {
  for (onnx::Attribute& a : n.attribute) {
    if (a.g) rename_in_graph(**a.g, from, to);
    for (onnx::Graph& g : a.graphs) rename_in_graph(g, from, to);
  }
}

onnx::Node make_node(const std::string& op, std::vector<std::string> in, std::vector<std::string> out,
                     const std::string& name, const std::string& domain) {
  onnx::Node n;
  n.op_type = op;
  n.input = std::move(in);
  n.output = std::move(out);
  n.name = name;
  n.domain = domain;
  return n;
}

/// Channel layout of `shape` around `axis`: [outer, channels, inner].
void split_axis(const Shape& shape, int axis, size_t& outer, size_t& channels, size_t& inner) {
  outer = 1;
  inner = 1;
  channels = static_cast<size_t>(shape[static_cast<size_t>(axis)]);
  for (int d = 0; d < axis; ++d) outer *= static_cast<size_t>(shape[static_cast<size_t>(d)]);
  for (size_t d = static_cast<size_t>(axis) + 1; d < shape.size(); ++d) inner *= static_cast<size_t>(shape[d]);
}

/// Every tensor name a node of `g` (or of a subgraph, which may read outer names) reads.
void collect_reads(const onnx::Graph& g, std::set<std::string>& used) {
  for (const onnx::Node& n : g.node) {
    for (const std::string& s : n.input)
      if (!s.empty()) used.insert(s);
    for (const onnx::Attribute& a : n.attribute) {
      if (a.g) collect_reads(**a.g, used);
      for (const onnx::Graph& sg : a.graphs) collect_reads(sg, used);
    }
  }
}

class Exporter {
 public:
  Exporter(const graph::Plan& plan, const ExportOptions& opt, ExportStats& st, bool blocked)
      : plan_(plan), g_(plan.graph()), opt_(opt), st_(st), model_(g_.model()) {
    if (!model_.graph) throw Error(ErrorKind::InvalidModel, "QDQ export: the model has no graph");
    og_ = &*model_.graph;
    // ONNX Runtime fuses Q/DQ units into ai.onnx QLinear* ops of the model's opset (from 10);
    // blocked weight scales need DequantizeLinear-21.
    if (blocked) {
      try {
        opset_ = onnx::upgrade_to_opset21(model_, graph::rank_lookup(g_));
      } catch (const Error& e) {
        throw Error(e.kind(), std::string("blocked weight scales export at opset 21, and the model cannot be raised to it: ") + e.what());
      }
      st_.raised_to_opset21 = model_.opset_version("") != g_.model().opset_version("");
    } else {
      opset_ = onnx::upgrade_to_opset10(model_);
    }
    for (const graph::Value& v : g_.values()) names_.insert(v.name);
    for (const onnx::Node& n : og_->node) {
      names_.insert(n.name);
      for (const std::string& s : n.output) names_.insert(s);
    }
    for (const onnx::Tensor& t : og_->initializer) names_.insert(t.name);
    for (const onnx::Node& n : og_->node) collect_subgraph_names(n);
    into_ = og_;
    post_.resize(og_->node.size());
    removed_.assign(og_->node.size(), false);
  }

  onnx::Model run(const std::vector<ExportQuantizer>& qs) {
    fold_batchnorms();
    for (const ExportQuantizer& q : qs)
      if (!q.scope.empty()) add_in_subgraph(q);
    insert_pending();
    for (const ExportQuantizer& q : qs)
      if (q.kind == QuantizerKind::Weight && q.scope.empty()) add_weight(q);
    index_producers();
    for (const ExportQuantizer& q : qs)
      if (q.kind == QuantizerKind::Activation && q.scope.empty()) add_activation(q);
    add_guards();
    assemble();
    remove_dead();
    if (uses_ms_) {
      bool have = false;
      for (const onnx::OperatorSetId& o : model_.opset_import) have |= o.domain == kMsDomain;
      if (!have) {
        onnx::OperatorSetId o;
        o.domain = kMsDomain;
        o.version = 1;
        model_.opset_import.push_back(o);
      }
      st_.uses_com_microsoft = true;
    }
    return std::move(model_);
  }

 private:
  std::string fresh(const std::string& base) {
    std::string n = base;
    for (int k = 1; names_.count(n); ++k) n = base + "_" + std::to_string(k);
    names_.insert(n);
    return n;
  }

  std::string add_initializer(onnx::Tensor t) {
    const std::string name = t.name;
    into_->initializer.push_back(std::move(t));
    return name;
  }

  void collect_subgraph_names(const onnx::Node& n) {
    for (const onnx::Attribute& a : n.attribute) {
      std::vector<const onnx::Graph*> gs;
      if (a.g) gs.push_back(&**a.g);
      for (const onnx::Graph& g : a.graphs) gs.push_back(&g);
      for (const onnx::Graph* g : gs) {
        for (const onnx::Tensor& t : g->initializer) names_.insert(t.name);
        for (const onnx::ValueInfo& v : g->input) names_.insert(v.name);
        for (const std::string& nm : ops::subgraph_node_names(*g)) names_.insert(nm);
        for (const onnx::Node& m : g->node) {
          for (const std::string& o : m.output) names_.insert(o);
          collect_subgraph_names(m);
        }
      }
    }
  }

  // The subgraph of path prefix `scope` (ops::subgraph_scope) inside `g`, whose own prefix is
  // `prefix` and whose nodes are named `names`; null if none. Node names may hold '/', so the
  // path is matched against each candidate prefix rather than split.
  onnx::Graph* find_subgraph(onnx::Graph& g, const std::vector<std::string>& names, const std::string& prefix,
                             const std::string& scope) {
    for (size_t i = 0; i < g.node.size(); ++i)
      for (onnx::Attribute& a : g.node[i].attribute) {
        if (!a.g) continue;
        const std::string p = ops::subgraph_scope(prefix, names[i], a.name);
        if (scope.compare(0, p.size(), p) != 0) continue;
        if (p == scope) return &**a.g;
        if (onnx::Graph* r = find_subgraph(**a.g, ops::subgraph_node_names(**a.g), p, scope)) return r;
      }
    return nullptr;
  }

  // A quantizer inside a subgraph: written into that subgraph as add_weight / add_activation
  // write the main graph's (weights: integer initializer + DequantizeLinear before the layer;
  // activations: (Clip ->) Q -> DQ right after the producer, which now writes `<name>_float`).
  void add_in_subgraph(const ExportQuantizer& q) {
    std::vector<std::string> main_names;
    for (size_t i = 0; i < og_->node.size(); ++i) main_names.push_back(g_.node(static_cast<int>(i)).name);
    onnx::Graph* sg = find_subgraph(*og_, main_names, "", q.scope);
    const std::string name = q.path.size() > q.scope.size() ? q.path.substr(q.scope.size()) : std::string();
    if (!sg || name.empty()) throw Error(ErrorKind::InvalidArgument, "QDQ export: no subgraph holds '" + q.path + "'");
    const std::vector<std::string> names = ops::subgraph_node_names(*sg);
    into_ = sg;
    struct Restore {
      onnx::Graph*& p;
      onnx::Graph* to;
      ~Restore() { p = to; }
    } restore{into_, og_};
    std::vector<onnx::Node> head;
    if (q.kind == QuantizerKind::Weight) {
      size_t j = 0;
      while (j < names.size() && names[j] != name) ++j;
      if (j == names.size() || !q.weight || sg->node[j].input.size() < 2)
        throw Error(ErrorKind::InvalidArgument, "QDQ export: layer '" + q.path + "' is not in its subgraph");
      onnx::Node& on = sg->node[j];
      const std::string old = on.input[1];
      write_weight(on, 1, *q.weight, q.encoding, q.path, head);
      pending_[sg].emplace_back(0, std::move(head));
      drop_unread_initializer(*sg, old);
      ++st_.weights;
      return;
    }
    size_t j = 0;
    while (j < sg->node.size() && std::find(sg->node[j].output.begin(), sg->node[j].output.end(), name) == sg->node[j].output.end()) ++j;
    if (j == sg->node.size()) throw Error(ErrorKind::InvalidArgument, "QDQ export: no node in its subgraph computes '" + q.path + "'");
    const std::string x = fresh(name + "_float");
    for (std::string& o : sg->node[j].output)
      if (o == name) o = x;
    pending_[sg].emplace_back(j + 1, qdq_chain(name, x, name, q.encoding));
    ++st_.activations;
  }

  // The nodes add_in_subgraph added, put in place once every subgraph quantizer is written: until
  // then the node lists keep their order, so the names of unnamed nodes ("<op>_<index>"), by
  // which later quantizers find their layers, stay what the engine called them.
  // Also drops the Constant nodes nothing reads any more (a weight stored in one, now read as
  // integers through a DequantizeLinear).
  void insert_pending() {
    for (auto& [g, list] : pending_) {
      std::stable_sort(list.begin(), list.end(), [](const auto& a, const auto& b) { return a.first > b.first; });
      for (auto& [at, nodes] : list)
        g->node.insert(g->node.begin() + static_cast<std::ptrdiff_t>(at), std::make_move_iterator(nodes.begin()),
                       std::make_move_iterator(nodes.end()));
      std::set<std::string> used;
      collect_reads(*g, used);
      for (const onnx::ValueInfo& v : g->output) used.insert(v.name);
      const auto dead = [&](const onnx::Node& n) {
        return n.op_type == "Constant" && n.domain.empty() && n.output.size() == 1 && !used.count(n.output[0]);
      };
      const size_t before = g->node.size();
      g->node.erase(std::remove_if(g->node.begin(), g->node.end(), dead), g->node.end());
      st_.nodes_removed += static_cast<int>(before - g->node.size());
    }
    pending_.clear();
  }

  // Removes initializer `name` from `g` if nothing in `g` (nested subgraphs included) reads it.
  static void drop_unread_initializer(onnx::Graph& g, const std::string& name) {
    std::set<std::string> used;
    collect_reads(g, used);
    for (const onnx::ValueInfo& v : g.output) used.insert(v.name);
    if (used.count(name)) return;
    g.initializer.erase(std::remove_if(g.initializer.begin(), g.initializer.end(), [&](const onnx::Tensor& t) { return t.name == name; }),
                        g.initializer.end());
  }

  std::string float_initializer(const std::string& base, const Tensor& t) {
    std::vector<float> v(t.data<float>(), t.data<float>() + t.numel());
    return add_initializer(onnx::make_float_tensor(fresh(base), std::vector<int64_t>(t.shape().begin(), t.shape().end()), v));
  }

  /// Standard op where the opset has it for `dtype`, else com.microsoft (and remember to import it).
  std::string qdq_domain(DataType dtype, bool per_axis) {
    bool std_ok = opset_ >= 21;
    if (!std_ok && (dtype == DataType::Int8 || dtype == DataType::Uint8)) std_ok = per_axis ? opset_ >= 13 : opset_ >= 10;
    if (std_ok) return "";
    uses_ms_ = true;
    return kMsDomain;
  }

  // BatchNormalization nodes that the plan folded into the preceding Conv/ConvTranspose/Gemm: the
  // layer's plan step reads new constants (ids past the graph's values) and now produces what the
  // BatchNormalization produced.
  void fold_batchnorms() {
    const size_t nvalues = g_.values().size();
    std::set<int> in_steps;
    for (const graph::Step& s : plan_.steps()) in_steps.insert(s.node);
    for (const graph::Step& s : plan_.steps()) {
      const graph::Node& n = g_.node(s.node);
      bool new_consts = false;
      for (graph::ValueId v : s.inputs) new_consts |= v != graph::kNoValue && static_cast<size_t>(v) >= nvalues;
      if (!new_consts) continue;
      onnx::Node& on = og_->node[static_cast<size_t>(s.node)];
      // Find the folded BatchNormalization: the only consumer of the layer's original output.
      if (n.outputs.empty() || n.outputs[0] == graph::kNoValue) continue;
      const graph::Value& y0 = g_.value(n.outputs[0]);
      if (y0.consumers.size() != 1) throw Error(ErrorKind::Unsupported, "QDQ export: node '" + n.name + "' (" + n.op_type() + ") has folded constants but no single BatchNormalization consumer");
      const int b = y0.consumers[0];
      const graph::Node& bn = g_.node(b);
      if (bn.op_type() != "BatchNormalization" || in_steps.count(b))
        throw Error(ErrorKind::Unsupported, "QDQ export: node '" + n.name + "' (" + n.op_type() + ") has folded constants but '" + bn.name + "' is not a folded BatchNormalization");
      on.output[0] = og_->node[static_cast<size_t>(b)].output[0];
      removed_[static_cast<size_t>(b)] = true;
      ++st_.batchnorms_folded;
      for (size_t k = 0; k < s.inputs.size(); ++k) {
        const graph::ValueId v = s.inputs[k];
        if (v == graph::kNoValue || static_cast<size_t>(v) < nvalues) continue;
        const Tensor* c = plan_.constant(v);
        assert(c);
        if (c->dtype() != DataType::Float) throw Error(ErrorKind::Unsupported, "QDQ export: folded constant of node '" + n.name + "' is not float");
        if (on.input.size() <= k) on.input.resize(k + 1);
        const std::string base = (k == 1 ? n.name + ".weight" : k == 2 ? n.name + ".bias" : n.name + ".in" + std::to_string(k)) + "_bnfolded";
        on.input[k] = float_initializer(base, *c);
      }
      if (n.op_type() == "Gemm") {
        bool set = false;
        for (onnx::Attribute& a : on.attribute)
          if (a.name == "beta") {
            a = float_attr("beta", 1.0f);
            set = true;
          }
        if (!set) on.attribute.push_back(float_attr("beta", 1.0f));
      }
    }
  }

  void add_weight(const ExportQuantizer& q) {
    if (q.step < 0 || static_cast<size_t>(q.step) >= plan_.steps().size())
      throw Error(ErrorKind::InvalidArgument, "QDQ export: weight quantizer has no layer step");
    const graph::Step& s = plan_.steps()[static_cast<size_t>(q.step)];
    const graph::Node& n = g_.node(s.node);
    int k = -1;
    for (size_t i = 0; i < s.inputs.size(); ++i)
      if (s.inputs[i] == q.value) k = static_cast<int>(i);
    const Tensor* w = plan_.constant(q.value);
    if (k < 0 || !w) throw Error(ErrorKind::Unsupported, "QDQ export: node '" + n.name + "' (" + n.op_type() + ") does not read the quantized weight as a constant");
    if (w->dtype() != DataType::Float) throw Error(ErrorKind::Unsupported, "QDQ export: weight of node '" + n.name + "' (" + n.op_type() + ") is not float");
    const Encoding& e = q.encoding;
    onnx::Node& on = og_->node[static_cast<size_t>(s.node)];
    const std::string base = write_weight(on, static_cast<size_t>(k), *w, e, n.name, head_);
    if (!e.bias_shift.empty()) {
      const Tensor* b = plan_.constant(q.bias);
      if (!b || q.bias_step < 0 || static_cast<size_t>(q.bias_step) >= plan_.steps().size() || q.bias_input < 0)
        throw Error(ErrorKind::InvalidArgument, "QDQ export: weight of node '" + n.name + "' has a bias correction but no bias constant");
      onnx::Node& bn = og_->node[static_cast<size_t>(plan_.steps()[static_cast<size_t>(q.bias_step)].node)];
      if (bn.input.size() <= static_cast<size_t>(q.bias_input)) bn.input.resize(static_cast<size_t>(q.bias_input) + 1);
      bn.input[static_cast<size_t>(q.bias_input)] = float_initializer(base + "_bias_corrected", corrected_bias(*b, e.bias_shift));
    }
    quantized_weight_nodes_[s.node] = e.bits;
    ++st_.weights;
  }

  // Input k of `on` (node `node` in messages), float weight `w`, becomes its integers + a
  // DequantizeLinear (added to `head`, whose initializers go to into_). Returns the base name of
  // the added tensors.
  std::string write_weight(onnx::Node& on, size_t k, const Tensor& w, const Encoding& e, const std::string& node,
                           std::vector<onnx::Node>& head) {
    if (e.bits < 2 || e.bits > 16) throw Error(ErrorKind::InvalidArgument, "QDQ export: weight of node '" + node + "': bits must be 2..16, got " + std::to_string(e.bits));
    const std::vector<int32_t> vals = quantize_weight_values(w, e);
    DataType dt = e.bits <= 8 ? DataType::Int8 : DataType::Int16;
    if (e.bits <= 4 && (opset_ >= 21 || opt_.legacy_int4)) dt = DataType::Int4;
    const bool per_axis = e.axis >= 0;
    const std::string base = on.input[k].empty() ? node + ".weight" : on.input[k];
    const std::vector<int64_t> dims(w.shape().begin(), w.shape().end());
    if (e.block > 0) {
      add_blocked_weight(on, k, base, dims, vals, e, dt, node, head);
      return base;
    }
    const std::string qname = add_initializer(onnx::make_integer_tensor(fresh(base + "_quantized"), dt, dims, vals));
    std::string sname;
    if (per_axis) sname = add_initializer(onnx::make_float_tensor(fresh(base + "_scale"), {static_cast<int64_t>(e.scale.size())}, e.scale));
    else sname = add_initializer(onnx::make_float_tensor(fresh(base + "_scale"), {}, {e.scale.at(0)}));
    const std::string out = fresh(base + "_dequantized");
    onnx::Node dq = make_node("DequantizeLinear", {qname, sname}, {out}, fresh(base + "_DequantizeLinear"), qdq_domain(dt, per_axis));
    if (per_axis) dq.attribute.push_back(int_attr("axis", e.axis));
    head.push_back(std::move(dq));
    on.input[k] = out;
    return base;
  }

  // Blocked scales (opset 21): the integers stored as [outer, K, inner] (a Conv weight as
  // [C_out, K], reshaped back after DequantizeLinear), scales [outer, blocks, inner], and
  // DequantizeLinear with `axis` at K and `block_size`. No zero point: symmetric, 0.
  void add_blocked_weight(onnx::Node& on, size_t k, const std::string& base, const std::vector<int64_t>& dims,
                          const std::vector<int32_t>& vals, const Encoding& e, DataType dt, const std::string& node,
                          std::vector<onnx::Node>& head) {
    if (opset_ < 21) throw Error(ErrorKind::Unsupported, "QDQ export: blocked weight of node '" + node + "' needs opset 21");
    const size_t axis = static_cast<size_t>(e.axis), kd = static_cast<size_t>(e.block_k_dims);
    if (axis + kd > dims.size()) throw Error(ErrorKind::InvalidArgument, "QDQ export: blocked weight of node '" + node + "' does not fit its shape");
    std::vector<int64_t> stored(dims.begin(), dims.begin() + static_cast<std::ptrdiff_t>(axis));
    int64_t K = 1;
    for (size_t d = axis; d < axis + kd; ++d) K *= dims[d];
    stored.push_back(K);
    stored.insert(stored.end(), dims.begin() + static_cast<std::ptrdiff_t>(axis + kd), dims.end());
    std::vector<int64_t> sdims = stored;
    sdims[axis] = (K + e.block - 1) / e.block;
    const std::string qname = add_initializer(onnx::make_integer_tensor(fresh(base + "_quantized"), dt, stored, vals));
    const std::string sname = add_initializer(onnx::make_float_tensor(fresh(base + "_scale"), sdims, e.scale));
    const std::string dq_out = fresh(base + "_dequantized");
    onnx::Node dq = make_node("DequantizeLinear", {qname, sname}, {dq_out}, fresh(base + "_DequantizeLinear"), "");
    dq.attribute.push_back(int_attr("axis", e.axis));
    dq.attribute.push_back(int_attr("block_size", e.block));
    head.push_back(std::move(dq));
    std::string out = dq_out;
    if (kd > 1) {
      const std::string shape = add_initializer(onnx::make_int64_tensor(fresh(base + "_shape"), {static_cast<int64_t>(dims.size())}, dims));
      out = fresh(base + "_dequantized_reshaped");
      head.push_back(make_node("Reshape", {dq_out, shape}, {out}, fresh(base + "_Reshape"), ""));
    }
    on.input[k] = out;
  }

  // Producer (node index) of every output name after the BatchNormalization rewiring.
  void index_producers() {
    for (size_t i = 0; i < og_->node.size(); ++i) {
      if (removed_[i]) continue;
      for (const std::string& s : og_->node[i].output)
        if (!s.empty()) producer_[s] = static_cast<int>(i);
    }
  }

  void add_activation(const ExportQuantizer& q) {
    if (q.value < 0 || static_cast<size_t>(q.value) >= g_.values().size())
      throw Error(ErrorKind::InvalidArgument, "QDQ export: activation quantizer on an unknown value");
    const std::string name = g_.value(q.value).name;
    const auto it = producer_.find(name);
    const bool from_node = it != producer_.end();
    std::string x = name;
    if (from_node) {
      // Rename the producer's output so that the dequantized tensor keeps the original name:
      // every consumer (including graph outputs and subgraphs) then reads the quantized value.
      x = fresh(name + "_float");
      for (std::string& s : og_->node[static_cast<size_t>(it->second)].output)
        if (s == name) s = x;
    }
    const std::string out = from_node ? name : fresh(name + "_dequantized");
    std::vector<onnx::Node> chain = qdq_chain(name, x, out, q.encoding);
    if (from_node) {
      auto& post = post_[static_cast<size_t>(it->second)];
      post.insert(post.end(), chain.begin(), chain.end());
    } else {
      // A graph input: its readers switch to the dequantized copy.
      for (size_t i = 0; i < og_->node.size(); ++i) {
        for (std::string& s : og_->node[i].input)
          if (s == name) s = out;
        rename_in_subgraphs(og_->node[i], name, out);
      }
      head_.insert(head_.end(), chain.begin(), chain.end());
    }
    ++st_.activations;
  }

  // (Clip ->) QuantizeLinear -> DequantizeLinear from float `x_in` to `out` for the encoding `e`
  // of activation `name` (the base of added names; initializers into into_).
  std::vector<onnx::Node> qdq_chain(const std::string& name, const std::string& x_in, const std::string& out, const Encoding& e) {
    if (e.bits < 2 || e.bits > 16) throw Error(ErrorKind::InvalidArgument, "QDQ export: activation '" + name + "': bits must be 2..16, got " + std::to_string(e.bits));
    if (e.scale.size() != 1 || e.zero_point.size() != 1) throw Error(ErrorKind::InvalidArgument, "QDQ export: activation '" + name + "' needs one scale and zero point");
    const float scale = e.scale[0];
    const int32_t zp = e.zero_point[0];
    const int container = e.bits <= 8 ? 8 : 16;
    const DataType dt = container == 8 ? DataType::Uint8 : DataType::Uint16;
    const int32_t qmax = (1 << e.bits) - 1;
    if (!(scale > 0.0f) || !std::isfinite(scale) || zp < 0 || zp > qmax)
      throw Error(ErrorKind::InvalidArgument, "QDQ export: activation '" + name + "': bad encoding (scale " + std::to_string(scale) + ", zero point " + std::to_string(zp) + ")");
    const std::string domain = qdq_domain(dt, false);
    std::vector<onnx::Node> chain;
    std::string x = x_in;
    if (e.bits < container) {
      const float lo = static_cast<float>(0 - zp) * scale;
      const float hi = static_cast<float>(qmax - zp) * scale;
      const std::string c = fresh(name + "_clipped");
      chain.push_back(clip_node(x, c, lo, hi, name + "_clip"));
      x = c;
      ++st_.clips;
    }
    const std::string s_n = add_initializer(onnx::make_float_tensor(fresh(name + "_scale"), {}, {scale}));
    const std::string z_n = add_initializer(onnx::make_integer_tensor(fresh(name + "_zero_point"), dt, {}, {zp}));
    const std::string qv = fresh(name + "_quantized");
    chain.push_back(make_node("QuantizeLinear", {x, s_n, z_n}, {qv}, fresh(name + "_QuantizeLinear"), domain));
    chain.push_back(make_node("DequantizeLinear", {qv, s_n, z_n}, {out}, fresh(name + "_DequantizeLinear"), domain));
    grid_[out] = GridRange{static_cast<float>(0 - zp) * scale, static_cast<float>(qmax - zp) * scale, e.bits};
    return chain;
  }

  // ONNX Runtime's WeightBiasQuantization (graph optimization level >= basic, after its QDQ
  // propagation moved DQs through Reshape/Transpose) rewrites DQ -> Conv/ConvTranspose/Gemm -> Q
  // units: it quantizes a float weight to int8 per tensor (when our weight is not quantized), it
  // quantizes the float bias to int32 at scale s_x * s_w (which overflows int32 with 16-bit
  // scales: garbage outputs), and below opset 13 it emits a standard DequantizeLinear with `axis`
  // for the bias of a per-channel layer, which fails to load. In those cases a Clip to the input
  // grid's own range goes right before the layer: an exact identity (every DQ output
  // (q - zp) * s lies in [(0 - zp) * s, (qmax - zp) * s], and data movement keeps values on the
  // grid) that keeps the pass away. 8-bit layers keep the standard pattern (ORT's int8 kernels).
  void add_guards() {
    static const std::set<std::string> moves = {"Reshape", "Flatten", "Transpose", "Squeeze", "Unsqueeze", "Identity", "Dropout",
                                                "Slice", "Gather", "Split", "Pad", "MaxPool", "Resize"};
    pre_.resize(og_->node.size());
    for (size_t i = 0; i < og_->node.size(); ++i) {
      onnx::Node& n = og_->node[i];
      if (removed_[i] || !n.domain.empty() || (n.op_type != "Conv" && n.op_type != "ConvTranspose" && n.op_type != "Gemm")) continue;
      if (n.input.empty() || n.input[0].empty()) continue;
      std::string v = n.input[0];
      for (int hops = 0; hops < 64 && !grid_.count(v); ++hops) {
        const auto p = producer_.find(v);
        if (p == producer_.end()) break;
        const onnx::Node& pn = og_->node[static_cast<size_t>(p->second)];
        if (!pn.domain.empty() || !moves.count(pn.op_type) || pn.input.empty()) break;
        v = pn.input[0];
      }
      const auto g = grid_.find(v);
      if (g == grid_.end()) continue;
      const auto wq = quantized_weight_nodes_.find(static_cast<int>(i));
      if (!(opset_ < 13 || wq == quantized_weight_nodes_.end() || wq->second > 8 || g->second.bits > 8)) continue;
      const std::string out = fresh(n.input[0] + "_grid");
      pre_[i].push_back(clip_node(n.input[0], out, g->second.lo, g->second.hi, n.input[0] + "_grid"));
      n.input[0] = out;
      ++st_.guards;
    }
  }

  /// Clip(x, lo, hi) -> y for the model's opset (inputs from opset 11, attributes before).
  onnx::Node clip_node(const std::string& x, const std::string& y, float lo, float hi, const std::string& base) {
    if (opset_ >= 11) {
      const std::string lo_n = add_initializer(onnx::make_float_tensor(fresh(base + "_min"), {}, {lo}));
      const std::string hi_n = add_initializer(onnx::make_float_tensor(fresh(base + "_max"), {}, {hi}));
      return make_node("Clip", {x, lo_n, hi_n}, {y}, fresh(base + "_Clip"), "");
    }
    if (opset_ < 6)
      throw Error(ErrorKind::Unsupported, "QDQ export: tensor '" + x + "' needs a Clip (opset >= 6), the model has opset " + std::to_string(opset_));
    onnx::Node clip = make_node("Clip", {x}, {y}, fresh(base + "_Clip"), "");
    clip.attribute.push_back(float_attr("min", lo));
    clip.attribute.push_back(float_attr("max", hi));
    return clip;
  }

  void assemble() {
    std::vector<onnx::Node> nodes = std::move(head_);
    for (size_t i = 0; i < og_->node.size(); ++i) {
      if (removed_[i]) continue;
      if (i < pre_.size())
        for (onnx::Node& p : pre_[i]) nodes.push_back(std::move(p));
      nodes.push_back(std::move(og_->node[i]));
      for (onnx::Node& p : post_[i]) nodes.push_back(std::move(p));
    }
    og_->node = std::move(nodes);
  }

  // Drops nodes whose outputs nobody reads (the float weight chains replaced above) and the
  // initializers, graph inputs and value_info entries left without a use or a producer.
  void remove_dead() {
    std::set<std::string> outputs;
    for (const onnx::ValueInfo& v : og_->output) outputs.insert(v.name);
    for (;;) {
      std::set<std::string> used = outputs;
      collect_reads(*og_, used);
      std::vector<onnx::Node> kept;
      for (onnx::Node& n : og_->node) {
        bool live = false;
        for (const std::string& s : n.output) live |= !s.empty() && used.count(s);
        if (live) kept.push_back(std::move(n));
        else ++st_.nodes_removed;
      }
      const bool changed = kept.size() != og_->node.size();
      og_->node = std::move(kept);
      if (!changed) break;
    }
    std::set<std::string> used = outputs;
    collect_reads(*og_, used);
    std::set<std::string> dropped;
    std::vector<onnx::Tensor> inits;
    for (onnx::Tensor& t : og_->initializer) {
      if (used.count(t.name)) inits.push_back(std::move(t));
      else {
        dropped.insert(t.name);
        ++st_.initializers_removed;
      }
    }
    og_->initializer = std::move(inits);
    std::vector<onnx::ValueInfo> ins;
    for (onnx::ValueInfo& v : og_->input)
      if (!dropped.count(v.name)) ins.push_back(std::move(v));
    og_->input = std::move(ins);
    std::set<std::string> defined;
    for (const onnx::ValueInfo& v : og_->input) defined.insert(v.name);
    for (const onnx::Tensor& t : og_->initializer) defined.insert(t.name);
    for (const onnx::Node& n : og_->node)
      for (const std::string& s : n.output) defined.insert(s);
    std::vector<onnx::ValueInfo> vi;
    for (onnx::ValueInfo& v : og_->value_info)
      if (defined.count(v.name)) vi.push_back(std::move(v));
    og_->value_info = std::move(vi);
  }

  const graph::Plan& plan_;
  const graph::Graph& g_;
  const ExportOptions& opt_;
  ExportStats& st_;
  onnx::Model model_;
  onnx::Graph* og_ = nullptr;
  onnx::Graph* into_ = nullptr;  // the graph add_initializer writes to (og_, or a subgraph being written)
  // Per subgraph: nodes to insert before position `first` of its node list (insert_pending).
  std::map<onnx::Graph*, std::vector<std::pair<size_t, std::vector<onnx::Node>>>> pending_;
  int64_t opset_ = 0;
  bool uses_ms_ = false;
  std::set<std::string> names_;
  std::vector<onnx::Node> head_;
  std::vector<std::vector<onnx::Node>> post_;
  std::vector<bool> removed_;
  std::map<std::string, int> producer_;
  std::map<int, int> quantized_weight_nodes_;  // node index -> weight bits
  struct GridRange {
    float lo, hi;
    int bits;
  };
  std::map<std::string, GridRange> grid_;  // dequantized activation -> its represented range
  std::vector<std::vector<onnx::Node>> pre_;
};

}  // namespace

std::vector<int32_t> quantize_weight_values(const Tensor& w, const Encoding& enc) {
  if (w.dtype() != DataType::Float) throw Error(ErrorKind::InvalidArgument, "weight quantization: weight is not float");
  const int32_t qmin = -(1 << (enc.bits - 1)), qmax = (1 << (enc.bits - 1)) - 1;
  if (!enc.levels.empty()) {  // learned rounding: the integers the simulation used
    if (static_cast<int64_t>(enc.levels.size()) != w.numel())
      throw Error(ErrorKind::InvalidArgument, "weight quantization: " + std::to_string(enc.levels.size()) + " learned levels for " +
                                                  shape_to_string(w.shape()));
    std::vector<int32_t> q(enc.levels.begin(), enc.levels.end());
    for (int32_t v : q)
      if (v < qmin || v > qmax)
        throw Error(ErrorKind::InvalidArgument, "weight quantization: learned level " + std::to_string(v) + " outside [" + std::to_string(qmin) +
                                                    ", " + std::to_string(qmax) + "]");
    return q;
  }
  if (enc.block > 0) {
    // [outer, K, inner]; element (o, k, i) takes the scale of block k / block.
    int64_t outer = 1, K = 1, inner = 1;
    for (int d = 0; d < w.rank(); ++d) {
      const int64_t n = w.shape()[static_cast<size_t>(d)];
      if (d < enc.axis) outer *= n;
      else if (d < enc.axis + enc.block_k_dims) K *= n;
      else inner *= n;
    }
    const int64_t blocks = (K + enc.block - 1) / enc.block;
    if (enc.axis < 0 || static_cast<int64_t>(enc.scale.size()) != outer * blocks * inner)
      throw Error(ErrorKind::InvalidArgument, "weight quantization: expected " + std::to_string(outer * blocks * inner) + " block scales for " +
                                                  shape_to_string(w.shape()) + ", got " + std::to_string(enc.scale.size()));
    std::vector<int32_t> q(static_cast<size_t>(w.numel()));
    const float* x = w.data<float>();
    for (int64_t o = 0; o < outer; ++o)
      for (int64_t k = 0; k < K; ++k)
        for (int64_t i = 0; i < inner; ++i) {
          const size_t at = static_cast<size_t>((o * K + k) * inner + i);
          const float s = enc.scale[static_cast<size_t>((o * blocks + k / enc.block) * inner + i)];
          if (!(s > 0.0f) || !std::isfinite(s))
            throw Error(ErrorKind::InvalidArgument, "weight quantization: a block has scale " + std::to_string(s) + " (expected a positive finite number)");
          // Exactly the simulator's QuantizeLinear (kernels/fake_quant.h): divide, clamp, round.
          float t = x[at] / s;
          const float lo = static_cast<float>(qmin), hi = static_cast<float>(qmax);
          t = t > lo ? t : lo;
          t = t < hi ? t : hi;
          q[at] = static_cast<int32_t>(std::nearbyint(t));
        }
    return q;
  }
  size_t outer = 1, channels = 1, inner = static_cast<size_t>(w.numel());
  if (enc.axis >= 0) {
    if (enc.axis >= w.rank())
      throw Error(ErrorKind::InvalidArgument, "weight quantization: axis " + std::to_string(enc.axis) + " out of range for " + shape_to_string(w.shape()));
    split_axis(w.shape(), enc.axis, outer, channels, inner);
  }
  if (enc.scale.size() != channels)
    throw Error(ErrorKind::InvalidArgument, "weight quantization: expected " + std::to_string(channels) + " scales for " + shape_to_string(w.shape()) +
                                                " along axis " + std::to_string(enc.axis) + ", got " + std::to_string(enc.scale.size()));
  std::vector<int32_t> q(static_cast<size_t>(w.numel()));
  const float* x = w.data<float>();
  for (size_t o = 0; o < outer; ++o)
    for (size_t c = 0; c < channels; ++c) {
      const float s = enc.scale[c];
      if (!(s > 0.0f) || !std::isfinite(s))
        throw Error(ErrorKind::InvalidArgument, "weight quantization: channel " + std::to_string(c) + " has scale " + std::to_string(s) + " (expected a positive finite number)");
      const int32_t zp = enc.zero_point.empty() ? 0 : enc.zero_point[c];
      if (zp != 0) throw Error(ErrorKind::InvalidArgument, "weight quantization: channel " + std::to_string(c) + " has zero point " + std::to_string(zp) + " (weights are symmetric: expected 0)");
      for (size_t i = 0; i < inner; ++i) {
        const size_t k = (o * channels + c) * inner + i;
        // Exactly the simulator's QuantizeLinear (kernels/fake_quant.h): divide, clamp, round.
        float t = x[k] / s;
        const float lo = static_cast<float>(qmin - zp), hi = static_cast<float>(qmax - zp);
        t = t > lo ? t : lo;
        t = t < hi ? t : hi;
        q[k] = static_cast<int32_t>(std::nearbyint(t));
      }
    }
  return q;
}

onnx::Model export_qdq(const graph::Plan& plan, const std::vector<ExportQuantizer>& quantizers,
                       const ExportOptions& options, ExportStats* stats) {
  ExportStats local;
  bool blocked = false;
  for (const ExportQuantizer& q : quantizers) blocked |= q.kind == QuantizerKind::Weight && q.encoding.block > 0;
  Exporter ex(plan, options, stats ? *stats : local, blocked);
  return ex.run(quantizers);
}

}  // namespace qm::quant
