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

}  // namespace qm::onnx
