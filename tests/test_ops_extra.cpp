// Shape inference and error messages of the ops beyond the minimum list (DepthToSpace,
// GatherND, TopK, OneHot, NonZero, Einsum, Scatter reductions), against hand-worked shapes. Their
// values are checked against ONNX Runtime by the op oracle (tools/op_models/extra.py).
#include <doctest/doctest.h>

#include "graph/executor.h"
#include "graph/plan.h"
#include "test_util.h"

using qm::DataType;
using qm::ops::Dim;
using qm::test::error_of;
using qm::test::ModelBuilder;
using qm::test::shape_of;

TEST_CASE("ops/indexing: DepthToSpace/SpaceToDepth shapes, bad mode and indivisible channels") {
  ModelBuilder b(13);
  b.input("x", {Dim::sym("N"), 8, 3, 4});
  b.node("DepthToSpace", {"x"}, {"d"}).i("blocksize", 2).s("mode", "CRD");
  b.node("SpaceToDepth", {"d"}, {"s"}).i("blocksize", 2);
  b.output("s");
  CHECK(shape_of(b.infer("d")) == "[N, 2, 6, 8]");
  CHECK(shape_of(b.infer("s")) == "[N, 8, 3, 4]");
  ModelBuilder bad(13);
  bad.input("x", {1, 8, 3, 4});
  bad.node("DepthToSpace", {"x"}, {"y"}, "d2s").i("blocksize", 2).s("mode", "XYZ");
  bad.output("y");
  CHECK(error_of([&] { bad.build(); }).find("'d2s' (DepthToSpace), attribute 'mode': expected DCR or CRD") != std::string::npos);
  ModelBuilder odd(13);
  odd.input("x", {1, 6, 3, 4});
  odd.node("DepthToSpace", {"x"}, {"y"}, "d2s").i("blocksize", 2);
  odd.output("y");
  CHECK(error_of([&] { odd.build(); }).find("channel count 6 is not divisible by 4") != std::string::npos);
}

TEST_CASE("ops/indexing: GatherND, TopK, OneHot, NonZero shapes") {
  ModelBuilder b(13);
  b.input("x", {2, 4, 3}).input("i", {2, 5, 1}, DataType::Int64).input("j", {6, 2}, DataType::Int64);
  b.int64s("k", {2}).int64s("depth", {7}, true);
  b.floats("vals", {2}, {0.0f, 1.0f});
  b.node("GatherND", {"x", "i"}, {"g1"}).i("batch_dims", 1);
  b.node("GatherND", {"x", "j"}, {"g2"});
  b.node("TopK", {"x", "k"}, {"tv", "ti"}).i("axis", 1);
  b.node("OneHot", {"j", "depth", "vals"}, {"oh"}).i("axis", 1);
  b.node("NonZero", {"x"}, {"nz"});
  b.output("g1").output("g2").output("tv").output("ti").output("oh").output("nz");
  CHECK(shape_of(b.infer("g1")) == "[2, 5, 3]");
  CHECK(shape_of(b.infer("g2")) == "[6, 3]");
  CHECK(shape_of(b.infer("tv")) == "[2, 2, 3]");
  CHECK(b.infer("ti").dtype == DataType::Int64);
  CHECK(shape_of(b.infer("oh")) == "[6, 7, 2]");
  CHECK(shape_of(b.infer("nz")) == "[3, ?]");
  ModelBuilder bad(13);
  bad.input("x", {2, 4}).int64s("k", {5});
  bad.node("TopK", {"x", "k"}, {"v", "i"}, "top").i("axis", 1);
  bad.output("v");
  CHECK(error_of([&] { bad.build(); }).find("'top' (TopK) — k = 5 exceeds the axis size 4") != std::string::npos);
}

TEST_CASE("ops/indexing: Scatter reductions need their opset; Einsum names an unsupported equation") {
  ModelBuilder b(13);
  b.input("x", {3, 4}).input("u", {1, 4}).int64s("i", {0, 1, 2, 0});
  b.node("ScatterElements", {"x", "i", "u"}, {"y"}, "sc").s("reduction", "add");
  b.output("y");
  CHECK(error_of([&] { b.build(); }).find("'sc' (ScatterElements), attribute 'reduction'") != std::string::npos);

  ModelBuilder e(13);
  e.input("a", {2, 3, 4}).input("b", {2, 4, 5});
  e.node("Einsum", {"a", "b"}, {"y"}).s("equation", "bij,bjk->bik");
  e.output("y");
  CHECK(shape_of(e.infer("y")) == "[2, 3, 5]");

  ModelBuilder diag(13);
  diag.input("a", {3, 3});
  diag.node("Einsum", {"a"}, {"y"}, "tr").s("equation", "ii->i");
  diag.output("y");
  diag.build();
  qm::graph::Plan plan(diag.graph());
  qm::graph::Executor ex(plan);
  qm::Tensor a(DataType::Float, {3, 3});
  const std::string err = error_of([&] { ex.run({a}); });
  CHECK(err.find("'tr' (Einsum)") != std::string::npos);
  CHECK(err.find("equation 'ii->i'") != std::string::npos);
  CHECK(err.find("diagonals are not supported") != std::string::npos);
}

TEST_CASE("ops/rnn: LSTM shapes; layout = 1 loads but fails to run, naming the node") {
  ModelBuilder b(14);
  b.input("x", {5, Dim::sym("N"), 3}).weight("w", {2, 16, 3}).weight("r", {2, 16, 4});
  b.node("LSTM", {"x", "w", "r"}, {"y", "yh", "yc"}).i("hidden_size", 4).s("direction", "bidirectional");
  b.output("y").output("yh");
  CHECK(shape_of(b.infer("y")) == "[5, 2, N, 4]");
  CHECK(shape_of(b.infer("yc")) == "[2, N, 4]");

  ModelBuilder bw(14);
  bw.input("x", {2, 5, 3}).weight("w", {1, 16, 3}).weight("r", {1, 16, 4});
  bw.node("LSTM", {"x", "w", "r"}, {"y"}, "lstm").i("hidden_size", 4).i("layout", 1);
  bw.output("y");
  bw.build();
  qm::graph::Plan plan(bw.graph());
  qm::graph::Executor ex(plan);
  const std::string err = error_of([&] { ex.run({qm::Tensor(DataType::Float, {2, 5, 3})}); });
  CHECK(err.find("'lstm' (LSTM)") != std::string::npos);
  CHECK(err.find("'layout' = 1") != std::string::npos);
}
