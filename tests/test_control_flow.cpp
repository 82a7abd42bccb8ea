// If / Loop / Scan (src/ops/control_flow.cpp): outer-scope reads, runs, shape inference through
// the subgraphs and the one-line errors for bad models and inputs. The comparisons with ONNX
// Runtime are in the op oracle corpus (tools/op_models/control_flow.py).
#include <doctest/doctest.h>

#include "api/inspect.h"
#include "graph/executor.h"
#include "graph/plan.h"
#include "test_util.h"

namespace qm::test {
namespace {

onnx::ValueInfo vi(const std::string& name, ops::Dims dims, DataType t = DataType::Float) {
  return ModelBuilder::value_info(name, dims, t);
}

/// A branch computing `op(x, operand)` into output `out`.
onnx::Graph branch(const std::string& op, const std::string& operand, const std::string& out) {
  onnx::Graph g;
  g.name = out;
  g.node.push_back(make_node(op, {"x", operand}, {out}));
  g.output.push_back(vi(out, {2}));
  return g;
}

Tensor floats(Shape s, std::vector<float> v) {
  Tensor t(DataType::Float, std::move(s));
  std::copy(v.begin(), v.end(), t.data<float>());
  return t;
}

Tensor boolean(bool b) {
  Tensor t(DataType::Bool, {});
  t.data<bool>()[0] = b;
  return t;
}

std::vector<float> values(const Tensor& t) { return std::vector<float>(t.data<float>(), t.data<float>() + t.numel()); }

/// y = If(c) then x + w else x * x, reading x and w from the main graph.
void build_if(ModelBuilder& b) {
  b.input("c", {}, DataType::Bool).input("x", {2});
  b.floats("w", {2}, {10.0f, 20.0f});
  b.node("If", {"c"}, {"y"}, "cond");
  add_graph_attr(b.model().graph->node.back(), "then_branch", branch("Add", "w", "t"));
  add_graph_attr(b.model().graph->node.back(), "else_branch", branch("Mul", "x", "e"));
  b.output("y");
}

/// A Loop: v = v + x per iteration, v after each iteration as a scan output.
void build_loop(ModelBuilder& b, const std::string& m, const std::string& cond, bool scan = true) {
  b.input("v0", {2}).input("x", {2});
  onnx::Graph body;
  body.input = {vi("i", {}, DataType::Int64), vi("cin", {}, DataType::Bool), vi("v", {2})};
  body.node.push_back(make_node("Add", {"v", "x"}, {"v2"}));
  body.node.push_back(make_node("Identity", {"cin"}, {"cout"}));
  body.output = {vi("cout", {}, DataType::Bool), vi("v2", {2})};
  if (scan) {
    body.node.push_back(make_node("Identity", {"v2"}, {"snap"}));
    body.output.push_back(vi("snap", {2}));
  }
  b.node("Loop", {m, cond, "v0"}, scan ? std::vector<std::string>{"v", "hist"} : std::vector<std::string>{"v"}, "loop");
  add_graph_attr(b.model().graph->node.back(), "body", body);
  b.output("v");
  if (scan) b.output("hist");
}

}  // namespace

TEST_CASE("control_flow/If: runs the branch the condition picks, reading outer-scope values") {
  ModelBuilder b(13);
  build_if(b);
  b.build();
  // x and w are implicit inputs of the If node (after its declared input).
  const graph::Node& n = b.graph().node(0);
  REQUIRE(n.inputs.size() == 3);
  CHECK(b.graph().value(n.inputs[1]).name == "w");
  CHECK(b.graph().value(n.inputs[2]).name == "x");
  CHECK(shape_of(b.infer("y")) == "[2]");
  CHECK(b.infer("y").dtype == DataType::Float);
  graph::Plan plan(b.graph());
  graph::Executor ex(plan);
  const Tensor x = floats({2}, {1.0f, 2.0f});
  CHECK(values(ex.run({boolean(true), x})[0]) == std::vector<float>{11.0f, 22.0f});
  CHECK(values(ex.run({boolean(false), x})[0]) == std::vector<float>{1.0f, 4.0f});
  // A condition that is not one bool is an error naming the node.
  Tensor two(DataType::Bool, {2});
  CHECK(error_of([&] { ex.run({two, x}); }).find("node 'cond' (If): the condition must have one element") != std::string::npos);
  CHECK(error_of([&] { ex.run({floats({}, {1.0f}), x}); }).find("node 'cond' (If): the condition must be a bool tensor, got float") !=
        std::string::npos);
}

TEST_CASE("control_flow/If: bad models are one-line errors naming the node") {
  SUBCASE("missing else_branch") {
    ModelBuilder b(13);
    b.input("c", {}, DataType::Bool).input("x", {2});
    b.node("If", {"c"}, {"y"}, "cond");
    add_graph_attr(b.model().graph->node.back(), "then_branch", branch("Add", "x", "t"));
    b.output("y");
    CHECK(error_of([&] { b.build(); }) ==
          "node 'cond' (If), attribute 'else_branch': missing required subgraph (expected a GRAPH attribute)");
  }
  SUBCASE("branch output count") {
    ModelBuilder b(13);
    b.input("c", {}, DataType::Bool).input("x", {2});
    b.node("If", {"c"}, {"y", "z"}, "cond");
    add_graph_attr(b.model().graph->node.back(), "then_branch", branch("Add", "x", "t"));
    add_graph_attr(b.model().graph->node.back(), "else_branch", branch("Mul", "x", "e"));
    b.output("y");
    CHECK(error_of([&] { b.build(); }) ==
          "node 'cond' (If): then_branch has 1 outputs, the node has 2 (both branches must produce every output)");
  }
  SUBCASE("an outer name that does not exist") {
    ModelBuilder b(13);
    b.input("c", {}, DataType::Bool).input("x", {2});
    b.node("If", {"c"}, {"y"}, "cond");
    add_graph_attr(b.model().graph->node.back(), "then_branch", branch("Add", "nowhere", "t"));
    add_graph_attr(b.model().graph->node.back(), "else_branch", branch("Mul", "x", "e"));
    b.output("y");
    CHECK(error_of([&] { b.build(); }) ==
          "node 'cond' (If): a subgraph reads 'nowhere', which is not defined in it or in an enclosing graph");
  }
  SUBCASE("an unsupported op inside a branch fails the plan, not the load") {
    ModelBuilder b(13);
    b.input("c", {}, DataType::Bool).input("x", {2});
    b.node("If", {"c"}, {"y"}, "cond");
    add_graph_attr(b.model().graph->node.back(), "then_branch", branch("NoSuchOp", "x", "t"));
    add_graph_attr(b.model().graph->node.back(), "else_branch", branch("Mul", "x", "e"));
    b.output("y");
    b.build();
    CHECK(b.graph().unsupported_op_types() == std::vector<std::string>{"NoSuchOp"});
    CHECK(error_of([&] { graph::Plan p(b.graph()); }) ==
          "node 'cond' (If): its subgraphs use ops not supported by the engine (unsupported ops in this model: NoSuchOp)");
  }
}

TEST_CASE("control_flow/Loop: trip count, condition, carried values and scan outputs") {
  ModelBuilder b(13);
  b.int64s("M", {3}, true);
  build_loop(b, "M", "");
  b.build();
  CHECK(shape_of(b.infer("v")) == "[2]");
  CHECK(shape_of(b.infer("hist")) == "[?, 2]");
  graph::Plan plan(b.graph());
  graph::Executor ex(plan);
  auto out = ex.run({floats({2}, {0.0f, 1.0f}), floats({2}, {1.0f, 2.0f})});
  CHECK(values(out[0]) == std::vector<float>{3.0f, 7.0f});
  CHECK(out[1].shape() == Shape{3, 2});
  CHECK(values(out[1]) == std::vector<float>{1.0f, 3.0f, 2.0f, 5.0f, 3.0f, 7.0f});
}

TEST_CASE("control_flow/Loop: bad trip counts and conditions are errors, never a hang") {
  SUBCASE("negative M") {
    ModelBuilder b(13);
    b.int64s("M", {-2}, true);
    build_loop(b, "M", "");
    b.build();
    graph::Plan plan(b.graph(), graph::PrepareOptions{false});
    graph::Executor ex(plan);
    CHECK(error_of([&] { ex.run({floats({2}, {0, 0}), floats({2}, {0, 0})}); }) ==
          "node 'loop' (Loop): trip count M is -2 (expected >= 0)");
  }
  SUBCASE("huge M without a condition") {
    ModelBuilder b(13);
    b.int64s("M", {int64_t{1} << 40}, true);
    build_loop(b, "M", "");
    b.build();
    graph::Plan plan(b.graph(), graph::PrepareOptions{false});
    graph::Executor ex(plan);
    CHECK(error_of([&] { ex.run({floats({2}, {0, 0}), floats({2}, {0, 0})}); }) ==
          "node 'loop' (Loop): trip count M = 1099511627776 exceeds the engine's limit of 1048576 iterations");
  }
  SUBCASE("a condition that stays true") {
    ModelBuilder b(13);
    b.input("c", {}, DataType::Bool);
    build_loop(b, "", "c", false);
    b.build();
    graph::Plan plan(b.graph());
    graph::Executor ex(plan);
    CHECK(error_of([&] { ex.run({boolean(true), floats({2}, {0, 0}), floats({2}, {0, 0})}); })
              .find("node 'loop' (Loop): still running after 1048576 iterations") != std::string::npos);
  }
  SUBCASE("a false initial condition runs no iteration") {
    ModelBuilder b(13);
    b.input("c", {}, DataType::Bool);
    build_loop(b, "", "c");
    b.build();
    graph::Plan plan(b.graph());
    graph::Executor ex(plan);
    // Carried values pass through, scan outputs are empty.
    auto out = ex.run({boolean(false), floats({2}, {5, 6}), floats({2}, {0, 0})});
    CHECK(values(out[0]) == std::vector<float>{5, 6});
    CHECK(out[1].shape() == Shape{0, 2});
  }
  SUBCASE("a non-boolean condition") {
    ModelBuilder b(13);
    b.input("c", {});
    build_loop(b, "", "c");
    b.build();
    graph::Plan plan(b.graph());
    graph::Executor ex(plan);
    CHECK(error_of([&] { ex.run({floats({}, {1}), floats({2}, {0, 0}), floats({2}, {0, 0})}); }) ==
          "node 'loop' (Loop): the initial condition must be a bool tensor, got float");
  }
  SUBCASE("neither M nor a condition") {
    ModelBuilder b(13);
    build_loop(b, "", "");
    b.build();
    graph::Plan plan(b.graph());
    graph::Executor ex(plan);
    CHECK(error_of([&] { ex.run({floats({2}, {0, 0}), floats({2}, {0, 0})}); })
              .find("node 'loop' (Loop): neither a trip count M nor a condition is given") != std::string::npos);
  }
}

TEST_CASE("control_flow/Scan: reverse direction along axis 1, stacked along axis 0") {
  ModelBuilder b(16);
  b.input("s0", {2}).input("x", {2, 3});
  onnx::Graph body;
  body.input = {vi("s", {2}), vi("xi", {2})};
  body.node.push_back(make_node("Add", {"s", "xi"}, {"s2"}));
  body.node.push_back(make_node("Identity", {"s2"}, {"o"}));
  body.output = {vi("s2", {2}), vi("o", {2})};
  b.node("Scan", {"s0", "x"}, {"s", "y"}, "scan").i("num_scan_inputs", 1).ints("scan_input_axes", {1}).ints(
      "scan_input_directions", {1});
  add_graph_attr(b.model().graph->node.back(), "body", body);
  b.output("s").output("y");
  b.build();
  CHECK(shape_of(b.infer("y")) == "[3, 2]");
  graph::Plan plan(b.graph());
  graph::Executor ex(plan);
  // x columns, last first: [3, 6], [2, 5], [1, 4].
  auto out = ex.run({floats({2}, {0, 0}), floats({2, 3}, {1, 2, 3, 4, 5, 6})});
  CHECK(values(out[0]) == std::vector<float>{6, 15});
  CHECK(values(out[1]) == std::vector<float>{3, 6, 5, 11, 6, 15});
}

TEST_CASE("control_flow/inspect: parameters and MACs of layers inside subgraphs") {
  ModelBuilder b(13);
  b.input("c", {}, DataType::Bool).input("x", {1, 4});
  onnx::Graph then_g;
  then_g.initializer.push_back(onnx::make_float_tensor("w", {4, 3}, std::vector<float>(12, 0.5f)));
  then_g.node.push_back(make_node("MatMul", {"x", "w"}, {"t"}));
  then_g.output.push_back(vi("t", {1, 3}));
  onnx::Graph else_g;
  else_g.node.push_back(make_node("Slice", {"x", "st", "en", "ax"}, {"e"}));
  else_g.output.push_back(vi("e", {1, 3}));
  b.int64s("st", {0}).int64s("en", {3}).int64s("ax", {1});
  b.node("If", {"c"}, {"y"}, "cond");
  add_graph_attr(b.model().graph->node.back(), "then_branch", then_g);
  add_graph_attr(b.model().graph->node.back(), "else_branch", else_g);
  b.output("y");
  api::InspectReport r = api::inspect_loaded_model(b.model(), "m.onnx", {});
  CHECK(r.params == 12);
  REQUIRE(r.layers.size() == 1);
  CHECK(r.layers[0].name == "cond/then_branch/MatMul_0");
  CHECK(r.layers[0].weight_shape == std::vector<int64_t>{4, 3});
  REQUIRE(r.layers[0].macs.has_value());
  CHECK(*r.layers[0].macs == 12);
  REQUIRE(r.macs.has_value());
  CHECK(*r.macs == 12);  // the costlier branch
}

}  // namespace qm::test
