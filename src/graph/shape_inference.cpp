#include "graph/shape_inference.h"

#include <memory>

#include "core/error.h"

namespace qm::graph {

ValueInfos infer_shapes(const Graph& g, const InputShapeOverrides& overrides) {
  ValueInfos infos(g.values().size());
  const onnx::Graph& proto = *g.model().graph;
  for (const onnx::SparseTensor& t : proto.sparse_initializer) {
    if (auto id = g.find(t.values.name)) {
      ops::Dims dims(t.dims.begin(), t.dims.end());
      infos[static_cast<size_t>(*id)] = ops::TensorInfo(static_cast<DataType>(t.values.data_type), dims);
    }
  }
  for (size_t i = 0; i < g.values().size(); ++i) {
    const Value& v = g.values()[i];
    if (v.kind == ValueKind::Initializer && v.initializer) {
      infos[i] = ops::info_from_tensor(*v.initializer);
    } else if (v.kind == ValueKind::Input) {
      infos[i] = ops::info_from_type(v.declared && v.declared->type ? &*v.declared->type : nullptr);
      auto it = overrides.find(v.name);
      if (it != overrides.end()) infos[i].shape = it->second;
    }
  }
  for (int ni : g.topo_order()) {
    const Node& n = g.node(ni);
    if (!n.def) continue;  // unsupported: outputs stay unknown
    std::vector<const ops::TensorInfo*> ins;
    for (ValueId v : n.inputs) ins.push_back(v == kNoValue ? nullptr : &infos[static_cast<size_t>(v)]);
    ops::InferContext ctx(n.name, n.op_type(), n.opset, std::move(ins), n.outputs.size());
    std::vector<ops::TensorInfo> outs = n.def->infer(n.attrs.get(), ctx);
    for (size_t k = 0; k < n.outputs.size() && k < outs.size(); ++k)
      if (n.outputs[k] != kNoValue) infos[static_cast<size_t>(n.outputs[k])] = std::move(outs[k]);
  }
  return infos;
}

std::function<int(const std::string&)> rank_lookup(const Graph& g) {
  auto infos = std::make_shared<const ValueInfos>(infer_shapes(g));
  return [&g, infos](const std::string& name) {
    const std::optional<ValueId> v = g.find(name);
    if (!v) return -1;
    const ops::TensorInfo& t = (*infos)[static_cast<size_t>(*v)];
    return t.shape ? static_cast<int>(t.shape->size()) : -1;
  };
}

}  // namespace qm::graph
