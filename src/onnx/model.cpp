#include "onnx/model.h"

namespace qm::onnx {

const Attribute* Node::find_attribute(std::string_view attr_name) const {
  for (const Attribute& a : attribute)
    if (a.name == attr_name) return &a;
  return nullptr;
}

int64_t Model::opset_version(std::string_view op_domain) const {
  auto is_default = [](std::string_view d) { return d.empty() || d == "ai.onnx"; };
  bool want_default = is_default(op_domain);
  for (const OperatorSetId& o : opset_import) {
    if (want_default ? is_default(o.domain) : o.domain == op_domain) return o.version;
  }
  return 0;
}

size_t payload_bytes(const Tensor& t) {
  size_t n = t.raw_data.size() + 4 * (t.float_data.size() + t.int32_data.size()) +
             8 * (t.int64_data.size() + t.double_data.size() + t.uint64_data.size());
  for (const std::string& s : t.string_data) n += s.size();
  return n;
}

namespace {

size_t payload_bytes(const SparseTensor& t) { return payload_bytes(t.values) + payload_bytes(t.indices); }

size_t payload_bytes(const Attribute& a) {
  size_t n = 0;
  if (a.t) n += payload_bytes(*a.t);
  for (const Tensor& t : a.tensors) n += payload_bytes(t);
  if (a.sparse_tensor) n += payload_bytes(*a.sparse_tensor);
  for (const SparseTensor& t : a.sparse_tensors) n += payload_bytes(t);
  if (a.g) n += payload_bytes(**a.g);
  for (const Graph& g : a.graphs) n += payload_bytes(g);
  return n;
}

}  // namespace

// Recursion is bounded by the reader's subgraph depth limit.
size_t payload_bytes(const Graph& g) {
  size_t n = 0;
  for (const Tensor& t : g.initializer) n += payload_bytes(t);
  for (const SparseTensor& t : g.sparse_initializer) n += payload_bytes(t);
  for (const Node& node : g.node)
    for (const Attribute& a : node.attribute) n += payload_bytes(a);
  return n;
}

}  // namespace qm::onnx
