// Shape inference of the matrix products, normalisation, reductions, resizing, quantisation and
// Dropout, against hand-worked shapes (numpy semantics for MatMul).
#include <doctest/doctest.h>

#include "test_util.h"

using qm::DataType;
using qm::ops::Dim;
using qm::test::error_of;
using qm::test::ModelBuilder;
using qm::test::shape_of;

TEST_CASE("ops/gemm: transA/transB and K mismatch") {
  ModelBuilder b;
  b.input("a", {4, 8}).weight("w", {16, 8}).weight("c", {16}).input("at", {8, 4});
  b.node("Gemm", {"a", "w", "c"}, {"y"}).i("transB", 1);
  b.node("Gemm", {"at", "w"}, {"z"}).i("transA", 1).i("transB", 1);
  b.output("y").output("z");
  CHECK(shape_of(b.infer("y")) == "[4, 16]");
  CHECK(shape_of(b.infer("z")) == "[4, 16]");
  ModelBuilder bad;
  bad.input("a", {4, 8}).weight("w", {16, 8});
  bad.node("Gemm", {"a", "w"}, {"y"}, "fc");
  bad.output("y");
  CHECK(error_of([&] { bad.build(); }).find("'fc' (Gemm) — inner dimensions differ") != std::string::npos);
}

TEST_CASE("ops/matmul: batched, broadcast, 1-D operands") {
  ModelBuilder b;
  b.input("a", {Dim::sym("B"), 7, 5, 8}).weight("w", {8, 3}).input("b3", {7, 8, 2});
  b.input("v", {8}).input("m", {2, 8, 6});
  b.node("MatMul", {"a", "w"}, {"y1"});
  b.node("MatMul", {"a", "b3"}, {"y2"});
  b.node("MatMul", {"v", "m"}, {"y3"});
  b.node("MatMul", {"a", "v"}, {"y4"});
  b.node("MatMul", {"v", "v"}, {"y5"});
  b.output("y1").output("y2").output("y3").output("y4").output("y5");
  CHECK(shape_of(b.infer("y1")) == "[B, 7, 5, 3]");
  CHECK(shape_of(b.infer("y2")) == "[B, 7, 5, 2]");
  CHECK(shape_of(b.infer("y3")) == "[2, 6]");
  CHECK(shape_of(b.infer("y4")) == "[B, 7, 5]");
  CHECK(shape_of(b.infer("y5")) == "[]");
  ModelBuilder bad;
  bad.input("a", {2, 5, 8}).input("b", {3, 8, 4});
  bad.node("MatMul", {"a", "b"}, {"y"}, "mm");
  bad.output("y");
  CHECK(error_of([&] { bad.build(); }).find("batch dimensions") != std::string::npos);
}

TEST_CASE("ops/normalization: BatchNormalization (inference and training outputs), LayerNorm, Softmax axis") {
  ModelBuilder b(15);
  b.input("x", {2, 4, 5, 5});
  for (const char* n : {"s", "bb", "m", "v"}) b.weight(n, {4});
  b.node("BatchNormalization", {"x", "s", "bb", "m", "v"}, {"y"});
  b.node("BatchNormalization", {"x", "s", "bb", "m", "v"}, {"t", "rm", "rv"}).i("training_mode", 1);
  b.node("InstanceNormalization", {"x", "s", "bb"}, {"in"});
  b.output("y").output("rm").output("in");
  CHECK(shape_of(b.infer("y")) == "[2, 4, 5, 5]");
  CHECK(shape_of(b.infer("rm")) == "[4]");
  CHECK(shape_of(b.infer("in")) == "[2, 4, 5, 5]");

  ModelBuilder ln(17);
  ln.input("x", {2, 10, 16}).weight("g", {16});
  ln.node("LayerNormalization", {"x", "g"}, {"y", "mean", "inv"}).i("axis", -1);
  ln.node("Softmax", {"y"}, {"p"}).i("axis", -1);
  ln.output("p").output("mean");
  CHECK(shape_of(ln.infer("p")) == "[2, 10, 16]");
  CHECK(shape_of(ln.infer("mean")) == "[2, 10, 1]");

  ModelBuilder bad(13);
  bad.input("x", {2, 3});
  bad.node("Softmax", {"x"}, {"y"}, "sm").i("axis", 2);
  bad.output("y");
  CHECK(error_of([&] { bad.build(); }).find("axis 2 is out of range for rank 2") != std::string::npos);
}

TEST_CASE("ops/reduce: axes attribute (ReduceMean-13) and input (ReduceSum-13, ReduceMax-18), keepdims") {
  ModelBuilder b(13);
  b.input("x", {2, 3, 4, 5}).int64s("ax", {-1, 1});
  b.node("ReduceMean", {"x"}, {"a"}).ints("axes", {2, 3});
  b.node("ReduceSum", {"x", "ax"}, {"s"}).i("keepdims", 0);
  b.node("ReduceMin", {"x"}, {"all"}).i("keepdims", 0);
  b.node("ArgMax", {"x"}, {"am"}).i("axis", -1);
  b.output("a").output("s").output("all").output("am");
  CHECK(shape_of(b.infer("a")) == "[2, 3, 1, 1]");
  CHECK(shape_of(b.infer("s")) == "[2, 4]");
  CHECK(shape_of(b.infer("all")) == "[]");
  CHECK(shape_of(b.infer("am")) == "[2, 3, 4, 1]");
  CHECK(b.infer("am").dtype == DataType::Int64);

  ModelBuilder b18(18);
  b18.input("x", {2, 3, 4}).int64s("ax", {0});
  b18.node("ReduceMax", {"x", "ax"}, {"m"});
  b18.node("ReduceMax", {"x"}, {"noop"}).i("noop_with_empty_axes", 1);
  b18.output("m").output("noop");
  CHECK(shape_of(b18.infer("m")) == "[1, 3, 4]");
  CHECK(shape_of(b18.infer("noop")) == "[2, 3, 4]");
}

TEST_CASE("ops/resize: scales, sizes, empty roi/scales of torch exports, Upsample 7 and 9") {
  ModelBuilder b(13);
  b.input("x", {1, 3, 10, 15}).floats("scales", {4}, {1.0f, 1.0f, 2.0f, 0.5f}).int64s("sizes", {1, 3, 7, 9});
  b.floats("empty", {0}, {});
  b.node("Resize", {"x", "", "scales"}, {"a"}).s("mode", "linear");
  b.node("Resize", {"x", "empty", "empty", "sizes"}, {"c"});
  b.output("a").output("c");
  CHECK(shape_of(b.infer("a")) == "[1, 3, 20, 7]");  // floor(15 * 0.5)
  CHECK(shape_of(b.infer("c")) == "[1, 3, 7, 9]");

  ModelBuilder b18(18);
  b18.input("x", {1, 3, 10, 20}).int64s("sizes", {5, 5});
  b18.node("Resize", {"x", "", "", "sizes"}, {"y"}).ints("axes", {2, 3}).s("keep_aspect_ratio_policy", "not_larger");
  b18.output("y");
  CHECK(shape_of(b18.infer("y")) == "[1, 3, 3, 5]");  // scale min(5/10, 5/20) = 0.25: round(2.5)=3, 5

  ModelBuilder u7(7);
  u7.input("x", {1, 2, 3, 4});
  u7.node("Upsample", {"x"}, {"y"}).floats("scales", {1.0f, 1.0f, 2.0f, 3.0f});
  u7.output("y");
  CHECK(shape_of(u7.infer("y")) == "[1, 2, 6, 12]");

  ModelBuilder u9(9);
  u9.input("x", {1, 2, 3, 4}).floats("scales", {4}, {1.0f, 1.0f, 2.0f, 2.0f});
  u9.node("Upsample", {"x", "scales"}, {"y"});
  u9.output("y");
  CHECK(shape_of(u9.infer("y")) == "[1, 2, 6, 8]");
}

TEST_CASE("ops/resize: torch's computed scales fold (Shape -> Cast -> Mul -> Floor -> Cast -> Concat)") {
  ModelBuilder b(11);
  b.input("x", {1, 8, 14, 14});
  b.int64s("st", {2}).int64s("en", {4}).floats("two", {1}, {2.0f}).int64s("nc", {1, 8});
  b.floats("empty", {0}, {});
  b.node("Shape", {"x"}, {"s"});
  b.node("Slice", {"s", "st", "en"}, {"hw"});
  b.node("Cast", {"hw"}, {"hwf"}).i("to", 1);
  b.node("Mul", {"hwf", "two"}, {"hw2"});
  b.node("Floor", {"hw2"}, {"hw2f"});
  b.node("Cast", {"hw2f"}, {"hw2i"}).i("to", 7);
  b.node("Concat", {"nc", "hw2i"}, {"sizes"}).i("axis", 0);
  b.node("Resize", {"x", "empty", "empty", "sizes"}, {"y"}).s("mode", "nearest");
  b.output("y");
  CHECK(shape_of(b.infer("y")) == "[1, 8, 28, 28]");
}

TEST_CASE("ops/quant: QuantizeLinear dtype from the zero point, DequantizeLinear per axis") {
  ModelBuilder b(13);
  b.input("x", {1, 4, 2, 2}).floats("s", {}, {0.1f});
  b.model().graph->initializer.push_back(qm::onnx::make_integer_tensor("zp", DataType::Int8, {}, {0}));
  b.floats("sw", {4}, {0.1f, 0.2f, 0.3f, 0.4f});
  b.model().graph->initializer.push_back(qm::onnx::make_integer_tensor("w", DataType::Int8, {4, 4, 1, 1}, std::vector<int32_t>(16, 1)));
  b.node("QuantizeLinear", {"x", "s", "zp"}, {"q"});
  b.node("QuantizeLinear", {"x", "s"}, {"q8"});
  b.node("DequantizeLinear", {"q", "s", "zp"}, {"dq"});
  b.node("DequantizeLinear", {"w", "sw"}, {"wf"}).i("axis", 0);
  b.output("dq").output("wf").output("q8");
  CHECK(b.infer("q").dtype == DataType::Int8);
  CHECK(b.infer("q8").dtype == DataType::Uint8);
  CHECK(b.infer("dq").dtype == DataType::Float);
  CHECK(shape_of(b.infer("wf")) == "[4, 4, 1, 1]");
  CHECK(b.graph().is_constant(*b.graph().find("wf")));

  ModelBuilder bad(13);
  bad.input("x", {1, 4}).floats("s", {3}, {1, 2, 3});
  bad.node("QuantizeLinear", {"x", "s"}, {"q"}, "ql").i("axis", 1);
  bad.output("q");
  CHECK(error_of([&] { bad.build(); }).find("scale has 3 values but axis 1") != std::string::npos);
}

TEST_CASE("ops/dropout: output and mask (opset 7 input type, opset 12 bool)") {
  ModelBuilder b(12);
  b.input("x", {3, 4});
  b.node("Dropout", {"x"}, {"y", "mask"});
  b.output("y").output("mask");
  CHECK(shape_of(b.infer("y")) == "[3, 4]");
  CHECK(b.infer("mask").dtype == DataType::Bool);
  ModelBuilder b7(7);
  b7.input("x", {3, 4});
  b7.node("Dropout", {"x"}, {"y", "mask"}).f("ratio", 0.2f);
  b7.output("mask");
  CHECK(b7.infer("mask").dtype == DataType::Float);
}
