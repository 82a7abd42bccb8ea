#include "graph/macs.h"

#include "ops/gemm.h"

namespace qm::graph {
namespace {

std::optional<int64_t> mul(std::optional<int64_t> a, std::optional<int64_t> b) {
  if (!a || !b) return std::nullopt;
  if (*a != 0 && *b > INT64_MAX / *a) return std::nullopt;
  return *a * *b;
}

const ops::TensorInfo* input_info(const Node& n, const ValueInfos& infos, size_t i) {
  if (i >= n.inputs.size() || n.inputs[i] == kNoValue) return nullptr;
  return &infos[static_cast<size_t>(n.inputs[i])];
}

std::optional<int64_t> dims_product(const ops::TensorInfo* t, size_t from) {
  if (!t || !t->shape || t->shape->size() < from) return std::nullopt;
  return ops::product(ops::Dims(t->shape->begin() + static_cast<std::ptrdiff_t>(from), t->shape->end()));
}

std::optional<int64_t> dim(const ops::TensorInfo* t, size_t i) {
  if (!t || !t->shape || i >= t->shape->size()) return std::nullopt;
  return (*t->shape)[i].value;
}

}  // namespace

bool is_layer_op(const Node& n) {
  if (!n.domain.empty()) return false;
  const std::string& t = n.op_type();
  return t == "Conv" || t == "ConvTranspose" || t == "Gemm" || t == "MatMul";
}

std::optional<int64_t> node_macs(const Graph& g, const Node& n, const ValueInfos& infos) {
  (void)g;
  if (!is_layer_op(n) || !n.supported()) return std::nullopt;
  const ops::TensorInfo* x = input_info(n, infos, 0);
  const ops::TensorInfo* w = input_info(n, infos, 1);
  const ops::TensorInfo* y = n.outputs.empty() || n.outputs[0] == kNoValue
                                 ? nullptr : &infos[static_cast<size_t>(n.outputs[0])];
  return layer_macs(n.op_type(), n.attrs.get(), x, w, y);
}

std::optional<int64_t> layer_macs(const std::string& t, const ops::OpAttrs* attrs, const ops::TensorInfo* x,
                                  const ops::TensorInfo* w, const ops::TensorInfo* y) {
  if (t == "Conv") return mul(dims_product(y, 0), dims_product(w, 1));
  if (t == "ConvTranspose") return mul(dims_product(x, 0), dims_product(w, 1));
  if (t == "Gemm") {
    const auto* a = static_cast<const ops::GemmAttrs*>(attrs);
    const bool ta = a && a->trans_a, tb = a && a->trans_b;
    auto m = dim(x, ta ? 1 : 0), k = dim(x, ta ? 0 : 1), nn = dim(w, tb ? 0 : 1);
    return mul(mul(m, k), nn);
  }
  if (t != "MatMul") return std::nullopt;
  // MatMul: output elements × K (a 1-D A is [K]).
  if (!x || !x->shape || x->shape->empty()) return std::nullopt;
  return mul(dims_product(y, 0), x->shape->back().value);
}

PerSampleShapes per_sample_shapes(const Graph& g, const InputShapeOverrides& overrides, const ValueInfos& infos) {
  PerSampleShapes r;
  if (g.inputs().empty()) return r;
  const ops::TensorInfo& first = infos[static_cast<size_t>(g.inputs()[0])];
  if (!first.shape || first.shape->size() < 2) return r;
  const ops::Dim& lead = (*first.shape)[0];
  if (lead.known()) {
    if (*lead.value >= 1) r.batch = *lead.value;
    return r;
  }
  r.batch_dynamic = true;
  r.batch_symbol = lead.symbol;
  InputShapeOverrides fixed = overrides;
  for (ValueId v : g.inputs()) {
    const ops::TensorInfo& in = infos[static_cast<size_t>(v)];
    if (!in.shape) continue;
    ops::Dims dims = *in.shape;
    bool changed = false;
    for (size_t i = 0; i < dims.size(); ++i) {
      const bool is_lead = v == g.inputs()[0] && i == 0;
      if (is_lead || (!r.batch_symbol.empty() && dims[i].symbol == r.batch_symbol)) {
        dims[i] = int64_t{1};
        changed = true;
      }
    }
    if (changed) fixed[g.value(v).name] = dims;
  }
  r.batch1 = infer_shapes(g, fixed);
  return r;
}

}  // namespace qm::graph
