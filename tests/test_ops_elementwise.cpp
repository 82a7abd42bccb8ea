// Elementwise shape inference: numpy broadcasting (checked against the rule written out here),
// legacy broadcast of opset < 7, comparisons to bool, Where, Clip, PRelu, Cast, folding of small
// integer contents.
#include <doctest/doctest.h>

#include "test_util.h"

using qm::DataType;
using qm::ops::Dim;
using qm::test::error_of;
using qm::test::ModelBuilder;
using qm::test::shape_of;

TEST_CASE("ops/add: broadcasts [3,1] with [1,4] and [2,1,1] with [4]") {
  ModelBuilder b;
  b.input("a", {3, 1}).input("b", {1, 4}).input("c", {2, 1, 1}).input("d", {4});
  b.node("Add", {"a", "b"}, {"ab"});
  b.node("Mul", {"c", "d"}, {"cd"});
  b.node("Sub", {"ab", "cd"}, {"y"});
  b.output("y");
  CHECK(shape_of(b.infer("ab")) == "[3, 4]");
  CHECK(shape_of(b.infer("cd")) == "[2, 1, 4]");
  CHECK(shape_of(b.infer("y")) == "[2, 3, 4]");
}

TEST_CASE("ops/add: symbols broadcast against 1 and equal symbols; mismatches fail") {
  ModelBuilder b;
  b.input("a", {Dim::sym("N"), 1, 8}).input("b", {Dim::sym("N"), 5, 1}).input("c", {Dim::sym("M"), 1, 1});
  b.node("Div", {"a", "b"}, {"ab"});
  b.node("Pow", {"ab", "c"}, {"y"});
  b.output("y");
  CHECK(shape_of(b.infer("ab")) == "[N, 5, 8]");
  CHECK(shape_of(b.infer("y")) == "[?, 5, 8]");  // N vs M: unknown

  ModelBuilder bad;
  bad.input("a", {3, 4}).input("b", {5});
  bad.node("Add", {"a", "b"}, {"y"}, "add1");
  bad.output("y");
  const std::string e = error_of([&] { bad.build(); });
  CHECK(e.find("node 'add1' (Add)") != std::string::npos);
  CHECK(e.find("[3, 4] and [5] cannot be broadcast") != std::string::npos);
}

TEST_CASE("ops/add: opset 6 legacy broadcast keeps A's shape") {
  ModelBuilder b(6);
  b.input("a", {2, 3, 4, 5}).input("b", {3, 4});
  b.node("Add", {"a", "b"}, {"y"}).i("broadcast", 1).i("axis", 1);
  b.output("y");
  CHECK(shape_of(b.infer("y")) == "[2, 3, 4, 5]");
}

TEST_CASE("ops/compare: Equal, Less, Greater and Not give bool; Where broadcasts three ways") {
  ModelBuilder b;
  b.input("a", {2, 1}).input("b", {3});
  b.node("Less", {"a", "b"}, {"lt"});
  b.node("Not", {"lt"}, {"nlt"});
  b.node("Where", {"nlt", "a", "b"}, {"w"});
  b.output("w");
  CHECK(b.infer("lt").dtype == DataType::Bool);
  CHECK(b.infer("nlt").dtype == DataType::Bool);
  CHECK(shape_of(b.infer("w")) == "[2, 3]");
  CHECK(b.infer("w").dtype == DataType::Float);
}

TEST_CASE("ops/elementwise: variadic Max/Min, activations keep shape, PRelu slope check") {
  ModelBuilder b(20);
  b.input("a", {1, 4}).input("b", {3, 1}).input("c", {4}).weight("slope", {4, 1, 1});
  b.input("x", {1, 4, 5, 5});
  b.node("Max", {"a", "b", "c"}, {"m"});
  b.node("Min", {"a"}, {"m1"});
  b.node("LeakyRelu", {"x"}, {"l"}).f("alpha", 0.2f);
  b.node("HardSigmoid", {"l"}, {"hs"});
  b.node("HardSwish", {"hs"}, {"hw"});
  b.node("Gelu", {"hw"}, {"g"}).s("approximate", "tanh");
  b.node("PRelu", {"g", "slope"}, {"p"});
  b.output("m").output("m1").output("p");
  CHECK(shape_of(b.infer("m")) == "[3, 4]");
  CHECK(shape_of(b.infer("m1")) == "[1, 4]");
  CHECK(shape_of(b.infer("p")) == "[1, 4, 5, 5]");
  // Gelu exists from opset 20: in an opset 17 model it is an unsupported op (unknown output).
  ModelBuilder old(17);
  old.input("x", {2});
  old.node("Gelu", {"x"}, {"y"});
  old.output("y");
  CHECK(shape_of(old.infer("y")) == "?");
  CHECK(old.graph().unsupported_op_types() == std::vector<std::string>{"Gelu"});

  ModelBuilder bad;
  bad.input("x", {1, 4, 5, 5}).weight("slope", {3});
  bad.node("PRelu", {"x", "slope"}, {"p"}, "prelu");
  bad.output("p");
  CHECK(error_of([&] { bad.build(); }).find("'prelu' (PRelu)") != std::string::npos);

  ModelBuilder bad2(20);
  bad2.input("x", {2});
  bad2.node("Gelu", {"x"}, {"y"}, "gelu").s("approximate", "fast");
  bad2.output("y");
  CHECK(error_of([&] { bad2.build(); }).find("node 'gelu' (Gelu), attribute 'approximate'") == 0);
}

TEST_CASE("ops/clip: opset 6 attributes and opset 13 inputs fold constants") {
  ModelBuilder b(13);
  b.int64s("v", {-5, 0, 7, 100}).int64s("lo", {0}, true).int64s("hi", {10}, true);
  b.node("Clip", {"v", "lo", "hi"}, {"c"});
  b.output("c");
  auto c = b.infer("c");
  REQUIRE(c.known_ints());
  CHECK(*c.known_ints() == std::vector<int64_t>{0, 0, 7, 10});

  ModelBuilder b6(6);
  b6.input("x", {2, 3});
  b6.node("Clip", {"x"}, {"y"}).f("min", 0.0f).f("max", 6.0f);
  b6.output("y");
  CHECK(shape_of(b6.infer("y")) == "[2, 3]");
}

TEST_CASE("ops/cast: changes dtype, folds contents, validates 'to'") {
  ModelBuilder b;
  b.int64s("v", {3, -2, 300});
  b.node("Cast", {"v"}, {"f"}).i("to", static_cast<int64_t>(DataType::Float));
  b.node("Cast", {"v"}, {"u8"}).i("to", static_cast<int64_t>(DataType::Uint8));
  b.node("Cast", {"f"}, {"back"}).i("to", static_cast<int64_t>(DataType::Int64));
  b.output("u8").output("back");
  CHECK(b.infer("f").dtype == DataType::Float);
  REQUIRE(b.infer("f").floats);
  CHECK(*b.infer("f").floats == std::vector<double>{3, -2, 300});
  CHECK(*b.infer("u8").known_ints() == std::vector<int64_t>{3, 254, 44});  // wraps like a C cast
  CHECK(*b.infer("back").known_ints() == std::vector<int64_t>{3, -2, 300});

  ModelBuilder bad;
  bad.input("x", {2});
  bad.node("Cast", {"x"}, {"y"}, "cast1").i("to", 99);
  bad.output("y");
  CHECK(error_of([&] { bad.build(); }) == "node 'cast1' (Cast), attribute 'to': unknown data type 99");
}

TEST_CASE("ops/arith: integer folding with symbols (x*1, x+0, x/x)") {
  ModelBuilder b;
  b.input("x", {Dim::sym("N"), 3, 224, 224});
  b.int64s("one", {1, 1, 1, 1}).int64s("zero", {0, 0, 0, 0}).int64s("two", {2, 2, 2, 2});
  b.node("Shape", {"x"}, {"s"});
  b.node("Mul", {"s", "one"}, {"s1"});
  b.node("Add", {"s1", "zero"}, {"s2"});
  b.node("Div", {"s2", "two"}, {"half"});
  b.node("Equal", {"s", "s2"}, {"eq"});
  b.output("half").output("eq");
  auto s2 = b.infer("s2");
  REQUIRE(s2.ints);
  CHECK(qm::ops::dims_to_string(*s2.ints) == "[N, 3, 224, 224]");
  CHECK(qm::ops::dims_to_string(*b.infer("half").ints) == "[?, 1, 112, 112]");
  CHECK(qm::ops::dims_to_string(*b.infer("eq").ints) == "[1, 1, 1, 1]");
}
