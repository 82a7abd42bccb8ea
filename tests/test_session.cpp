// api::Session (src/api/session.h): the FP32 run and the run with AIMET-style encodings
// (`quantmix run --encodings`). Oracle: a quantized Gemm computed here in double from the
// encodings' scales and offsets, independent of the simulator. And api/model_file.h, the front
// ends' model reading: the values python onnx wrote to an external data file.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "api/model_file.h"
#include "api/session.h"
#include "core/error.h"
#include "onnx/tensor_data.h"
#include "test_util.h"

namespace qm::api {
namespace {

// float32 accumulation order differs from the double oracle.
constexpr double kFloatTol = 1e-5;

// x[1, 4] -> Gemm(W[3, 4], transB=1, B[3]) -> y.
onnx::Model gemm_model(const std::vector<float>& w, const std::vector<float>& bias) {
  test::ModelBuilder b{13};
  b.input("x", {1, 4});
  b.floats("W", {3, 4}, w);
  b.floats("B", {3}, bias);
  b.node("Gemm", {"x", "W", "B"}, {"y"}, "fc").i("transB", 1);
  b.output("y");
  return b.model();
}

// Fake quantization with ONNX zero point zp (AIMET offset = -zp), clamped to [0, 2^bits - 1]
// (asymmetric) or [-2^(bits-1), 2^(bits-1) - 1] (symmetric).
double fq(double v, double scale, double zp, int bits, bool symmetric) {
  const double qmin = symmetric ? -std::ldexp(1.0, bits - 1) : 0.0;
  const double qmax = symmetric ? std::ldexp(1.0, bits - 1) - 1 : std::ldexp(1.0, bits) - 1;
  const double q = std::min(std::max(std::nearbyint(v / scale) + zp, qmin), qmax);
  return (q - zp) * scale;
}

TEST_CASE("api/session: run with encodings equals the closed-form quantized Gemm") {
  const std::vector<float> w = {0.9f, -0.31f, 0.52f, 0.07f, -1.3f, 0.44f, 0.26f, -0.68f, 0.15f, 0.83f, -0.57f, 1.1f};
  const std::vector<float> bias = {0.1f, -0.2f, 0.05f};
  const std::vector<float> xv = {0.37f, -1.21f, 2.9f, 0.66f};  // 2.9 is clipped by x's range
  Session s(gemm_model(w, bias));
  Tensor x(DataType::Float, Shape{1, 4});
  std::copy(xv.begin(), xv.end(), x.data<float>());

  const std::vector<Tensor> fp = s.run({x});
  // x: 4-bit asymmetric, scale 0.25, zero point 8 ([-2, 1.75]); W: 4-bit symmetric, one scale
  // per output channel; y: 8-bit asymmetric, scale 0.05, zero point 128.
  const double sx = 0.25, zx = 8, sy = 0.05, zy = 128;
  const std::vector<double> sw = {0.2, 0.25, 0.15};
  const std::string json = R"({"activation_encodings": {
      "x": [{"bitwidth": 4, "is_symmetric": "False", "offset": -8, "scale": 0.25}],
      "y": [{"bitwidth": 8, "is_symmetric": "False", "offset": -128, "scale": 0.05}]},
    "param_encodings": {"W": [
      {"bitwidth": 4, "is_symmetric": "True", "offset": -8, "scale": 0.2},
      {"bitwidth": 4, "is_symmetric": "True", "offset": -8, "scale": 0.25},
      {"bitwidth": 4, "is_symmetric": "True", "offset": -8, "scale": 0.15}]}})";
  s.simulate_encodings(json, "enc.json");
  const std::vector<Tensor> q = s.run({x});
  REQUIRE(q.size() == 1);
  REQUIRE(q[0].shape() == Shape{1, 3});
  bool differs = false;
  for (int j = 0; j < 3; ++j) {
    double acc = bias[static_cast<size_t>(j)];
    for (int k = 0; k < 4; ++k)
      acc += fq(xv[static_cast<size_t>(k)], sx, zx, 4, false) *
             fq(w[static_cast<size_t>(j * 4 + k)], sw[static_cast<size_t>(j)], 0, 4, true);
    const double expected = fq(acc, sy, zy, 8, false);
    CAPTURE(j);
    CHECK(std::abs(q[0].data<float>()[j] - expected) <= kFloatTol);
    differs = differs || std::abs(fp[0].data<float>()[j] - expected) > 1e-3;
  }
  CHECK(differs);  // the simulation is on: the FP32 output is not the quantized one

  // A value hook cannot be combined with the simulation; bad encodings name their source.
  CHECK(test::error_of([&] { s.run({x}, [](graph::ValueId, const Tensor&) -> std::optional<Tensor> { return std::nullopt; }); }).find("value hook") != std::string::npos);
  Session s2(gemm_model(w, bias));
  const std::string msg = test::error_of([&] {
    s2.simulate_encodings(R"({"activation_encodings": {"nope": [{"bitwidth": 8, "scale": 1, "offset": 0}]}})", "bad.json");
  });
  CHECK(msg.find("bad.json") != std::string::npos);
  CHECK(msg.find("'nope'") != std::string::npos);
}

TEST_CASE("api/model_file: a model with external data, from a path or from bytes and given files") {
  // tests/data/fuzz_seeds/external.onnx and external.bin come from
  // tests/fuzz/make_seeds.py (onnx.numpy_helper, values [1, -2.5, 3.25, 4]).
  const std::string folder = std::string(QM_SOURCE_DIR) + "/tests/data/fuzz_seeds";
  const std::vector<float> values = {1.0f, -2.5f, 3.25f, 4.0f};
  const onnx::Model from_path = read_model_file(folder + "/external.onnx");
  REQUIRE(from_path.graph->initializer.size() == 1);
  CHECK_FALSE(from_path.graph->initializer[0].is_external());
  CHECK(onnx::tensor_to_floats(from_path.graph->initializer[0]) == values);

  const auto bytes = read_file_bytes(folder + "/external.onnx");
  const ExternalFiles files = {{"external.bin", read_file_bytes(folder + "/external.bin")}};
  const onnx::Model from_bytes = read_model_bytes(bytes, "external.onnx", files);
  CHECK(onnx::tensor_to_floats(from_bytes.graph->initializer[0]) == values);

  // A data file not given: the message names it, and the front end's advice follows.
  CHECK(test::error_of([&] { read_model_bytes(bytes, "external.onnx", {}); })
            .find("external data file 'external.bin' was not provided") != std::string::npos);
  const std::string advised = test::error_of([&] { read_model_bytes(bytes, "external.onnx", {}, "select it too"); });
  CHECK(advised.find("'external.bin', which was not given — select it too (external data file 'external.bin' was not provided)") !=
        std::string::npos);
  CHECK(test::error_of([&] { read_file_bytes(folder + "/no_such.onnx"); }).find("no_such.onnx: cannot open file") !=
        std::string::npos);
}

TEST_CASE("api/session: stored_weight_bytes counts initializers, Constant nodes and subgraphs") {
  // Byte counts chosen so that each place is seen in the sum: 400 + 1000 + 2000 + 300 + 24.
  auto raw = [](size_t n) {
    onnx::Tensor t;
    t.data_type = 2;  // uint8
    t.dims = {static_cast<int64_t>(n)};
    t.raw_data = onnx::Bytes(std::string(n, '\1'));
    return t;
  };
  auto constant = [&](size_t n) {
    onnx::Node c;
    c.op_type = "Constant";
    onnx::Attribute value;
    value.name = "value";
    value.type = static_cast<int32_t>(onnx::AttributeType::Tensor);
    value.t = raw(n);
    c.attribute.push_back(std::move(value));
    return c;
  };
  onnx::Graph branch;
  branch.initializer.push_back(raw(2000));
  branch.node.push_back(constant(300));
  onnx::Node if_node;
  if_node.op_type = "If";
  onnx::Attribute then_branch;
  then_branch.name = "then_branch";
  then_branch.type = static_cast<int32_t>(onnx::AttributeType::Graph);
  then_branch.g = onnx::Box<onnx::Graph>();
  **then_branch.g = branch;
  if_node.attribute.push_back(std::move(then_branch));

  onnx::Model model;
  model.graph.emplace();
  model.graph->initializer.push_back(raw(400));
  onnx::Tensor typed;
  typed.data_type = 7;  // int64, typed payload
  typed.dims = {3};
  typed.int64_data = {1, 2, 3};
  model.graph->initializer.push_back(typed);
  model.graph->node.push_back(constant(1000));
  model.graph->node.push_back(std::move(if_node));
  CHECK(stored_weight_bytes(model) == 400 + 24 + 1000 + 2000 + 300);
  CHECK(stored_weight_bytes(onnx::Model{}) == 0);
  // The default limit follows: 4 x the weights, at least the floor.
  CHECK(default_memory_limit(size_t{256} << 20) == size_t{1} << 30);  // fits a 32-bit size_t (wasm)
  CHECK(default_memory_limit(std::numeric_limits<size_t>::max() / 2) == std::numeric_limits<size_t>::max());  // saturates
  CHECK(default_memory_limit(10, 5) == kMinDefaultMemoryLimit + 5);
}

}  // namespace
}  // namespace qm::api
