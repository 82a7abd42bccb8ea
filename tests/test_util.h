// Building small ONNX models in code for the ops/graph/inspect tests (ggml's build_graph idea):
//   ModelBuilder b(13);
//   b.input("x", {1, 3, 224, 224});
//   b.weight("w", {64, 3, 7, 7});
//   b.node("Conv", {"x", "w"}, {"y"}).ints("strides", {2, 2}).ints("pads", {3, 3, 3, 3});
//   b.output("y");
//   ops::TensorInfo y = b.infer("y");
#pragma once

#include <doctest/doctest.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/error.h"
#include "graph/graph.h"
#include "graph/shape_inference.h"
#include "onnx/model.h"
#include "onnx/tensor_data.h"
#include "onnx_build.h"
#include "ops/tensor_info.h"

namespace qm::test {

/// Deterministic pseudo-random floats in [-scale/2, scale/2) (an LCG seeded by `seed`).
inline std::vector<float> pseudo(size_t n, uint32_t seed, float scale) {
  std::vector<float> v(n);
  uint32_t x = seed * 2654435761u + 1;
  for (auto& f : v) {
    x = x * 1664525u + 1013904223u;
    f = scale * ((x >> 8) / float(1u << 24) - 0.5f);
  }
  return v;
}


/// Adds attributes to a node in place.
class NodeRef {
 public:
  NodeRef(onnx::Model& m, size_t index) : m_(m), index_(index) {}
  onnx::Node& node() { return m_.graph->node[index_]; }

  NodeRef& i(const std::string& name, int64_t v) {
    auto& a = add(name, onnx::AttributeType::Int);
    a.i = v;
    return *this;
  }
  NodeRef& f(const std::string& name, float v) {
    auto& a = add(name, onnx::AttributeType::Float);
    a.f = v;
    return *this;
  }
  NodeRef& s(const std::string& name, const std::string& v) {
    auto& a = add(name, onnx::AttributeType::String);
    a.s = v;
    return *this;
  }
  NodeRef& ints(const std::string& name, std::vector<int64_t> v) {
    auto& a = add(name, onnx::AttributeType::Ints);
    a.ints = std::move(v);
    return *this;
  }
  NodeRef& floats(const std::string& name, std::vector<float> v) {
    auto& a = add(name, onnx::AttributeType::Floats);
    a.floats = std::move(v);
    return *this;
  }
  NodeRef& tensor(const std::string& name, onnx::Tensor t) {
    auto& a = add(name, onnx::AttributeType::Tensor);
    a.t = std::move(t);
    return *this;
  }
  NodeRef& name(const std::string& n) {
    node().name = n;
    return *this;
  }
  NodeRef& domain(const std::string& d) {
    node().domain = d;
    return *this;
  }

 private:
  onnx::Attribute& add(const std::string& name, onnx::AttributeType t) {
    onnx::Attribute a;
    a.name = name;
    a.type = static_cast<int32_t>(t);
    node().attribute.push_back(std::move(a));
    return node().attribute.back();
  }
  onnx::Model& m_;
  size_t index_;
};

class ModelBuilder {
 public:
  explicit ModelBuilder(int64_t opset = 17) : model_(std::make_unique<onnx::Model>()) {
    model_->ir_version = 8;
    model_->graph.emplace();
    model_->graph->name = "test";
    onnx::OperatorSetId o;
    o.version = opset;
    model_->opset_import.push_back(o);
  }

  onnx::Model& model() { return *model_; }

  /// A graph input; dims may mix numbers and ops::Dim::sym("N"); `ranked=false` leaves the
  /// shape out (rank unknown).
  ModelBuilder& input(const std::string& name, ops::Dims dims, DataType t = DataType::Float,
                      bool ranked = true) {
    model_->graph->input.push_back(value_info(name, dims, t, ranked));
    return *this;
  }
  ModelBuilder& output(const std::string& name) {
    onnx::ValueInfo v;
    v.name = name;
    model_->graph->output.push_back(v);
    return *this;
  }
  /// A float initializer of zeros.
  ModelBuilder& weight(const std::string& name, std::vector<int64_t> dims) {
    int64_t n = 1;
    for (int64_t d : dims) n *= d;
    model_->graph->initializer.push_back(
        onnx::make_float_tensor(name, dims, std::vector<float>(static_cast<size_t>(n), 0.0f)));
    return *this;
  }
  ModelBuilder& floats(const std::string& name, std::vector<int64_t> dims, std::vector<float> v) {
    model_->graph->initializer.push_back(onnx::make_float_tensor(name, std::move(dims), v));
    return *this;
  }
  /// A 1-D int64 initializer (or a scalar with `scalar`).
  ModelBuilder& int64s(const std::string& name, std::vector<int64_t> v, bool scalar = false) {
    std::vector<int64_t> dims;
    if (!scalar) dims.push_back(static_cast<int64_t>(v.size()));
    model_->graph->initializer.push_back(onnx::make_int64_tensor(name, dims, v));
    return *this;
  }
  NodeRef node(const std::string& op, std::vector<std::string> inputs,
               std::vector<std::string> outputs, const std::string& name = "") {
    onnx::Node n;
    n.op_type = op;
    n.input = std::move(inputs);
    n.output = std::move(outputs);
    n.name = name;
    model_->graph->node.push_back(std::move(n));
    return NodeRef(*model_, model_->graph->node.size() - 1);
  }

  /// Builds the graph view (validation) and infers shapes.
  void build(const graph::InputShapeOverrides& overrides = {}) {
    graph_ = std::make_unique<graph::Graph>(*model_);
    infos_ = graph::infer_shapes(*graph_, overrides);
  }
  const graph::Graph& graph() { return *graph_; }
  const graph::ValueInfos& infos() { return infos_; }

  /// The inferred facts of value `name` (builds first if needed).
  ops::TensorInfo infer(const std::string& name) {
    if (!graph_) build();
    auto id = graph_->find(name);
    REQUIRE_MESSAGE(id.has_value(), "no value named " << name);
    return infos_[static_cast<size_t>(*id)];
  }

  static onnx::ValueInfo value_info(const std::string& name, const ops::Dims& dims, DataType t,
                                    bool ranked = true) {
    onnx::ValueInfo v;
    v.name = name;
    onnx::TypeProto tp;
    tp.kind = onnx::TypeProto::Kind::Tensor;
    tp.elem_type = static_cast<int32_t>(t);
    if (ranked) {
      onnx::TensorShape s;
      for (const ops::Dim& d : dims) {
        onnx::Dimension dim;
        if (d.value) dim.value = *d.value;
        else if (!d.symbol.empty()) dim.param = d.symbol;
        s.dim.push_back(dim);
      }
      tp.shape = s;
    }
    v.type = tp;
    return v;
  }

 private:
  std::unique_ptr<onnx::Model> model_;
  std::unique_ptr<graph::Graph> graph_;
  graph::ValueInfos infos_;
};

/// Shape as text for CHECK messages and comparisons: "[1, 3, N, ?]" or "?".
inline std::string shape_of(const ops::TensorInfo& t) { return t.shape_string(); }

/// Runs `f` and returns the qm::Error message it throws ("" if none).
template <class F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

}  // namespace qm::test
