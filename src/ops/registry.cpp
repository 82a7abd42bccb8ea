#include "ops/registry.h"

#include <cassert>

#include "core/error.h"
#include "core/thread_pool.h"

namespace qm::ops {
namespace {

const char* attr_type_name(onnx::AttributeType t) {
  switch (t) {
    case onnx::AttributeType::Float: return "FLOAT";
    case onnx::AttributeType::Int: return "INT";
    case onnx::AttributeType::String: return "STRING";
    case onnx::AttributeType::Tensor: return "TENSOR";
    case onnx::AttributeType::Graph: return "GRAPH";
    case onnx::AttributeType::Floats: return "FLOATS";
    case onnx::AttributeType::Ints: return "INTS";
    case onnx::AttributeType::Strings: return "STRINGS";
    case onnx::AttributeType::Tensors: return "TENSORS";
    case onnx::AttributeType::Graphs: return "GRAPHS";
    case onnx::AttributeType::SparseTensor: return "SPARSE_TENSOR";
    case onnx::AttributeType::SparseTensors: return "SPARSE_TENSORS";
    case onnx::AttributeType::TypeProto: return "TYPE_PROTO";
    case onnx::AttributeType::TypeProtos: return "TYPE_PROTOS";
    case onnx::AttributeType::Undefined: break;
  }
  return "UNDEFINED";
}

// IR version 1 files may leave AttributeProto.type unset; then the field that holds a value
// tells the type.
onnx::AttributeType effective_type(const onnx::Attribute& a) {
  if (a.type != 0) return a.attr_type();
  using T = onnx::AttributeType;
  if (!a.ints.empty()) return T::Ints;
  if (!a.floats.empty()) return T::Floats;
  if (!a.strings.empty()) return T::Strings;
  if (a.t) return T::Tensor;
  if (a.g) return T::Graph;
  if (!a.tensors.empty()) return T::Tensors;
  if (!a.graphs.empty()) return T::Graphs;
  if (a.wire.has(4)) return T::String;
  if (a.wire.has(2)) return T::Float;
  if (a.wire.has(3)) return T::Int;
  return T::Undefined;
}

}  // namespace

const onnx::Attribute* ParseContext::find(std::string_view name) const {
  for (const onnx::Attribute& a : node_.attribute)
    if (a.name == name) return &a;
  return nullptr;
}

const onnx::Attribute* ParseContext::find_typed(std::string_view name, onnx::AttributeType type) const {
  const onnx::Attribute* a = find(name);
  if (!a) return nullptr;
  const onnx::AttributeType t = effective_type(*a);
  // Empty repeated attributes (e.g. `pads: []`) carry no field, so an untyped one is accepted.
  if (t == type || (a->type == 0 && t == onnx::AttributeType::Undefined)) return a;
  fail_attr(name, std::string("expected type ") + attr_type_name(type) + ", got " + attr_type_name(t));
}

int64_t ParseContext::get_int(std::string_view name, int64_t fallback) const {
  const onnx::Attribute* a = find_typed(name, onnx::AttributeType::Int);
  return a ? a->i : fallback;
}

int64_t ParseContext::require_int(std::string_view name) const {
  const onnx::Attribute* a = find_typed(name, onnx::AttributeType::Int);
  if (!a) fail_attr(name, "missing required attribute (expected an INT)");
  return a->i;
}

float ParseContext::get_float(std::string_view name, float fallback) const {
  const onnx::Attribute* a = find_typed(name, onnx::AttributeType::Float);
  return a ? a->f : fallback;
}

std::string ParseContext::get_string(std::string_view name, const std::string& fallback) const {
  const onnx::Attribute* a = find_typed(name, onnx::AttributeType::String);
  return a ? a->s : fallback;
}

std::vector<int64_t> ParseContext::get_ints(std::string_view name) const {
  const onnx::Attribute* a = find_typed(name, onnx::AttributeType::Ints);
  return a ? a->ints : std::vector<int64_t>{};
}

std::vector<int64_t> ParseContext::require_ints(std::string_view name) const {
  const onnx::Attribute* a = find_typed(name, onnx::AttributeType::Ints);
  if (!a) fail_attr(name, "missing required attribute (expected INTS)");
  return a->ints;
}

std::vector<float> ParseContext::get_floats(std::string_view name) const {
  const onnx::Attribute* a = find_typed(name, onnx::AttributeType::Floats);
  return a ? a->floats : std::vector<float>{};
}

const onnx::Tensor* ParseContext::get_tensor(std::string_view name) const {
  const onnx::Attribute* a = find_typed(name, onnx::AttributeType::Tensor);
  if (!a) return nullptr;
  if (!a->t) fail_attr(name, "TENSOR attribute holds no tensor");
  return &*a->t;
}

void ParseContext::fail_attr(std::string_view attr, const std::string& reason) const {
  throw Error(ErrorKind::InvalidModel, "node '" + name_ + "' (" + node_.op_type + "), attribute '" +
                                           std::string(attr) + "': " + reason);
}

void ParseContext::fail(const std::string& reason) const {
  throw Error(ErrorKind::InvalidModel, "node '" + name_ + "' (" + node_.op_type + "): " + reason);
}

const TensorInfo& InferContext::in(size_t i) const {
  static const TensorInfo kUnknown;
  const TensorInfo* t = input(i);
  return t ? *t : kUnknown;
}

void InferContext::fail(const std::string& reason) const {
  throw Error(ErrorKind::InvalidModel,
              "shape inference: node '" + node_name_ + "' (" + op_type_ + ") — " + reason);
}

std::string normalize_domain(std::string_view domain) {
  if (domain == "ai.onnx") return "";
  return std::string(domain);
}

void OpRegistry::add(OpDef def) {
  def.domain = normalize_domain(def.domain);
  auto& list = defs_[{def.domain, def.op_type}];
  for (const OpDef& d : list) {
    assert(def.until < d.since || def.since > d.until);  // ranges must not overlap
    (void)d;
  }
  list.push_back(std::move(def));
}

const OpDef* OpRegistry::find(std::string_view domain, std::string_view op_type, int64_t opset) const {
  auto it = defs_.find(std::make_pair(normalize_domain(domain), std::string(op_type)));
  if (it == defs_.end()) return nullptr;
  for (const OpDef& d : it->second)
    if (opset >= d.since && opset <= d.until) return &d;
  return nullptr;
}

bool OpRegistry::knows(std::string_view domain, std::string_view op_type) const {
  return defs_.count(std::make_pair(normalize_domain(domain), std::string(op_type))) != 0;
}

std::vector<const OpDef*> OpRegistry::entries() const {
  std::vector<const OpDef*> out;
  for (const auto& kv : defs_)
    for (const OpDef& d : kv.second) out.push_back(&d);
  return out;
}

size_t OpRegistry::size() const {
  size_t n = 0;
  for (const auto& kv : defs_) n += kv.second.size();
  return n;
}

void register_all_ops(OpRegistry& reg) {
  register_elementwise(reg);
  register_conv(reg);
  register_gemm(reg);
  register_normalization(reg);
  register_reduce(reg);
  register_shape_ops(reg);
  register_constant(reg);
  register_resize(reg);
  register_quant(reg);
  register_position_masks(reg);
  register_gather_scatter(reg);
  register_selection(reg);
  register_rearrange(reg);
  register_math_extra(reg);
  register_grid_sample(reg);
  register_einsum(reg);
  register_rnn(reg);
  register_control_flow(reg);
}

const OpRegistry& default_registry() {
  // Built on first use (thread-safe since C++11); explicit, so nothing depends on static
  // initialisation order.
  static const OpRegistry reg = [] {
    OpRegistry r;
    register_all_ops(r);
    return r;
  }();
  return reg;
}

}  // namespace qm::ops

// ---------------------------------------------------------------------------------------------
// RunContext

namespace qm::ops {

const Tensor& RunContext::in(size_t i) const {
  const Tensor* t = input(i);
  if (!t) fail("input " + std::to_string(i) + " is missing");
  return *t;
}

Tensor& RunContext::alloc(size_t i, DataType dtype, Shape shape) {
  for (int64_t d : shape)
    if (d < 0) fail("output " + std::to_string(i) + " would have a negative dimension " + shape_to_string(shape));
  try {
    (*outputs_)[i] = Tensor(dtype, std::move(shape));
  } catch (const Error& e) {
    fail("output " + std::to_string(i) + ": " + e.what());  // names the node
  } catch (const std::bad_alloc&) {
    fail("output " + std::to_string(i) + ": out of memory allocating it");
  }
  return (*outputs_)[i];
}

ThreadPool& RunContext::pool() const {
  if (pool_) return *pool_;
  static ThreadPool single(1);
  return single;
}

void RunContext::fail(const std::string& reason) const {
  throw Error(ErrorKind::InvalidArgument, "node '" + node_name_ + "' (" + op_type_ + "): " + reason);
}

void RunContext::unsupported(const std::string& reason) const {
  throw Error(ErrorKind::Unsupported, "node '" + node_name_ + "' (" + op_type_ + "): " + reason);
}

}  // namespace qm::ops
