// Quantizers inside If subgraphs (spec amp.md section 1 applies to subgraph nodes too): where they
// sit, and what the simulation computes there. Oracle: the closed form of each branch computed
// here in double from the encodings (as the Gemm test in test_quant_simulator.cpp); ONNX Runtime
// on the exported file is checked by tests/cli/control_flow.test.mjs.
#include <doctest/doctest.h>

#include <cmath>
#include <string>
#include <vector>

#include "api/options.h"
#include "api/quantize.h"
#include "api/session.h"
#include "api/workspace.h"
#include "graph/executor.h"
#include "graph/plan.h"
#include "quant/calibration.h"
#include "quant/encodings_json.h"
#include "quant/quant_model.h"
#include "quant/simulator.h"
#include "quant_reference.h"
#include "test_util.h"

namespace qm::quant {
namespace {

using test::fq;
using test::pseudo;


// y = If(c): then  t = MatMul(x, W)          (W an initializer of the branch)
//            else  e = MatMul(x, V); f = Sigmoid(e)   (V a constant of the main graph)
struct IfModel {
  test::ModelBuilder b{13};
  std::vector<float> w = pseudo(32, 11, 1.0f), v = pseudo(32, 12, 1.0f);
  std::unique_ptr<graph::Plan> plan;
  IfModel() {
    b.input("c", {}, DataType::Bool).input("x", {1, 8});
    b.floats("V", {8, 4}, v);
    onnx::Graph then_g, else_g;
    then_g.initializer.push_back(onnx::make_float_tensor("W", {8, 4}, w));
    then_g.node.push_back(test::make_node("MatMul", {"x", "W"}, {"t"}, "mm_t"));
    then_g.output.push_back(test::ModelBuilder::value_info("t", {1, 4}, DataType::Float));
    else_g.node.push_back(test::make_node("MatMul", {"x", "V"}, {"e"}, "mm_e"));
    else_g.node.push_back(test::make_node("Sigmoid", {"e"}, {"f"}, "sig"));
    else_g.output.push_back(test::ModelBuilder::value_info("f", {1, 4}, DataType::Float));
    b.node("If", {"c"}, {"y"}, "cond");
    test::add_graph_attr(b.model().graph->node.back(), "then_branch", then_g);
    test::add_graph_attr(b.model().graph->node.back(), "else_branch", else_g);
    b.output("y");
    b.build();
    plan = std::make_unique<graph::Plan>(b.graph());
  }
};

Tensor flag(bool v) {
  Tensor t(DataType::Bool, {});
  t.data<bool>()[0] = v;
  return t;
}

std::vector<std::vector<Tensor>> samples(size_t n, bool both_branches) {
  std::vector<std::vector<Tensor>> out;
  for (size_t i = 0; i < n; ++i) {
    Tensor x(DataType::Float, {1, 8});
    const std::vector<float> v = pseudo(8, static_cast<uint32_t>(100 + i), 2.0f);
    std::copy(v.begin(), v.end(), x.data<float>());
    out.push_back({flag(!both_branches || i % 2 == 0), std::move(x)});
  }
  return out;
}

// The branch's closed form at a config: then fq_t(fq_x(x) . fq_W(W)), else fq_f(sigmoid(fq_e(fq_x(x) . fq_V(V))));
// an encoding that is null or not calibrated leaves its value float.
double branch_out(const IfModel& m, const float* x, size_t o, bool then, const Encoding& ex, const Encoding& ew,
                  const Encoding* e_mid, const Encoding* e_out) {
  const std::vector<float>& w = then ? m.w : m.v;
  double acc = 0;
  for (size_t k = 0; k < 8; ++k) acc += fq(x[k], ex, 0) * fq(w[k * 4 + o], ew, o);
  auto q = [](double v, const Encoding* e) { return e && e->calibrated() ? fq(v, *e, 0) : v; };
  if (then) return q(acc, e_out);
  return q(1.0 / (1.0 + std::exp(-q(acc, e_mid))), e_out);
}

TEST_CASE("quant/subgraphs: layers and activations inside If branches are placed, with the If's step") {
  IfModel m;
  QuantModel qm(*m.plan);
  REQUIRE(qm.has_subgraph_quantizers());
  REQUIRE(qm.layers().size() == 2);
  const Layer& lt = qm.layers()[0];
  const Layer& le = qm.layers()[1];
  CHECK(lt.name == "cond/then_branch/mm_t");
  CHECK(lt.scope == "cond/then_branch/");
  CHECK(le.name == "cond/else_branch/mm_e");
  CHECK(lt.macs == 32);
  CHECK(lt.weight_shape == Shape{8, 4});
  CHECK(lt.bias == graph::kNoValue);  // no bias correction inside subgraphs
  const int qx = qm.find_tensor("x");
  REQUIRE(qx >= 0);
  // Both layers read the model input's grid: one group decision with it.
  CHECK(lt.input_quantizer == qx);
  CHECK(le.input_quantizer == qx);
  CHECK(qm.quantizer(qx).consumer_layers == std::vector<int>{0, 1});
  const int qw = qm.find_tensor("W"), qv = qm.find_tensor("V");
  REQUIRE(qw >= 0);
  REQUIRE(qv >= 0);
  CHECK(qm.quantizer(qw).axis == 1);
  CHECK(qm.weight(qw).numel() == 32);
  CHECK(qm.weight(qv).data<float>()[5] == m.v[5]);
  CHECK(qm.inner_weight("cond/then_branch/mm_t") == qw);
  // Activations: t (the branch's output), e (MatMul -> Sigmoid is no fused unit) and f; y on the If.
  for (const char* a : {"t", "e", "f", "y"}) {
    CAPTURE(a);
    CHECK(qm.find_tensor(a) >= 0);
  }
  const int qt = qm.find_tensor("t");
  CHECK(qm.quantizer(qt).path == "cond/then_branch/t");
  CHECK(qm.quantizer_on(qm.inner_value("cond/then_branch/t")) == qt);
  CHECK(lt.output_quantizer == qt);
  // Switching any of them on recomputes the If step.
  const size_t if_step = static_cast<size_t>(lt.step);
  CHECK(qm.first_affected_step(qt) == if_step);
  CHECK(qm.first_affected_step(qw) == if_step);
}

TEST_CASE("quant/subgraphs: the simulation inside both If branches equals the closed form") {
  IfModel m;
  QuantModel qm(*m.plan);
  graph::Executor ex(*m.plan);
  const auto cal = samples(6, true);
  Encodings enc = calibrate(qm, ex, cal);
  Simulator sim(qm, enc, ex);
  const int qx = qm.find_tensor("x"), qw = qm.find_tensor("W"), qv = qm.find_tensor("V");
  const int qt = qm.find_tensor("t"), qe = qm.find_tensor("e"), qf = qm.find_tensor("f"), qy = qm.find_tensor("y");
  for (int wb : {8, 4}) {
    CAPTURE(wb);
    const QuantConfig c = qm.homogeneous(wb, 8);
    size_t off_grid = 0;
    for (const auto& s : cal) {
      const bool then = s[0].data<bool>()[0];
      const std::vector<Tensor> out = sim.run(c, s);
      for (size_t o = 0; o < 4; ++o) {
        const double inner = then ? branch_out(m, s[1].data<float>(), o, true, enc.get(qx, 8), enc.get(qw, wb), nullptr, &enc.get(qt, 8))
                                  : branch_out(m, s[1].data<float>(), o, false, enc.get(qx, 8), enc.get(qv, wb), &enc.get(qe, 8), &enc.get(qf, 8));
        const double want = fq(inner, enc.get(qy, 8), 0);
        const double d = std::fabs(out[0].data<float>()[o] - want);
        CHECK(d <= enc.get(qy, 8).scale[0] * 1.0001 + 1e-5);  // one step where float rounding differs
        if (d > 1e-5) ++off_grid;
      }
    }
    CHECK(off_grid <= 1);
  }
  // Off: the float model; and run_cached (resuming at the If step) equals a full run.
  const QuantConfig c = qm.homogeneous(8, 8);
  sim.cache_fp(cal);
  for (size_t i = 0; i < cal.size(); ++i) {
    const std::vector<Tensor> full = sim.run(c, cal[i]), cached = sim.run_cached(c, i);
    for (int64_t k = 0; k < full[0].numel(); ++k) CHECK(full[0].data<float>()[k] == cached[0].data<float>()[k]);
    const std::vector<Tensor> fp = ex.run(cal[i]), off = sim.run(qm.off(), cal[i]);
    for (int64_t k = 0; k < fp[0].numel(); ++k) CHECK(fp[0].data<float>()[k] == off[0].data<float>()[k]);
  }
}

TEST_CASE("quant/subgraphs: a branch no calibration sample took keeps its activations float") {
  IfModel m;
  QuantModel qm(*m.plan);
  graph::Executor ex(*m.plan);
  Encodings enc = calibrate(qm, ex, samples(4, false));  // always the then branch
  const int qx = qm.find_tensor("x"), qv = qm.find_tensor("V"), qe = qm.find_tensor("e"), qf = qm.find_tensor("f");
  const int qy = qm.find_tensor("y"), qt = qm.find_tensor("t");
  CHECK(enc.get(qt, 8).calibrated());
  CHECK_FALSE(enc.get(qe, 8).calibrated());
  CHECK_FALSE(enc.get(qf, 8).calibrated());
  CHECK(enc.get(qv, 8).calibrated());  // weights need no samples
  const QuantConfig c = qm.homogeneous(8, 8);
  const std::string json = encodings_to_json(qm, enc, c);
  CHECK(json.find("\"t\"") != std::string::npos);
  CHECK(json.find("\"e\"") == std::string::npos);
  CHECK(json.find("\"f\"") == std::string::npos);
  CHECK(json.find("\"V\"") != std::string::npos);
  // Run later on the other branch: its weight is quantized, its activations float.
  Simulator sim(qm, enc, ex);
  std::vector<std::vector<Tensor>> other = samples(1, false);
  other[0][0] = flag(false);
  const std::vector<Tensor> out = sim.run(c, other[0]);
  for (size_t o = 0; o < 4; ++o) {
    const double want = fq(branch_out(m, other[0][1].data<float>(), o, false, enc.get(qx, 8), enc.get(qv, 8), nullptr, nullptr),
                           enc.get(qy, 8), 0);
    CHECK(std::fabs(out[0].data<float>()[o] - want) <= enc.get(qy, 8).scale[0] * 1.0001 + 1e-5);
  }
  // The JSON reads back to the same configuration minus the float activations.
  Encodings back(qm, {});
  const QuantConfig read = encodings_from_json(json, qm, back, "enc.json");
  CHECK(read.bits[static_cast<size_t>(qt)] == 8);
  CHECK(read.bits[static_cast<size_t>(qe)] == 0);
}

TEST_CASE("quant/subgraphs: two branch nodes with one name get distinct paths and their own weights") {
  // then: u = MatMul(x, W1 [8, 8]) and t = MatMul(u, W2 [8, 4]), both nodes named "dup".
  test::ModelBuilder b{13};
  b.input("c", {}, DataType::Bool).input("x", {1, 8});
  onnx::Graph then_g, else_g;
  then_g.initializer.push_back(onnx::make_float_tensor("W1", {8, 8}, pseudo(64, 21, 1.0f)));
  then_g.initializer.push_back(onnx::make_float_tensor("W2", {8, 4}, pseudo(32, 22, 1.0f)));
  then_g.node.push_back(test::make_node("MatMul", {"x", "W1"}, {"u"}, "dup"));
  then_g.node.push_back(test::make_node("MatMul", {"u", "W2"}, {"t"}, "dup"));
  then_g.output.push_back(test::ModelBuilder::value_info("t", {1, 4}, DataType::Float));
  else_g.node.push_back(test::make_node("Slice", {"x", "st", "en", "ax"}, {"e"}, "s"));
  else_g.output.push_back(test::ModelBuilder::value_info("e", {1, 4}, DataType::Float));
  b.int64s("st", {0}).int64s("en", {4}).int64s("ax", {1});
  b.node("If", {"c"}, {"y"}, "cond");
  test::add_graph_attr(b.model().graph->node.back(), "then_branch", then_g);
  test::add_graph_attr(b.model().graph->node.back(), "else_branch", else_g);
  b.output("y");
  b.build();
  graph::Plan plan(b.graph());
  QuantModel qm(plan);
  REQUIRE(qm.layers().size() == 2);
  CHECK(qm.layers()[0].name == "cond/then_branch/dup");
  CHECK(qm.layers()[1].name == "cond/then_branch/dup_1");
  const int q0 = qm.inner_weight("cond/then_branch/dup"), q1 = qm.inner_weight("cond/then_branch/dup_1");
  REQUIRE(q0 >= 0);
  REQUIRE(q1 >= 0);
  CHECK(qm.weight(q0).shape() == Shape{8, 8});
  CHECK(qm.weight(q1).shape() == Shape{8, 4});
  // Simulated: each layer reads its own fake weight (the other's would not fit the MatMul).
  graph::Executor ex(plan);
  const auto cal = samples(2, false);
  Encodings enc = calibrate(qm, ex, cal);
  Simulator sim(qm, enc, ex);
  const std::vector<Tensor> out = sim.run(qm.homogeneous(8, 8), cal[0]);
  CHECK(out[0].shape() == Shape{1, 4});
}

TEST_CASE("api/quantize: a layer in a branch no calibration sample took is listed as not run") {
  IfModel m;
  api::Workspace ws(std::make_unique<api::Session>(m.b.model(), api::SessionOptions{}));
  api::QuantizeOptions o;
  o.bits = api::parse_candidate("W8A8");
  o.model_sha256 = "x";
  ws.set_samples(samples(3, false));  // the then branch only
  api::QuantizeResult r = api::quantize(ws, o);
  CHECK(r.layers_not_run == std::vector<std::string>{"cond/else_branch/mm_e"});
  CHECK(r.report_json.find("\"layers_not_run\": [\"cond/else_branch/mm_e\"]") != std::string::npos);
  ws.set_samples(samples(4, true));  // both
  r = api::quantize(ws, o);
  CHECK(r.layers_not_run.empty());
  CHECK(r.report_json.find("layers_not_run") == std::string::npos);
}

}  // namespace
}  // namespace qm::quant
