// Shape ops and the folding of shape arithmetic: Reshape (0, -1, allowzero, symbols), Flatten,
// Transpose, Squeeze/Unsqueeze (attribute and input forms, negative axes), Concat, Split, Slice
// (negative indices, steps, clamping), Gather, Shape, Size, Expand, Tile, Pad, Constant,
// ConstantOfShape, Range, and the Shape -> Gather -> Unsqueeze -> Concat -> Reshape chain that
// torch exports for x.view(x.size(0), -1). Expected shapes are worked out by hand from the ONNX
// operator spec (numpy semantics).
#include <doctest/doctest.h>

#include "test_util.h"

using qm::DataType;
using qm::ops::Dim;
using qm::ops::dims_to_string;
using qm::test::error_of;
using qm::test::ModelBuilder;
using qm::test::shape_of;

namespace {
std::string reshape(qm::ops::Dims in, std::vector<int64_t> target, bool allowzero = false) {
  ModelBuilder b(14);
  b.input("x", std::move(in)).int64s("s", std::move(target));
  auto n = b.node("Reshape", {"x", "s"}, {"y"});
  if (allowzero) n.i("allowzero", 1);
  b.output("y");
  return shape_of(b.infer("y"));
}
}  // namespace

TEST_CASE("ops/reshape: 0 copies, -1 infers, allowzero keeps literal 0") {
  CHECK(reshape({2, 3, 4}, {0, -1}) == "[2, 12]");
  CHECK(reshape({2, 3, 4}, {-1}) == "[24]");
  CHECK(reshape({2, 3, 4}, {4, 0, -1}) == "[4, 3, 2]");
  CHECK(reshape({2, 3, 4}, {2, 3, 2, 2}) == "[2, 3, 2, 2]");
  CHECK(reshape({0, 3, 4}, {3, 4, 0}, true) == "[3, 4, 0]");
  CHECK(error_of([] { reshape({2, 3, 4}, {5, -1}); }).find("cannot reshape [2, 3, 4]") != std::string::npos);
  CHECK(error_of([] { reshape({2, 3, 4}, {-1, -1}); }).find("more than one -1") != std::string::npos);
  CHECK(error_of([] { reshape({2, 3, 4}, {5, 5}); }).find("(24 elements) to [5, 5] (25 elements)") != std::string::npos);
}

TEST_CASE("ops/reshape: symbols cancel through -1") {
  CHECK(reshape({Dim::sym("N"), 512, 1, 1}, {0, -1}) == "[N, 512]");
  CHECK(reshape({Dim::sym("N"), 8, 6}, {-1, 6}) == "[?, 6]");  // N*8 is not tracked
  CHECK(reshape({Dim::sym("N"), 8, 6}, {0, 4, -1}) == "[N, 4, 12]");
  CHECK(reshape({Dim(), 8}, {2, -1}) == "[2, ?]");
}

TEST_CASE("ops/reshape: torch's x.view(x.size(0), -1) chain resolves with a symbolic batch") {
  ModelBuilder b(13);
  b.input("x", {Dim::sym("batch"), 64, 7, 7});
  b.int64s("zero", {0}, true).int64s("minus1", {-1}).int64s("axes", {0});
  b.node("Shape", {"x"}, {"shape"});
  b.node("Gather", {"shape", "zero"}, {"n"}).i("axis", 0);
  b.node("Unsqueeze", {"n", "axes"}, {"n1"});
  b.node("Concat", {"n1", "minus1"}, {"target"}).i("axis", 0);
  b.node("Reshape", {"x", "target"}, {"y"});
  b.output("y");
  CHECK(dims_to_string(*b.infer("target").ints) == "[batch, -1]");
  CHECK(shape_of(b.infer("n")) == "[]");
  CHECK(shape_of(b.infer("y")) == "[batch, 3136]");
}

TEST_CASE("ops/flatten: axis 0, 1, negative") {
  ModelBuilder b(13);
  b.input("x", {2, 3, 4, 5});
  b.node("Flatten", {"x"}, {"a"});
  b.node("Flatten", {"x"}, {"b"}).i("axis", 0);
  b.node("Flatten", {"x"}, {"c"}).i("axis", -1);
  b.node("Flatten", {"x"}, {"d"}).i("axis", 4);
  b.output("a").output("b").output("c").output("d");
  CHECK(shape_of(b.infer("a")) == "[2, 60]");
  CHECK(shape_of(b.infer("b")) == "[1, 120]");
  CHECK(shape_of(b.infer("c")) == "[24, 5]");
  CHECK(shape_of(b.infer("d")) == "[120, 1]");
}

TEST_CASE("ops/transpose: perm, default reverse, invalid perm") {
  ModelBuilder b;
  b.input("x", {2, 3, 4});
  b.node("Transpose", {"x"}, {"a"}).ints("perm", {1, 2, 0});
  b.node("Transpose", {"x"}, {"r"});
  b.output("a").output("r");
  CHECK(shape_of(b.infer("a")) == "[3, 4, 2]");
  CHECK(shape_of(b.infer("r")) == "[4, 3, 2]");
  ModelBuilder bad;
  bad.input("x", {2, 3, 4});
  bad.node("Transpose", {"x"}, {"a"}, "t").ints("perm", {0, 0, 1});
  bad.output("a");
  CHECK(error_of([&] { bad.build(); }).find("'t' (Transpose) — perm [0, 0, 1] is not a permutation") != std::string::npos);
}

TEST_CASE("ops/squeeze: attribute (opset 11) and input (opset 13) forms, negative axes") {
  ModelBuilder b11(11);
  b11.input("x", {1, 3, 1, 5});
  b11.node("Squeeze", {"x"}, {"a"}).ints("axes", {-2});
  b11.node("Squeeze", {"x"}, {"all"});
  b11.node("Unsqueeze", {"a"}, {"u"}).ints("axes", {0, -1});
  b11.output("all").output("u");
  CHECK(shape_of(b11.infer("a")) == "[1, 3, 5]");
  CHECK(shape_of(b11.infer("all")) == "[3, 5]");
  CHECK(shape_of(b11.infer("u")) == "[1, 1, 3, 5, 1]");

  ModelBuilder b13(13);
  b13.input("x", {1, 3, 1, 5}).int64s("ax", {0, 2}).int64s("ux", {-1, 1});
  b13.node("Squeeze", {"x", "ax"}, {"a"});
  b13.node("Unsqueeze", {"a", "ux"}, {"u"});
  b13.output("u");
  CHECK(shape_of(b13.infer("a")) == "[3, 5]");
  CHECK(shape_of(b13.infer("u")) == "[3, 1, 5, 1]");

  ModelBuilder bad(13);
  bad.input("x", {1, 3}).int64s("ax", {1});
  bad.node("Squeeze", {"x", "ax"}, {"a"}, "sq");
  bad.output("a");
  CHECK(error_of([&] { bad.build(); }).find("cannot squeeze axis 1 of size 3") != std::string::npos);

  ModelBuilder missing(11);
  missing.input("x", {3});
  missing.node("Unsqueeze", {"x"}, {"a"}, "unsq");
  missing.output("a");
  CHECK(error_of([&] { missing.build(); }) ==
        "node 'unsq' (Unsqueeze), attribute 'axes': missing required attribute (expected INTS)");
}

TEST_CASE("ops/concat: sums the axis, checks the others, negative axis") {
  ModelBuilder b;
  b.input("a", {2, 3, Dim::sym("T")}).input("c", {2, 5, Dim::sym("T")});
  b.node("Concat", {"a", "c"}, {"y"}).i("axis", -2);
  b.output("y");
  CHECK(shape_of(b.infer("y")) == "[2, 8, T]");
  ModelBuilder bad;
  bad.input("a", {2, 3}).input("c", {3, 3});
  bad.node("Concat", {"a", "c"}, {"y"}, "cat").i("axis", 1);
  bad.output("y");
  CHECK(error_of([&] { bad.build(); }).find("inputs differ in dimension 0") != std::string::npos);
}

TEST_CASE("ops/split: equal parts, explicit sizes (attribute and input), num_outputs") {
  ModelBuilder b11(11);
  b11.input("x", {6, 4});
  b11.node("Split", {"x"}, {"a", "b", "c"});
  b11.node("Split", {"x"}, {"d", "e"}).i("axis", -1).ints("split", {1, 3});
  b11.output("a").output("e");
  CHECK(shape_of(b11.infer("a")) == "[2, 4]");
  CHECK(shape_of(b11.infer("e")) == "[6, 3]");

  ModelBuilder b13(13);
  b13.input("x", {6, 4}).int64s("sizes", {5, 1});
  b13.node("Split", {"x", "sizes"}, {"a", "b"});
  b13.output("b");
  CHECK(shape_of(b13.infer("a")) == "[5, 4]");
  CHECK(shape_of(b13.infer("b")) == "[1, 4]");

  ModelBuilder b18(18);
  b18.input("x", {7});
  b18.node("Split", {"x"}, {"a", "b", "c"}).i("num_outputs", 3);
  b18.output("c");
  CHECK(shape_of(b18.infer("a")) == "[3]");  // ceil(7/3)
  CHECK(shape_of(b18.infer("c")) == "[1]");

  ModelBuilder bad(13);
  bad.input("x", {6}).int64s("sizes", {2, 2});
  bad.node("Split", {"x", "sizes"}, {"a", "b"}, "sp");
  bad.output("a");
  CHECK(error_of([&] { bad.build(); }).find("sum to 4, not the dimension size 6") != std::string::npos);
}

TEST_CASE("ops/slice: negative starts/ends, steps, clamping, opset 9 attributes") {
  // numpy x[1:-1, ::2, 10:0:-3] on shape [5, 7, 12], by hand:
  //   axis 0: 1..3 -> 3; axis 1: 0, 2, 4, 6 -> 4; axis 2: 10, 7, 4, 1 -> 4
  ModelBuilder b(13);
  b.input("x", {5, 7, 12});
  b.int64s("st", {1, 0, 10}).int64s("en", {-1, INT64_MAX, 0}).int64s("ax", {0, 1, 2}).int64s("sp", {1, 2, -3});
  b.node("Slice", {"x", "st", "en", "ax", "sp"}, {"y"});
  b.output("y");
  CHECK(shape_of(b.infer("y")) == "[3, 4, 4]");

  ModelBuilder c(13);
  c.input("x", {Dim::sym("N"), 10});
  c.int64s("st", {-3, 0}).int64s("en", {100, INT64_MAX}).int64s("ax", {-1, 0});
  c.node("Slice", {"x", "st", "en", "ax"}, {"y"});
  c.output("y");
  CHECK(shape_of(c.infer("y")) == "[N, 3]");  // clamped end; x[0:] keeps N

  ModelBuilder old(9);
  old.input("x", {4, 6});
  old.node("Slice", {"x"}, {"y"}).ints("starts", {1}).ints("ends", {-1}).ints("axes", {1});
  old.output("y");
  CHECK(shape_of(old.infer("y")) == "[4, 4]");
}

TEST_CASE("ops/slice: folds 1-D integer contents") {
  ModelBuilder b(13);
  b.input("x", {Dim::sym("N"), 3, 32, 48});
  b.int64s("st", {-2}).int64s("en", {INT64_MAX});
  b.node("Shape", {"x"}, {"s"});
  b.node("Slice", {"s", "st", "en"}, {"hw"});
  b.output("hw");
  CHECK(dims_to_string(*b.infer("hw").ints) == "[32, 48]");
}

TEST_CASE("ops/gather: output shape and folding; out-of-range index fails") {
  ModelBuilder b;
  b.input("x", {5, 6, 7}).int64s("idx2", {0, 1, 2, 3});
  b.node("Reshape", {"idx2", "shape22"}, {"idx"});
  b.int64s("shape22", {2, 2});
  b.node("Gather", {"x", "idx"}, {"y"}).i("axis", -2);
  b.output("y");
  CHECK(shape_of(b.infer("y")) == "[5, 2, 2, 7]");

  ModelBuilder s(13);
  s.input("x", {Dim::sym("B"), 3, 9}).int64s("i", {-1, 0});
  s.node("Shape", {"x"}, {"shape"});
  s.node("Gather", {"shape", "i"}, {"g"});
  s.output("g");
  CHECK(dims_to_string(*s.infer("g").ints) == "[9, B]");

  ModelBuilder bad;
  bad.input("x", {5, 6}).int64s("i", {6});
  bad.node("Gather", {"x", "i"}, {"y"}, "g").i("axis", 1);
  bad.output("y");
  CHECK(error_of([&] { bad.build(); }).find("index 6 is out of range for axis 1 of size 6") != std::string::npos);
}

TEST_CASE("ops/shape: start/end (opset 15), Size") {
  ModelBuilder b(15);
  b.input("x", {2, 3, 4, 5});
  b.node("Shape", {"x"}, {"s"}).i("start", 1).i("end", -1);
  b.node("Size", {"x"}, {"n"});
  b.output("s").output("n");
  CHECK(dims_to_string(*b.infer("s").ints) == "[3, 4]");
  CHECK(shape_of(b.infer("s")) == "[2]");
  CHECK(b.infer("s").dtype == DataType::Int64);
  CHECK(shape_of(b.infer("n")) == "[]");
  CHECK(*b.infer("n").known_ints() == std::vector<int64_t>{120});
}

TEST_CASE("ops/expand and tile") {
  ModelBuilder b(13);
  b.input("x", {3, 1}).int64s("shape", {2, 1, 6}).int64s("rep", {2, 3});
  b.node("Expand", {"x", "shape"}, {"e"});
  b.node("Tile", {"x", "rep"}, {"t"});
  b.output("e").output("t");
  CHECK(shape_of(b.infer("e")) == "[2, 3, 6]");
  CHECK(shape_of(b.infer("t")) == "[6, 3]");
}

TEST_CASE("ops/pad: opset 2 attribute, opset 11 input, opset 18 axes, negative pads") {
  ModelBuilder b2(2);
  b2.input("x", {1, 3, 4, 4});
  b2.node("Pad", {"x"}, {"y"}).ints("pads", {0, 0, 1, 2, 0, 0, 3, 4});
  b2.output("y");
  CHECK(shape_of(b2.infer("y")) == "[1, 3, 8, 10]");

  ModelBuilder b11(11);
  b11.input("x", {1, 3, 4, 4}).int64s("p", {0, 0, -1, 1, 0, 0, -1, 1});
  b11.node("Pad", {"x", "p"}, {"y"}).s("mode", "reflect");
  b11.output("y");
  CHECK(shape_of(b11.infer("y")) == "[1, 3, 2, 6]");

  ModelBuilder b18(18);
  b18.input("x", {1, 3, 4, 4}).int64s("p", {1, 2, 3, 4}).int64s("ax", {-1, 1});
  b18.node("Pad", {"x", "p", "", "ax"}, {"y"});
  b18.output("y");
  CHECK(shape_of(b18.infer("y")) == "[1, 9, 4, 8]");
}

TEST_CASE("ops/constant: value, value_ints, value_float; ConstantOfShape; Range") {
  ModelBuilder b(13);
  b.node("Constant", {}, {"c"}).tensor("value", qm::onnx::make_int64_tensor("v", {3}, {4, 5, 6}));
  b.node("Constant", {}, {"ci"}).ints("value_ints", {7, 8});
  b.node("Constant", {}, {"cf"}).f("value_float", 0.5f);
  b.node("ConstantOfShape", {"c"}, {"zeros"});
  b.node("ConstantOfShape", {"ci"}, {"ones"}).tensor("value", qm::onnx::make_int64_tensor("one", {1}, {1}));
  b.int64s("start", {2}, true).int64s("limit", {11}, true).int64s("delta", {3}, true);
  b.node("Range", {"start", "limit", "delta"}, {"r"});
  b.output("zeros").output("ones").output("r").output("cf");
  CHECK(dims_to_string(*b.infer("c").ints) == "[4, 5, 6]");
  CHECK(shape_of(b.infer("ci")) == "[2]");
  CHECK(shape_of(b.infer("cf")) == "[]");
  CHECK(b.infer("cf").dtype == DataType::Float);
  CHECK(shape_of(b.infer("zeros")) == "[4, 5, 6]");
  CHECK(b.infer("zeros").dtype == DataType::Float);
  CHECK(b.infer("ones").dtype == DataType::Int64);
  CHECK(*b.infer("ones").known_ints() == std::vector<int64_t>(56, 1));
  CHECK(*b.infer("r").known_ints() == std::vector<int64_t>{2, 5, 8});

  ModelBuilder bad(13);
  bad.node("Constant", {}, {"c"}, "const0");
  bad.output("c");
  CHECK(error_of([&] { bad.build(); }).find("node 'const0' (Constant): missing required attribute 'value'") == 0);
}
