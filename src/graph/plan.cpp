#include "graph/plan.h"

#include <algorithm>
#include <cmath>

#include "core/error.h"
#include "core/thread_pool.h"
#include "ops/control_flow.h"
#include "ops/conv.h"
#include "ops/fused.h"
#include "ops/gemm.h"
#include "ops/run_util.h"

namespace qm::graph {
namespace {

/// Ops whose result is not a pure function of their inputs (never folded).
bool is_random(const std::string& op) {
  return op == "RandomNormal" || op == "RandomUniform" || op == "RandomNormalLike" ||
         op == "RandomUniformLike" || op == "Multinomial" || op == "Bernoulli";
}

float node_float_attr(const onnx::Node& n, const char* name, float fallback) {
  for (const onnx::Attribute& a : n.attribute)
    if (a.name == name) return a.f;
  return fallback;
}

}  // namespace

Plan::Plan(const Graph& g, const PrepareOptions& opt) : graph_(&g) {
  const size_t nv = g.values().size();
  constants_.resize(nv);
  alias_.resize(nv);
  for (size_t i = 0; i < nv; ++i) alias_[i] = static_cast<ValueId>(i);

  // Every op must be runnable: list them all, name the first node.
  {
    std::vector<std::string> missing;
    const Node* first = nullptr;
    for (int ni : g.topo_order()) {
      const Node& n = g.node(ni);
      if (n.def && n.def->run) {
        // Ops inside If/Loop/Scan subgraphs must be runnable too.
        if (!ops::has_subgraphs(*n.proto)) continue;
        std::vector<std::string> inner = ops::subgraph_unsupported_ops(*n.proto, n.opset);
        if (inner.empty()) continue;
        for (const std::string& op : inner)
          if (std::find(missing.begin(), missing.end(), op) == missing.end()) missing.push_back(op);
        if (!first) first = &n;
        continue;
      }
      const std::string op = qualified_op_type(*n.proto);
      if (std::find(missing.begin(), missing.end(), op) == missing.end()) missing.push_back(op);
      if (!first) first = &n;
    }
    if (first) {
      std::string list;
      for (const std::string& m : missing) list += (list.empty() ? "" : ", ") + m;
      const bool inner = first->def && first->def->run;  // a control-flow node: its subgraphs
      throw Error(ErrorKind::Unsupported, "node '" + first->name + "' (" + qualified_op_type(*first->proto) +
                                              (inner ? "): its subgraphs use ops" : "): op") +
                                              " not supported by the engine (unsupported ops in this model: " + list + ")");
    }
  }

  for (size_t i = 0; i < nv; ++i) {
    const Value& v = g.values()[i];
    if (v.kind == ValueKind::Initializer && v.initializer) {
      try {
        constants_[i] = std::make_unique<Tensor>(ops::detail::tensor_from_onnx(*v.initializer));
      } catch (const Error& e) {
        // Unusable types (strings, float16...) fail only if an op reads them at run time.
        if (e.kind() != ErrorKind::Unsupported) throw;
      }
    }
  }

  ThreadPool single(1);
  for (int ni : g.topo_order()) {
    const Node& n = g.node(ni);
    Step s;
    s.node = ni;
    s.def = n.def;
    s.attrs = n.attrs;
    for (ValueId v : n.inputs) s.inputs.push_back(v == kNoValue ? kNoValue : resolve(v));
    s.outputs = n.outputs;
    const std::string& op = n.op_type();
    const bool training_dropout = op == "Dropout" && s.inputs.size() >= 3 && s.inputs[2] != kNoValue;
    const bool mask_used = s.outputs.size() > 1 && s.outputs[1] != kNoValue &&
                           (!g.value(s.outputs[1]).consumers.empty() || g.value(s.outputs[1]).is_graph_output);
    if (opt.remove_identity && n.domain.empty() && (op == "Identity" || (op == "Dropout" && !training_dropout && !mask_used)) &&
        !s.inputs.empty() && s.inputs[0] != kNoValue && s.outputs[0] != kNoValue) {
      alias_[static_cast<size_t>(s.outputs[0])] = s.inputs[0];
      ++removed_identity_;
      continue;
    }
    bool all_const = opt.fold_constants && !is_random(op);
    for (ValueId v : s.inputs)
      if (v != kNoValue && !constant(v)) all_const = false;
    if (all_const) {
      std::vector<const Tensor*> ins;
      for (ValueId v : s.inputs) ins.push_back(v == kNoValue ? nullptr : constant(v));
      std::vector<Tensor> outs(s.outputs.size());
      ops::RunContext ctx(n.name, op, n.opset, ins, &outs, &single);
      try {
        n.def->run(n.attrs.get(), ctx);
      } catch (const Error& e) {
        // A constant the engine cannot compute (e.g. a string tensor) fails only if it is used.
        if (e.kind() != ErrorKind::Unsupported) throw with_context(e, "constant folding");
        steps_.push_back(std::move(s));
        continue;
      }
      for (size_t k = 0; k < s.outputs.size(); ++k)
        if (s.outputs[k] != kNoValue) constants_[static_cast<size_t>(s.outputs[k])] = std::make_unique<Tensor>(std::move(outs[k]));
      ++folded_nodes_;
      continue;
    }
    steps_.push_back(std::move(s));
  }
  for (ValueId v : g.outputs()) outputs_.push_back(resolve(v));
  if (opt.fold_batchnorm) fold_batchnorms();
  if (opt.fuse_activations) fuse_activations();
  drop_dead_steps();
  plan_memory();
}

const Tensor* Plan::constant(ValueId v) const {
  if (v < 0 || static_cast<size_t>(v) >= constants_.size()) return nullptr;
  return constants_[static_cast<size_t>(v)].get();
}

ValueId Plan::add_constant(Tensor t) {
  constants_.push_back(std::make_unique<Tensor>(std::move(t)));
  const ValueId id = static_cast<ValueId>(constants_.size() - 1);
  alias_.push_back(id);
  return id;
}

std::string Plan::value_name(ValueId v) const {
  if (v >= 0 && static_cast<size_t>(v) < graph_->values().size()) return graph_->value(v).name;
  return "<folded constant " + std::to_string(v) + ">";
}

void Plan::fold_batchnorms() {
  auto [uses, prod] = step_links();
  std::vector<bool> erase(steps_.size(), false);
  for (size_t i = 0; i < steps_.size(); ++i) {
    Step& bn = steps_[i];
    const Node& bnode = graph_->node(bn.node);
    if (bnode.op_type() != "BatchNormalization" || !bnode.domain.empty() || bn.inputs.size() != 5) continue;
    if (bn.outputs.size() > 1 || bn.inputs[0] == kNoValue) continue;
    bool params_const = true;
    for (size_t k = 1; k < 5; ++k)
      if (bn.inputs[k] == kNoValue || !constant(bn.inputs[k]) || constant(bn.inputs[k])->dtype() != DataType::Float) params_const = false;
    if (!params_const) continue;
    const ValueId x = bn.inputs[0];
    const int pi = prod[static_cast<size_t>(x)];
    if (pi < 0 || uses[static_cast<size_t>(x)] != 1) continue;
    Step& p = steps_[static_cast<size_t>(pi)];
    const Node& pnode = graph_->node(p.node);
    const std::string& op = pnode.op_type();
    if (!pnode.domain.empty() || (op != "Conv" && op != "ConvTranspose" && op != "Gemm")) continue;
    if (p.inputs.size() < 2 || !constant(p.inputs[1]) || constant(p.inputs[1])->dtype() != DataType::Float) continue;
    const Tensor* bias = p.inputs.size() > 2 && p.inputs[2] != kNoValue ? constant(p.inputs[2]) : nullptr;
    if (p.inputs.size() > 2 && p.inputs[2] != kNoValue && (!bias || bias->dtype() != DataType::Float)) continue;
    const Tensor& w = *constant(p.inputs[1]);
    const Tensor &scale = *constant(bn.inputs[1]), &shift = *constant(bn.inputs[2]), &mean = *constant(bn.inputs[3]),
                 &var = *constant(bn.inputs[4]);
    const int64_t C = scale.numel();
    if (shift.numel() != C || mean.numel() != C || var.numel() != C) continue;
    const float eps = node_float_attr(*bnode.proto, "epsilon", 1e-5f);
    std::vector<double> a(static_cast<size_t>(C)), b(static_cast<size_t>(C));
    for (int64_t c = 0; c < C; ++c) {
      const size_t u = static_cast<size_t>(c);
      a[u] = scale.data<float>()[c] / std::sqrt(static_cast<double>(var.data<float>()[c]) + eps);
      b[u] = shift.data<float>()[c] - mean.data<float>()[c] * a[u];
    }
    Tensor nw = w.clone();
    Tensor nb(DataType::Float, {C});
    std::shared_ptr<const ops::OpAttrs> nattrs = p.attrs;
    if (op == "Conv") {
      if (w.rank() < 3 || w.shape()[0] != C) continue;
      const int64_t per = w.numel() / C;
      for (int64_t c = 0; c < C; ++c)
        for (int64_t j = 0; j < per; ++j) nw.data<float>()[c * per + j] = static_cast<float>(w.data<float>()[c * per + j] * a[static_cast<size_t>(c)]);
    } else if (op == "ConvTranspose") {
      const auto* ca = static_cast<const ops::ConvAttrs*>(p.attrs.get());
      const int64_t G = ca->group;
      if (w.rank() < 3 || w.shape()[1] * G != C) continue;
      const int64_t cin = w.shape()[0], cout = w.shape()[1], per = w.numel() / (cin * cout);
      for (int64_t ci = 0; ci < cin; ++ci)
        for (int64_t j = 0; j < cout; ++j) {
          const double s = a[static_cast<size_t>((ci / (cin / G)) * cout + j)];
          float* row = nw.data<float>() + (ci * cout + j) * per;
          const float* src = w.data<float>() + (ci * cout + j) * per;
          for (int64_t t = 0; t < per; ++t) row[t] = static_cast<float>(src[t] * s);
        }
    } else {  // Gemm: channels are the columns of Y
      const auto* ga = static_cast<const ops::GemmAttrs*>(p.attrs.get());
      if (w.rank() != 2) continue;
      const int64_t N = ga->trans_b ? w.shape()[0] : w.shape()[1];
      if (N != C) continue;
      if (bias && !(bias->numel() == C && bias->shape().back() == C) && bias->numel() != 1) continue;
      for (int64_t r = 0; r < w.shape()[0]; ++r)
        for (int64_t col = 0; col < w.shape()[1]; ++col) {
          const int64_t ch = ga->trans_b ? r : col;
          float& v = nw.data<float>()[r * w.shape()[1] + col];
          v = static_cast<float>(v * a[static_cast<size_t>(ch)]);
        }
      auto na = std::make_shared<ops::GemmAttrs>(*ga);
      na->beta = 1.0f;
      for (int64_t c = 0; c < C; ++c) {
        const double cb = bias ? ga->beta * bias->data<float>()[bias->numel() == 1 ? 0 : c] : 0.0;
        nb.data<float>()[c] = static_cast<float>(cb * a[static_cast<size_t>(c)] + b[static_cast<size_t>(c)]);
      }
      nattrs = na;
    }
    if (op != "Gemm") {
      if (bias && bias->numel() != C) continue;
      for (int64_t c = 0; c < C; ++c)
        nb.data<float>()[c] = static_cast<float>((bias ? bias->data<float>()[c] : 0.0f) * a[static_cast<size_t>(c)] + b[static_cast<size_t>(c)]);
    }
    p.inputs[1] = add_constant(std::move(nw));
    if (p.inputs.size() < 3) p.inputs.resize(3, kNoValue);
    p.inputs[2] = add_constant(std::move(nb));
    p.attrs = nattrs;
    p.outputs[0] = bn.outputs[0];
    prod.resize(constants_.size(), -1);
    uses.resize(constants_.size(), 0);
    prod[static_cast<size_t>(bn.outputs[0])] = pi;
    erase[i] = true;
    ++folded_bn_;
  }
  drop_steps(erase);
}

void Plan::fuse_activations() {
  auto [uses, prod] = step_links();
  std::vector<bool> erase(steps_.size(), false);
  for (size_t i = 0; i < steps_.size(); ++i) {
    Step& act = steps_[i];
    const Node& an = graph_->node(act.node);
    const std::string& aop = an.op_type();
    if (!an.domain.empty() || (aop != "Relu" && aop != "Clip") || act.inputs.empty() || act.inputs[0] == kNoValue) continue;
    ops::FusedClamp clamp;
    if (aop == "Relu") {
      clamp.lo = 0.0f;
    } else if (an.opset < 11) {
      for (const onnx::Attribute& at : an.proto->attribute) {
        if (at.name == "min") clamp.lo = at.f;
        if (at.name == "max") clamp.hi = at.f;
      }
    } else {
      bool ok = true;
      for (size_t k = 1; k < 3 && k < act.inputs.size(); ++k) {
        if (act.inputs[k] == kNoValue) continue;
        const Tensor* t = constant(act.inputs[k]);
        if (!t || t->dtype() != DataType::Float || t->numel() != 1) {
          ok = false;
          break;
        }
        (k == 1 ? clamp.lo : clamp.hi) = t->data<float>()[0];
      }
      if (!ok) continue;
    }
    const ValueId x = act.inputs[0];
    const int pi = prod[static_cast<size_t>(x)];
    if (pi < 0 || uses[static_cast<size_t>(x)] != 1 || erase[static_cast<size_t>(pi)]) continue;
    Step& p = steps_[static_cast<size_t>(pi)];
    const Node& pn = graph_->node(p.node);
    const std::string& pop = pn.op_type();
    if (!pn.domain.empty() || p.outputs.size() != 1) continue;
    if (pop == "Conv") {
      if (dynamic_cast<const ops::ConvFusedAttrs*>(p.attrs.get())) continue;  // already fused
      auto fa = std::make_shared<ops::ConvFusedAttrs>();
      static_cast<ops::ConvAttrs&>(*fa) = *static_cast<const ops::ConvAttrs*>(p.attrs.get());
      fa->clamp = clamp;
      p.attrs = fa;
    } else if (pop == "Gemm") {
      if (dynamic_cast<const ops::GemmFusedAttrs*>(p.attrs.get())) continue;
      auto fa = std::make_shared<ops::GemmFusedAttrs>();
      static_cast<ops::GemmAttrs&>(*fa) = *static_cast<const ops::GemmAttrs*>(p.attrs.get());
      fa->clamp = clamp;
      p.attrs = fa;
    } else {
      continue;
    }
    p.outputs[0] = act.outputs[0];
    prod[static_cast<size_t>(act.outputs[0])] = pi;
    erase[i] = true;
    ++fused_act_;
  }
  drop_steps(erase);
}

void Plan::drop_dead_steps() {
  std::vector<bool> needed(constants_.size(), false);
  for (ValueId v : outputs_) needed[static_cast<size_t>(v)] = true;
  std::vector<bool> dead(steps_.size(), true);
  for (size_t i = steps_.size(); i-- > 0;) {
    const Step& s = steps_[i];
    for (ValueId v : s.outputs)
      if (v != kNoValue && needed[static_cast<size_t>(v)]) dead[i] = false;
    if (dead[i]) continue;
    for (ValueId v : s.inputs)
      if (v != kNoValue) needed[static_cast<size_t>(v)] = true;
  }
  drop_steps(dead);
}

Plan::StepLinks Plan::step_links() const {
  StepLinks l{std::vector<int>(constants_.size(), 0), std::vector<int>(constants_.size(), -1)};
  for (const Step& s : steps_)
    for (ValueId v : s.inputs)
      if (v != kNoValue) ++l.uses[static_cast<size_t>(v)];
  for (ValueId v : outputs_) ++l.uses[static_cast<size_t>(v)];
  for (size_t i = 0; i < steps_.size(); ++i)
    for (ValueId v : steps_[i].outputs)
      if (v != kNoValue) l.producer[static_cast<size_t>(v)] = static_cast<int>(i);
  return l;
}

void Plan::drop_steps(const std::vector<bool>& drop) {
  std::vector<Step> kept;
  for (size_t i = 0; i < steps_.size(); ++i)
    if (!drop[i]) kept.push_back(std::move(steps_[i]));
  steps_ = std::move(kept);
}

void Plan::plan_memory() {
  const size_t nv = constants_.size();
  producer_.assign(nv, -1);
  std::vector<int> last(nv, -1);
  for (size_t i = 0; i < steps_.size(); ++i) {
    Step& s = steps_[i];
    s.constant.clear();
    for (ValueId v : s.inputs) {
      const bool c = v != kNoValue && constant(v);
      s.constant.push_back(c);
      if (v != kNoValue && !c) last[static_cast<size_t>(v)] = static_cast<int>(i);
    }
    for (ValueId v : s.outputs)
      if (v != kNoValue) {
        producer_[static_cast<size_t>(v)] = static_cast<int>(i);
        if (last[static_cast<size_t>(v)] < static_cast<int>(i)) last[static_cast<size_t>(v)] = static_cast<int>(i);
      }
  }
  std::vector<bool> is_out(nv, false);
  for (ValueId v : outputs_) is_out[static_cast<size_t>(v)] = true;
  for (size_t v = 0; v < nv; ++v)
    if (last[v] >= 0 && !is_out[v] && !constant(static_cast<ValueId>(v)))
      steps_[static_cast<size_t>(last[v])].free_after.push_back(static_cast<ValueId>(v));
}

int Plan::producer_step(ValueId v) const {
  v = resolve(v);
  return producer_[static_cast<size_t>(v)];
}

std::vector<ValueId> Plan::live_in(size_t s) const {
  std::vector<bool> seen(constants_.size(), false);
  std::vector<ValueId> out;
  auto consider = [&](ValueId v) {
    if (v == kNoValue || constant(v) || seen[static_cast<size_t>(v)]) return;
    const int p = producer_[static_cast<size_t>(v)];
    if (p >= static_cast<int>(s)) return;
    seen[static_cast<size_t>(v)] = true;
    out.push_back(v);
  };
  for (size_t i = s; i < steps_.size(); ++i)
    for (ValueId v : steps_[i].inputs) consider(v);
  for (ValueId v : outputs_) consider(v);
  return out;
}

}  // namespace qm::graph
