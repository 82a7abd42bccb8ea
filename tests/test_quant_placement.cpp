// Quantizer placement (spec amp.md section 1) on small graphs built here: which tensors get
// quantizers, per-channel axes, fused units, data movement keeping its input's grid, integer
// tensors untouched, consumer layers through data movement, MACs per sample with token dims.
// Oracles: the spec's rules applied by hand to each graph, MACs by closed form.
#include <doctest/doctest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "graph/plan.h"
#include "quant/quant_model.h"
#include "test_util.h"

namespace qm::quant {
namespace {

std::vector<float> ramp(size_t n, float scale) {
  std::vector<float> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = scale * static_cast<float>((static_cast<int>(i * 7919 % 23)) - 11);
  return v;
}

const Quantizer* by_tensor(const QuantModel& m, const std::string& name) {
  const int q = m.find_tensor(name);
  return q < 0 ? nullptr : &m.quantizer(q);
}

const Layer* layer_named(const QuantModel& m, const std::string& name) {
  for (const Layer& l : m.layers())
    if (l.name == name) return &l;
  return nullptr;
}

}  // namespace

TEST_CASE("quant/placement: conv-relu-pool-flatten into gemm+LeakyRelu and matmul+Add+Relu") {
  test::ModelBuilder b(13);
  b.input("x", {1, 2, 6, 6});
  b.floats("w", {4, 2, 3, 3}, ramp(72, 0.1f));
  b.floats("wb", {4}, {0.1f, 0.2f, -0.1f, 0.0f});
  b.floats("g", {3, 16}, ramp(48, 0.05f));
  b.floats("m", {16, 5}, ramp(80, 0.05f));
  b.floats("mb", {5}, {1, 2, 3, 4, 5});
  b.node("Conv", {"x", "w", "wb"}, {"c"}, "conv");          // 6x6 -> 4x4, fused with Relu by the plan
  b.node("Relu", {"c"}, {"r"}, "relu");
  b.node("MaxPool", {"r"}, {"p"}, "pool").ints("kernel_shape", {2, 2}).ints("strides", {2, 2});  // 2x2
  b.node("Flatten", {"p"}, {"f"}, "flat");                  // [1, 16]
  b.node("Gemm", {"f", "g"}, {"gm"}, "gemm").i("transB", 1);
  b.node("LeakyRelu", {"gm"}, {"y1"}, "lrelu");
  b.node("MatMul", {"f", "m"}, {"mm"}, "matmul");
  b.node("Add", {"mm", "mb"}, {"a"}, "add");
  b.node("Relu", {"a"}, {"y2"}, "relu2");
  b.output("y1");
  b.output("y2");
  b.build();
  graph::Plan plan(b.graph());
  QuantModel m(plan);

  // Activations: x, r (conv+relu fused unit), y1 (gemm+LeakyRelu), mm (MatMul read by Add, which
  // is not an activation), y2 (Add+Relu). Not: c, p, f (data movement), gm, a (fused units).
  for (const char* t : {"x", "r", "y1", "mm", "y2"}) {
    const Quantizer* q = by_tensor(m, t);
    REQUIRE_MESSAGE(q, t);
    CHECK(q->kind == QuantizerKind::Activation);
  }
  for (const char* t : {"c", "p", "f", "gm", "a", "wb", "mb"}) CHECK_MESSAGE(by_tensor(m, t) == nullptr, t);
  CHECK(by_tensor(m, "r")->producer_op == "Relu");
  CHECK(by_tensor(m, "x")->producer_op.empty());
  // Data movement keeps the grid.
  CHECK(m.grid_of(*b.graph().find("p")) == m.find_tensor("r"));
  CHECK(m.grid_of(*b.graph().find("f")) == m.find_tensor("r"));

  // Weights and axes: Conv 0, Gemm transB=1 -> 0, MatMul [K, N] -> 1.
  REQUIRE(m.layers().size() == 3);
  CHECK(by_tensor(m, "w")->axis == 0);
  CHECK(by_tensor(m, "g")->axis == 0);
  CHECK(by_tensor(m, "m")->axis == 1);
  for (const char* t : {"w", "g", "m"}) CHECK(by_tensor(m, t)->kind == QuantizerKind::Weight);
  CHECK(m.quantizers().size() == 8);

  // Consumers through MaxPool + Flatten: both the Gemm and the MatMul read r's grid.
  const Quantizer& r = *by_tensor(m, "r");
  CHECK(r.consumer_layers.size() == 2);
  CHECK(std::find(r.consumer_ops.begin(), r.consumer_ops.end(), "Gemm") != r.consumer_ops.end());
  CHECK(std::find(r.consumer_ops.begin(), r.consumer_ops.end(), "MatMul") != r.consumer_ops.end());
  CHECK(std::find(r.consumer_ops.begin(), r.consumer_ops.end(), "MaxPool") == r.consumer_ops.end());
  const Layer* gemm = layer_named(m, "gemm");
  const Layer* conv = layer_named(m, "conv");
  const Layer* mm = layer_named(m, "matmul");
  REQUIRE(gemm);
  REQUIRE(conv);
  REQUIRE(mm);
  CHECK(gemm->input_quantizer == m.find_tensor("r"));
  CHECK(conv->input_quantizer == m.find_tensor("x"));
  CHECK(conv->output_quantizer == m.find_tensor("r"));
  CHECK(gemm->output_quantizer == m.find_tensor("y1"));
  // MACs per sample: Conv = out elements (4*4*4) x Cin*kh*kw (18); Gemm = 1*16*3; MatMul = 5 x 16.
  CHECK(conv->macs == 64 * 18);
  CHECK(gemm->macs == 16 * 3);
  CHECK(mm->macs == 5 * 16);
  CHECK(conv->weight_elements == 72);

  // Homogeneous configs and the first affected step.
  const QuantConfig c = m.homogeneous(4, 8);
  CHECK(c.bits[static_cast<size_t>(m.find_tensor("w"))] == 4);
  CHECK(c.bits[static_cast<size_t>(m.find_tensor("r"))] == 8);
  CHECK(!m.off().any());
  CHECK(m.first_affected_step(m.find_tensor("x")) == 0);
  CHECK(m.first_affected_step(m.find_tensor("g")) == static_cast<size_t>(gemm->step));
}

TEST_CASE("quant/placement: integer inputs and shape tensors are never quantized; Gather of a constant table is") {
  test::ModelBuilder b(13);
  b.input("ids", {1, 7}, DataType::Int64);
  b.floats("table", {10, 16}, ramp(160, 0.1f));
  b.floats("w", {16, 8}, ramp(128, 0.02f));
  b.int64s("shape", {1, 7, 8});
  b.node("Gather", {"table", "ids"}, {"e"}, "embed");       // [1, 7, 16]
  b.node("MatMul", {"e", "w"}, {"h"}, "proj");               // [1, 7, 8]: token dim counts in MACs
  b.node("Softmax", {"h"}, {"s"}, "softmax").i("axis", -1);
  b.node("Reshape", {"s", "shape"}, {"y"}, "reshape");
  b.output("y");
  b.build();
  graph::Plan plan(b.graph());
  QuantModel m(plan);
  CHECK(by_tensor(m, "ids") == nullptr);
  CHECK(by_tensor(m, "shape") == nullptr);
  CHECK(by_tensor(m, "table") == nullptr);  // not a layer weight
  REQUIRE(by_tensor(m, "e"));
  CHECK(by_tensor(m, "e")->producer_op == "Gather");
  REQUIRE(by_tensor(m, "h"));
  REQUIRE(by_tensor(m, "s"));
  CHECK(by_tensor(m, "y") == nullptr);  // Reshape output: the grid of s
  CHECK(m.grid_of(*b.graph().find("y")) == m.find_tensor("s"));
  REQUIRE(m.layers().size() == 1);
  CHECK(m.layers()[0].macs == 7 * 16 * 8);
  CHECK(m.quantizer(m.layers()[0].weight_quantizer).axis == 1);
  CHECK(by_tensor(m, "h")->consumer_ops == std::vector<std::string>{"Softmax"});
}

TEST_CASE("quant/placement: folded BatchNormalization keeps the weight's name; a dynamic batch counts once") {
  test::ModelBuilder b(13);
  b.input("x", {ops::Dim::sym("N"), 3, 4, 4});
  b.floats("w", {2, 3, 1, 1}, ramp(6, 0.3f));
  b.floats("sc", {2}, {2.0f, 0.5f});
  b.floats("sh", {2}, {0.1f, -0.1f});
  b.floats("mu", {2}, {0.0f, 1.0f});
  b.floats("var", {2}, {1.0f, 4.0f});
  b.node("Conv", {"x", "w"}, {"c"}, "conv");
  b.node("BatchNormalization", {"c", "sc", "sh", "mu", "var"}, {"bn"}, "bn");
  b.node("Sigmoid", {"bn"}, {"y"}, "sig");
  b.output("y");
  b.build();
  graph::Plan plan(b.graph());
  REQUIRE(plan.folded_batchnorms() == 1);
  QuantModel m(plan);
  const Quantizer* w = by_tensor(m, "w");
  REQUIRE(w);
  // The quantized value is the folded constant, not the file's initializer.
  CHECK(w->value != *b.graph().find("w"));
  REQUIRE(plan.constant(w->value));
  CHECK(plan.constant(w->value)->data<float>()[0] != doctest::Approx(ramp(6, 0.3f)[0]));
  CHECK(by_tensor(m, "bn"));  // the folded Conv's output (no activation after it)
  CHECK(by_tensor(m, "y"));
  CHECK(m.layers()[0].macs == 16 * 2 * 3);
}

TEST_CASE("quant/placement: a Conv output with two readers is not fused; Add read only by Clip is") {
  test::ModelBuilder b(13);
  b.input("x", {1, 1, 3, 3});
  b.floats("w", {1, 1, 1, 1}, {0.5f});
  b.floats("lo", {}, {0.0f});
  b.floats("hi", {}, {6.0f});
  b.node("Conv", {"x", "w"}, {"c"}, "conv");
  b.node("Relu", {"c"}, {"r"}, "relu");
  b.node("Add", {"c", "r"}, {"a"}, "add");
  b.node("Clip", {"a", "lo", "hi"}, {"y"}, "clip");
  b.output("y");
  b.build();
  graph::Plan plan(b.graph());
  QuantModel m(plan);
  CHECK(by_tensor(m, "c"));
  CHECK(by_tensor(m, "r"));
  CHECK(by_tensor(m, "a") == nullptr);
  CHECK(by_tensor(m, "y"));
  CHECK(by_tensor(m, "c")->consumer_ops == std::vector<std::string>{"Relu", "Add"});
}

TEST_CASE("quant/placement: float shape arithmetic computed at run time is not quantized") {
  test::ModelBuilder b(13);
  b.input("x", {ops::Dim::sym("N"), 6});
  b.floats("one", {}, {1.0f});
  b.node("Relu", {"x"}, {"r"}, "relu");
  b.node("Shape", {"x"}, {"s"}, "shape");
  b.node("Cast", {"s"}, {"sf"}, "to_float").i("to", 1);
  b.node("Div", {"sf", "one"}, {"sd"}, "div");
  b.node("Cast", {"sd"}, {"si"}, "to_int").i("to", 7);
  b.node("Reshape", {"r", "si"}, {"y"}, "reshape");
  b.output("y");
  b.build();
  graph::Plan plan(b.graph());
  QuantModel m(plan);
  CHECK(by_tensor(m, "x"));
  CHECK(by_tensor(m, "r"));
  for (const char* t : {"s", "sf", "sd", "si", "y"}) CHECK_MESSAGE(by_tensor(m, t) == nullptr, t);
  CHECK(m.quantizers().size() == 2);
}

}  // namespace qm::quant
