// Blocked weight scales (issue 15 item 1): candidate spelling, block layouts, encodings, the
// simulation against a closed form computed here in double, the encodings JSON round trip and
// the size model. The export is checked against ONNX Runtime in tests/cli/quantize.test.mjs.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <memory>
#include <vector>

#include "api/options.h"
#include "core/error.h"
#include "graph/executor.h"
#include "graph/plan.h"
#include "mixed_precision/groups.h"
#include "mixed_precision/profile.h"
#include "quant/calibration.h"
#include "quant/encodings_json.h"
#include "quant/quant_model.h"
#include "quant/simulator.h"
#include "test_util.h"

namespace qm {
namespace {

using test::pseudo;
using api::builtin_profile;
using api::parse_candidate;
using api::parse_candidates;
using api::parse_profile_json;

// x[1, 40] -> Gemm(W[3, 40], transB=1) -> y: K = 40 makes blocks of 16, 16 and 8.
struct BlockGemm {
  test::ModelBuilder b{13};
  std::vector<float> w = pseudo(120, 7, 1.5f);
  std::unique_ptr<graph::Plan> plan;
  BlockGemm() {
    // A few large weights in the middle block only: per-channel scales would be set by them.
    w[20] = 9.0f;
    w[40 + 22] = -7.0f;
    b.input("x", {1, 40});
    b.floats("W", {3, 40}, w);
    b.node("Gemm", {"x", "W"}, {"y"}, "fc").i("transB", 1);
    b.output("y");
    b.build();
    plan = std::make_unique<graph::Plan>(b.graph());
  }
};

Tensor input(size_t n, uint32_t seed) {
  Tensor t(DataType::Float, {1, static_cast<int64_t>(n)});
  const std::vector<float> v = pseudo(n, seed, 2.0f);
  std::copy(v.begin(), v.end(), t.data<float>());
  return t;
}

}  // namespace

TEST_CASE("mp/candidates: blocked candidates are spelled WxbBAy, sort before their per-channel twin, refuse bad blocks") {
  using namespace mp;
  const Candidate c = parse_candidate(" w4b64a8 ");
  CHECK(c.w_bits == 4);
  CHECK(c.a_bits == 8);
  CHECK(c.w_block == 64);
  CHECK(candidate_name(c) == "W4b64A8");
  CHECK(parse_candidate("W4A8").w_block == 0);
  for (const char* bad : {"W4b48A8", "W4b8A8", "W4b2048A8", "W4bA8", "W4b64", "Wb64A8"}) {
    CAPTURE(bad);
    CHECK_THROWS_AS(parse_candidate(bad), Error);
  }
  std::vector<Candidate> v = parse_candidates("W4A8,W4b64A8,W8A8,W4b32A8");
  sort_widest_first(v);
  std::vector<std::string> names;
  for (const Candidate& k : v) names.push_back(candidate_name(k));
  CHECK(names == std::vector<std::string>{"W8A8", "W4b32A8", "W4b64A8", "W4A8"});
  // The generic profile runs W4A8, hence W4bBA8 for its block sizes; the npu profile has none.
  const Profile generic = builtin_profile("generic"), npu = builtin_profile("npu");
  CHECK(generic.supports_layer("Conv", parse_candidate("W4b64A8")));
  CHECK_FALSE(generic.supports_layer("Conv", parse_candidate("W4b16A8")));
  CHECK_FALSE(npu.supports_layer("Conv", parse_candidate("W4b64A8")));
  const Profile custom = parse_profile_json(R"({"candidates": ["W8A8"], "weight_blocks": [16]})", "p.json");
  CHECK(custom.supports_layer("Gemm", parse_candidate("W8b16A8")));
  CHECK_FALSE(custom.supports_layer("Gemm", parse_candidate("W4b16A8")));
  CHECK_THROWS_AS(parse_profile_json(R"({"candidates": ["W8A8"], "weight_blocks": [24]})", "p.json"), Error);
}

TEST_CASE("quant/blocks: the block layout of each layer kind") {
  using quant::block_layout;
  const quant::BlockLayout conv = block_layout("Conv", {4, 3, 3, 3}, 0);
  CHECK(conv.ok());
  CHECK(conv.axis == 1);
  CHECK(conv.k_dims == 3);
  CHECK(conv.outer == 4);
  CHECK(conv.k == 27);
  CHECK(conv.inner == 1);
  CHECK(conv.scales(16) == 8);
  const quant::BlockLayout gemm_t = block_layout("Gemm", {4, 40}, 0);  // transB = 1: [N, K]
  CHECK((gemm_t.axis == 1 && gemm_t.outer == 4 && gemm_t.k == 40 && gemm_t.inner == 1));
  const quant::BlockLayout gemm = block_layout("Gemm", {40, 4}, 1);  // [K, N]
  CHECK((gemm.axis == 0 && gemm.outer == 1 && gemm.k == 40 && gemm.inner == 4));
  CHECK(gemm.scales(16) == 12);
  const quant::BlockLayout mm = block_layout("MatMul", {2, 40, 4}, 2);
  CHECK((mm.axis == 1 && mm.outer == 2 && mm.k == 40 && mm.inner == 4));
  CHECK_FALSE(block_layout("ConvTranspose", {4, 3, 3, 3}, 1).ok());
}

TEST_CASE("quant/blocks: minmax block scales and the simulated Gemm equal the closed form") {
  BlockGemm m;
  quant::QuantModel qm(*m.plan);
  const int qw = qm.find_tensor("W");
  REQUIRE(qw >= 0);
  graph::Executor ex(*m.plan);
  quant::CalibrationOptions opt;
  opt.weight_range = quant::WeightRange::MinMax;
  std::vector<std::vector<Tensor>> cal = {{input(40, 11)}, {input(40, 12)}};
  quant::Encodings enc = quant::calibrate(qm, ex, cal, opt);
  const quant::Encoding& e = enc.get(qw, 4, 16);
  REQUIRE(e.scale.size() == 9);  // 3 rows x blocks [0,16) [16,32) [32,40)
  for (size_t o = 0; o < 3; ++o)
    for (size_t b = 0; b < 3; ++b) {
      float amax = 0.0f;
      for (size_t k = b * 16; k < std::min<size_t>(40, b * 16 + 16); ++k) amax = std::max(amax, std::fabs(m.w[o * 40 + k]));
      CHECK(e.scale[o * 3 + b] == doctest::Approx(amax / 7.0f).epsilon(1e-6));
    }
  // Weights only (activations off): y = x . fq(W)^T with each weight on its block's grid.
  quant::QuantConfig c = qm.off();
  c.bits[static_cast<size_t>(qw)] = 4;
  c.set_block(static_cast<size_t>(qw), 16);
  quant::Simulator sim(qm, enc, ex);
  const std::vector<Tensor> y = sim.run(c, cal[0]);
  const std::vector<Tensor> y_pc = sim.run(qm.homogeneous(0, 0), cal[0]);  // sanity: all off
  const float* x = cal[0][0].data<float>();
  double err_blocked = 0, err_channel = 0;
  const quant::Encoding& pc = enc.get(qw, 4);
  for (size_t o = 0; o < 3; ++o) {
    double want = 0, fp = 0, chan = 0;
    for (size_t k = 0; k < 40; ++k) {
      const double s = e.scale[o * 3 + k / 16];
      const double q = std::min(7.0, std::max(-8.0, std::nearbyint(m.w[o * 40 + k] / s)));
      want += x[k] * q * s;
      const double sc = pc.scale[o];
      chan += x[k] * std::min(7.0, std::max(-8.0, std::nearbyint(m.w[o * 40 + k] / sc))) * sc;
      fp += x[k] * m.w[o * 40 + k];
    }
    CHECK(y[0].data<float>()[o] == doctest::Approx(want).epsilon(1e-5));
    CHECK(y_pc[0].data<float>()[o] == doctest::Approx(fp).epsilon(1e-5));
    err_blocked += (want - fp) * (want - fp);
    err_channel += (chan - fp) * (chan - fp);
  }
  // The outliers sit in one block: the other blocks keep fine grids.
  CHECK(err_blocked < err_channel);
}

TEST_CASE("quant/blocks: blocked encodings survive the encodings JSON; the size counts their scales") {
  BlockGemm m;
  quant::QuantModel qm(*m.plan);
  graph::Executor ex(*m.plan);
  std::vector<std::vector<Tensor>> cal = {{input(40, 21)}};
  quant::Encodings enc = quant::calibrate(qm, ex, cal);
  const quant::QuantConfig c = qm.homogeneous(4, 8, 16);
  const int qw = qm.find_tensor("W");
  CHECK(c.block_of(static_cast<size_t>(qw)) == 16);
  const std::string json = quant::encodings_to_json(qm, enc, c);
  CHECK(json.find("\"block_size\": 16") != std::string::npos);
  quant::Encodings back(qm);
  const quant::QuantConfig c2 = quant::encodings_from_json(json, qm, back, "enc.json");
  CHECK(c2.key() == c.key());
  const quant::Encoding& a = enc.get(qw, 4, 16);
  const quant::Encoding& b = back.get(qw, 4, 16);
  REQUIRE(a.scale.size() == b.scale.size());
  for (size_t i = 0; i < a.scale.size(); ++i) CHECK(a.scale[i] == b.scale[i]);
  // A wrong entry count names the tensor.
  quant::Encodings bad(qm);
  CHECK_THROWS_WITH_AS(quant::encodings_from_json(
                           R"({"param_encodings": {"W": [{"bitwidth": 4, "block_size": 16, "is_symmetric": "True", "scale": 0.1, "offset": 0}]}})",
                           qm, bad, "enc.json"),
                       doctest::Contains("'W'"), Error);
  // block_size on an activation (fuzz_json found it indexing the activation's layer, -1) and a
  // huge negative one (a float -> int cast out of range) are refused in one line.
  CHECK_THROWS_WITH_AS(quant::encodings_from_json(
                           R"({"activation_encodings": {"x": [{"bitwidth": 8, "block_size": -1.0, "is_symmetric": "False", "scale": 0.1, "offset": 0}]}})",
                           qm, bad, "enc.json"),
                       doctest::Contains("'block_size' must be a power of two"), Error);
  CHECK_THROWS_WITH_AS(quant::encodings_from_json(
                           R"({"param_encodings": {"W": [{"bitwidth": 4, "block_size": -1e300, "is_symmetric": "True", "scale": 0.1, "offset": 0}]}})",
                           qm, bad, "enc.json"),
                       doctest::Contains("'block_size' must be a power of two"), Error);

  // Size: 120 weights at 4 bits + 9 float32 scales.
  mp::Profile profile;
  profile.candidates = api::parse_candidates("W4b16A8,W4A8");
  const std::vector<mp::Group> groups = mp::build_groups(qm.quantizers(), qm.layers(), profile, profile.candidates);
  for (const mp::Group& g : groups) {
    if (g.weights.empty()) continue;
    CHECK(mp::group_size_bytes(g, api::parse_candidate("W4b16A8")) == doctest::Approx(60.0 + 36.0));
    CHECK(mp::group_size_bytes(g, api::parse_candidate("W4A8")) == doctest::Approx(60.0));
    CHECK(mp::group_bops(g, api::parse_candidate("W4b16A8")) == mp::group_bops(g, api::parse_candidate("W4A8")));
  }
}

}  // namespace qm

namespace qm {

TEST_CASE("quant/output-aware: the clip minimises the layer's output error over its input rows") {
  // One channel of K = 8 weights; inputs never excite column 7, where the weight has an outlier.
  const std::vector<float> w = {0.30f, -0.25f, 0.20f, 0.10f, -0.05f, 0.15f, -0.30f, 4.0f};
  quant::LayerRows rows;
  rows.k = 8;
  const std::vector<float> noise = test::pseudo(8 * 32, 5, 1.0f);
  for (size_t r = 0; r < 32; ++r)
    for (size_t k = 0; k < 8; ++k) rows.data.push_back(k == 7 ? 0.0f : noise[r * 8 + k]);
  quant::BlockLayout layout;
  layout.axis = 1;
  layout.k = 8;
  const float s = quant::output_aware_scales(w.data(), layout, 0, 4, rows).at(0);
  // Oracle: the output error of each grid scale, in double, and its minimum.
  auto err = [&](double scale) {
    double e = 0;
    for (size_t r = 0; r < 32; ++r) {
      double acc = 0;
      for (size_t k = 0; k < 8; ++k) {
        const double q = std::min(7.0, std::max(-8.0, std::nearbyint(w[k] / scale)));
        acc += rows.data[r * 8 + k] * (w[k] - q * scale);
      }
      e += acc * acc;
    }
    return e;
  };
  // The documented grid: fractions 0.1 .. 1.0 of max|w|, then +-0.1 in steps of 0.02 around the best.
  double best = 1e300, best_f = 1;
  for (int k = 10; k >= 1; --k)
    if (err(k / 10.0 * 4.0 / 7.0) < best) best = err(k / 10.0 * 4.0 / 7.0), best_f = k / 10.0;
  for (int k = -5; k <= 5; ++k)
    if (best_f + k * 0.02 > 0) best = std::min(best, err((best_f + k * 0.02) * 4.0 / 7.0));
  CHECK(err(s) <= best * (1 + 1e-6) + 1e-12);
  // The weight's own error keeps the outlier in range; the output error lets it clip.
  const float s_weight = quant::weight_encoding([&] {
    Tensor t(DataType::Float, {1, 8});
    std::copy(w.begin(), w.end(), t.data<float>());
    return t;
  }(), 0, 4, quant::WeightRange::WeightMse).scale[0];
  CHECK(s < s_weight);
  CHECK(err(s) < err(s_weight));
}

TEST_CASE("quant/output-aware: blocked scales never do worse than the channel's on its rows") {
  // Two output channels of K = 64 in blocks of 16; ReLU-like (non-negative) inputs.
  const std::vector<float> w = test::pseudo(128, 9, 1.0f);
  quant::LayerRows rows;
  rows.k = 64;
  for (float v : test::pseudo(64 * 48, 10, 1.0f)) rows.data.push_back(std::fabs(v));
  quant::BlockLayout layout;
  layout.axis = 1;
  layout.outer = 2;
  layout.k = 64;
  const std::vector<float> pc = quant::output_aware_scales(w.data(), layout, 0, 4, rows);
  const std::vector<float> bl = quant::output_aware_scales(w.data(), layout, 16, 4, rows);
  REQUIRE(pc.size() == 2);
  REQUIRE(bl.size() == 8);
  auto err = [&](size_t c, const std::function<double(size_t)>& scale) {  // in double
    double e = 0;
    for (size_t r = 0; r < 48; ++r) {
      double acc = 0;
      for (size_t k = 0; k < 64; ++k) {
        const double s = scale(k), x = w[c * 64 + k];
        acc += rows.data[r * 64 + k] * (x - std::min(7.0, std::max(-8.0, std::nearbyint(x / s))) * s);
      }
      e += acc * acc;
    }
    return e;
  };
  for (size_t c = 0; c < 2; ++c) {
    CAPTURE(c);
    CHECK(err(c, [&](size_t k) { return bl[c * 4 + k / 16]; }) <= err(c, [&](size_t) { return pc[c]; }) * (1 + 1e-5));
  }
}

}  // namespace qm
