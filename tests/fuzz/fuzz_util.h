// Small fixed models for the fuzz targets that need a Session (samples, encodings JSON), built
// in code so the targets depend on no file at run time.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "api/session.h"
#include "onnx/model.h"
#include "onnx/tensor_data.h"
#include "../onnx_build.h"

namespace qm::fuzz {

/// Declared dims: a number, or -1 for a symbolic "N".
inline onnx::ValueInfo value_info(const std::string& name, const std::vector<int64_t>& dims, DataType t) {
  onnx::ValueInfo v;
  v.name = name;
  onnx::TypeProto tp;
  tp.kind = onnx::TypeProto::Kind::Tensor;
  tp.elem_type = static_cast<int32_t>(t);
  onnx::TensorShape s;
  for (int64_t d : dims) {
    onnx::Dimension dim;
    if (d >= 0) dim.value = d;
    else dim.param = "N";
    s.dim.push_back(dim);
  }
  tp.shape = s;
  v.type = tp;
  return v;
}

inline onnx::Model empty_model() {
  onnx::Model m;
  m.ir_version = 8;
  m.graph.emplace();
  m.graph->name = "fuzz";
  onnx::OperatorSetId o;
  o.version = 13;
  m.opset_import.push_back(o);
  return m;
}

inline std::vector<float> ramp(size_t n, float scale) {
  std::vector<float> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = scale * static_cast<float>(static_cast<int>(i % 7) - 3);
  return v;
}

/// x [N, 3, 4, 4] -> Conv "conv" (w [4, 3, 3, 3], b [4], pads 1) -> Relu "relu" -> r
///   -> Reshape [N, 64] -> MatMul "fc" (m [64, 5]) -> Softmax "softmax" -> y
/// With `two_inputs`, a second input t [1, 2] int64 (Identity "copy" -> t_out), so .npz files
/// have two names.
inline std::unique_ptr<api::Session> small_session(bool two_inputs = true) {
  onnx::Model m = empty_model();
  onnx::Graph& g = *m.graph;
  g.input.push_back(value_info("x", {-1, 3, 4, 4}, DataType::Float));
  if (two_inputs) g.input.push_back(value_info("t", {1, 2}, DataType::Int64));
  g.initializer.push_back(onnx::make_float_tensor("w", {4, 3, 3, 3}, ramp(108, 0.1f)));
  g.initializer.push_back(onnx::make_float_tensor("b", {4}, ramp(4, 0.5f)));
  g.initializer.push_back(onnx::make_int64_tensor("shape", {2}, {-1, 64}));
  g.initializer.push_back(onnx::make_float_tensor("m", {64, 5}, ramp(320, 0.05f)));
  onnx::Node conv = test::make_node("Conv", {"x", "w", "b"}, {"c"}, "conv");
  onnx::Attribute pads;
  pads.name = "pads";
  pads.type = static_cast<int32_t>(onnx::AttributeType::Ints);
  pads.ints = {1, 1, 1, 1};
  conv.attribute.push_back(pads);
  g.node.push_back(conv);
  g.node.push_back(test::make_node("Relu", {"c"}, {"r"}, "relu"));
  g.node.push_back(test::make_node("Reshape", {"r", "shape"}, {"flat"}, "flatten"));
  g.node.push_back(test::make_node("MatMul", {"flat", "m"}, {"logits"}, "fc"));
  g.node.push_back(test::make_node("Softmax", {"logits"}, {"y"}, "softmax"));
  onnx::ValueInfo y;
  y.name = "y";
  g.output.push_back(y);
  if (two_inputs) {
    g.node.push_back(test::make_node("Identity", {"t"}, {"t_out"}, "copy"));
    onnx::ValueInfo t_out;
    t_out.name = "t_out";
    g.output.push_back(t_out);
  }
  api::SessionOptions opt;
  opt.threads = 1;
  return std::make_unique<api::Session>(std::move(m), opt);
}

}  // namespace qm::fuzz
