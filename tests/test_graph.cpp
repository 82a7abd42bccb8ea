// The graph view: validation errors (one line, naming the node), generated stable names,
// topological order of an unsorted graph, initializers listed as inputs, unsupported ops,
// constant propagation.
#include <doctest/doctest.h>

#include <functional>

#include "test_util.h"

using qm::ErrorKind;
using qm::graph::Graph;
using qm::test::error_of;
using qm::test::ModelBuilder;
using qm::test::shape_of;

namespace {
/// Error kind and message of building the graph of `b`.
std::pair<ErrorKind, std::string> build_error(ModelBuilder& b) {
  try {
    Graph g(b.model());
  } catch (const qm::Error& e) {
    return {e.kind(), e.what()};
  }
  return {ErrorKind::kCount, ""};
}
bool has(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }
}  // namespace

TEST_CASE("graph/validate: bad graphs give one-line InvalidModel errors naming the node") {
  struct Case {
    const char* what;
    std::function<void(ModelBuilder&)> build;
    std::vector<std::string> fragments;
  };
  const std::vector<Case> cases = {
      {"dangling input",
       [](ModelBuilder& b) {
         b.input("x", {2});
         b.node("Add", {"x", "ghost"}, {"y"}, "add_dangling");
         b.output("y");
       },
       {"node 'add_dangling' (Add)", "input 'ghost'", "not a graph input, an initializer or the output of any node"}},
      {"dangling graph output",
       [](ModelBuilder& b) {
         b.input("x", {2});
         b.node("Relu", {"x"}, {"y"});
         b.output("nowhere");
       },
       {"graph output 'nowhere' is not produced"}},
      {"cycle",
       [](ModelBuilder& b) {
         b.input("x", {2});
         b.node("Add", {"x", "b"}, {"a"}, "cycle_a");
         b.node("Relu", {"a"}, {"b"}, "cycle_b");
         b.output("b");
       },
       {"cycle", "'cycle_a'", "'cycle_b'"}},
      {"self loop",
       [](ModelBuilder& b) {
         b.input("x", {2});
         b.node("Add", {"x", "s"}, {"s"}, "selfish");
         b.output("s");
       },
       {"cycle", "'selfish'"}},
      {"duplicate output",
       [](ModelBuilder& b) {
         b.input("x", {2});
         b.node("Relu", {"x"}, {"y"}, "r1");
         b.node("Sigmoid", {"x"}, {"y"}, "r2");
         b.output("y");
       },
       {"node 'r2' (Sigmoid): output 'y' is already produced by node 'r1' (Relu)"}},
      {"output shadows an input",
       [](ModelBuilder& b) {
         b.input("x", {2});
         b.node("Relu", {"x"}, {"x"}, "r1");
         b.output("x");
       },
       {"node 'r1' (Relu): output 'x' is already produced by a graph input"}},
      {"missing required attribute",
       [](ModelBuilder& b) {
         b.input("x", {2}).input("z", {2});
         b.node("Concat", {"x", "z"}, {"y"}, "concat_no_axis");
         b.output("y");
       },
       {"node 'concat_no_axis' (Concat), attribute 'axis': missing required attribute"}},
      {"wrong input count",
       [](ModelBuilder& b) {
         b.input("x", {1, 3, 4, 4});
         b.node("Conv", {"x"}, {"y"}, "conv1");
         b.output("y");
       },
       {"node 'conv1' (Conv): expected 2 to 3 inputs, got 1"}},
      {"empty required input",
       [](ModelBuilder& b) {
         b.input("x", {1, 3, 4, 4});
         b.node("Conv", {"x", ""}, {"y"}, "conv1");
         b.output("y");
       },
       {"node 'conv1' (Conv): input 1 is required but empty"}},
  };
  for (const Case& c : cases) {
    CAPTURE(c.what);
    ModelBuilder b;
    c.build(b);
    // (no structured bindings: clang 14 cannot capture them in doctest's message lambdas)
    const auto err = build_error(b);
    const ErrorKind kind = err.first;
    const std::string msg = err.second;
    CHECK(kind == ErrorKind::InvalidModel);
    CHECK(msg.find('\n') == std::string::npos);
    for (const std::string& f : c.fragments) CHECK_MESSAGE(has(msg, f), msg);
  }
}

TEST_CASE("graph/names: unnamed nodes get <OpType>_<index>, unique against existing names") {
  ModelBuilder b;
  b.input("x", {2});
  b.node("Relu", {"x"}, {"a"});              // 0: Relu_0
  b.node("Relu", {"a"}, {"b"}, "Relu_2");    // 1: explicit name that collides with node 2's
  b.node("Relu", {"b"}, {"c"});              // 2: Relu_2 is taken -> Relu_2_1
  b.output("c");
  b.build();
  CHECK(b.graph().node(0).name == "Relu_0");
  CHECK(b.graph().node(1).name == "Relu_2");
  CHECK(b.graph().node(2).name == "Relu_2_1");
}

TEST_CASE("graph/order: unsorted nodes get a topological order; graph order is kept otherwise") {
  ModelBuilder b;
  b.input("x", {2, 3});
  b.node("Sigmoid", {"b"}, {"c"}, "third");
  b.node("Relu", {"x"}, {"a"}, "first");
  b.node("Neg", {"a"}, {"b"}, "second");
  b.node("Abs", {"x"}, {"d"}, "independent");
  b.output("c").output("d");
  b.build();
  std::vector<std::string> order;
  for (int i : b.graph().topo_order()) order.push_back(b.graph().node(i).name);
  CHECK(order == std::vector<std::string>{"first", "second", "third", "independent"});
  CHECK(shape_of(b.infer("c")) == "[2, 3]");
  const auto& a = b.graph().value(*b.graph().find("a"));
  CHECK(a.producer == 1);
  CHECK(a.consumers == std::vector<int>{2});
}

TEST_CASE("graph/inputs: initializers listed as graph inputs are not model inputs") {
  ModelBuilder b;
  b.input("x", {1, 4}).input("w", {3, 4}).weight("w", {3, 4});
  b.node("Gemm", {"x", "w"}, {"y"}).i("transB", 1);
  b.output("y");
  b.build();
  REQUIRE(b.graph().inputs().size() == 1);
  CHECK(b.graph().value(b.graph().inputs()[0]).name == "x");
  CHECK(b.graph().value(*b.graph().find("w")).kind == qm::graph::ValueKind::Initializer);
  CHECK(b.graph().is_constant(*b.graph().find("w")));
  CHECK_FALSE(b.graph().is_constant(*b.graph().find("y")));
}

TEST_CASE("graph/unsupported: unknown ops load, are listed once, and downstream shapes are unknown") {
  ModelBuilder b;
  b.model().opset_import.push_back([] {
    qm::onnx::OperatorSetId o;
    o.domain = "com.example";
    o.version = 1;
    return o;
  }());
  b.input("x", {1, 3});
  b.node("Frobnicate", {"x"}, {"f"}, "frob").domain("com.example");
  b.node("Relu", {"f"}, {"r"});
  b.node("Frobnicate", {"r"}, {"g"}).domain("com.example");
  b.node("RoiAlign", {"x"}, {"nz"});
  b.output("g").output("nz");
  b.build();
  CHECK(b.graph().unsupported_op_types() == std::vector<std::string>{"com.example.Frobnicate", "RoiAlign"});
  CHECK_FALSE(b.graph().node(0).supported());
  CHECK(b.graph().node(1).supported());
  CHECK(shape_of(b.infer("r")) == "?");
}

TEST_CASE("graph/constants: Constant nodes and ops on constants are fixed values") {
  ModelBuilder b;
  b.input("x", {2, 3});
  b.node("Constant", {}, {"c"}).tensor("value", qm::onnx::make_float_tensor("v", {3, 2}, {1, 2, 3, 4, 5, 6}));
  b.node("Transpose", {"c"}, {"ct"});
  b.node("MatMul", {"x", "c"}, {"y"});
  b.output("y").output("ct");
  b.build();
  CHECK(b.graph().is_constant(*b.graph().find("c")));
  CHECK(b.graph().is_constant(*b.graph().find("ct")));
  CHECK_FALSE(b.graph().is_constant(*b.graph().find("y")));
  CHECK(shape_of(b.infer("y")) == "[2, 2]");
}

TEST_CASE("graph/opset: a model without a default-domain opset import is invalid") {
  ModelBuilder b;
  b.model().opset_import.clear();
  b.input("x", {2});
  b.node("Relu", {"x"}, {"y"}, "r");
  b.output("y");
  const auto err = build_error(b);
  CHECK(err.first == ErrorKind::InvalidModel);
  CHECK(has(err.second, "node 'r' (Relu): the model imports no opset for the default ONNX domain"));
}
