// Learned rounding (issue 15 item 2, quant/learned_rounding.h): against a brute-force oracle over
// every rounding of a small layer, the integers' form, the held-out guard, the simulation and
// export using the learned integers, and the encodings JSON round trip. The export is checked
// against ONNX Runtime in tests/cli/quantize.test.mjs.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <memory>
#include <string>
#include <vector>

#include "api/options.h"
#include "api/quantize.h"
#include "api/workspace.h"
#include "core/error.h"
#include "graph/executor.h"
#include "graph/plan.h"
#include "quant/calibration.h"
#include "quant/encodings_json.h"
#include "quant/export_qdq.h"
#include "quant/learned_rounding.h"
#include "quant/quant_model.h"
#include "quant/simulator.h"
#include "test_util.h"

namespace qm {
namespace {

// Output error sum_r (x_r . (w - s q))^2 in double, over rows [first, R) step `step`.
double out_err(const std::vector<float>& x, size_t K, const std::vector<float>& w, const std::vector<double>& q, double s,
               size_t first = 0, size_t step = 1) {
  double e = 0;
  for (size_t r = first; r < x.size() / K; r += step) {
    double acc = 0;
    for (size_t k = 0; k < K; ++k) acc += x[r * K + k] * (w[k] - q[k] * s);
    e += acc * acc;
  }
  return e;
}

}  // namespace

TEST_CASE("quant/learned rounding: lowers the output error towards the best rounding, found by brute force") {
  // One channel of K = 10 weights at 3 bits, inputs correlated across k (so the best rounding
  // is not the nearest one), 240 rows (60 held out).
  const size_t K = 10, R = 240;
  const std::vector<float> w = test::pseudo(K, 21, 1.0f);
  const std::vector<float> base = test::pseudo(R, 22, 1.0f), noise = test::pseudo(R * K, 23, 0.3f);
  quant::LayerRows rows;
  rows.k = static_cast<int64_t>(K);
  for (size_t r = 0; r < R; ++r)
    for (size_t k = 0; k < K; ++k) rows.data.push_back(base[r] + noise[r * K + k]);
  quant::BlockLayout layout;
  layout.axis = 1;
  layout.k = static_cast<int64_t>(K);
  float amax = 0;
  for (float v : w) amax = std::max(amax, std::fabs(v));
  const float s = amax / 3.0f;  // 3 bits: [-4, 3]; no weight clamps except possibly the max
  quant::LearnedRoundingStats st;
  const std::vector<int8_t> levels = quant::learned_rounding(w.data(), layout, 0, 3, {s}, rows, {}, &st);

  // Oracle: every rounding (floor or floor + 1 of each weight, clamped), in double.
  std::vector<double> nearest(K), best(K), q(K);
  for (size_t k = 0; k < K; ++k) nearest[k] = std::min(3.0, std::max(-4.0, std::nearbyint(static_cast<double>(w[k] / s))));
  double best_err = 1e300;
  for (unsigned mask = 0; mask < (1u << K); ++mask) {
    for (size_t k = 0; k < K; ++k)
      q[k] = std::min(3.0, std::max(-4.0, std::floor(static_cast<double>(w[k] / s)) + ((mask >> k) & 1u)));
    const double e = out_err(rows.data, K, w, q, s);
    if (e < best_err) best_err = e, best = q;
  }
  const double near_err = out_err(rows.data, K, w, nearest, s);
  REQUIRE(best_err < 0.8 * near_err);  // the case is one where rounding matters
  REQUIRE(levels.size() == K);
  std::vector<double> got(levels.begin(), levels.end());
  for (size_t k = 0; k < K; ++k) {
    CAPTURE(k);
    const double f = std::floor(static_cast<double>(w[k] / s));
    CHECK((got[k] == std::min(3.0, f) || got[k] == std::min(3.0, f + 1)));  // floor or ceil only
  }
  const double learned_err = out_err(rows.data, K, w, got, s);
  CAPTURE(near_err);
  CAPTURE(learned_err);
  CAPTURE(best_err);
  CHECK(learned_err < near_err);
  // Most of the way from nearest to the optimum.
  CHECK(learned_err - best_err <= 0.25 * (near_err - best_err));
  CHECK(st.kept);
  CHECK(st.flipped > 0);
  // Held-out rows are every 4th row; the guard compared them.
  CHECK(st.learned_heldout == doctest::Approx(out_err(rows.data, K, w, got, s, 3, 4)).epsilon(1e-3));
  CHECK(st.nearest_heldout == doctest::Approx(out_err(rows.data, K, w, nearest, s, 3, 4)).epsilon(1e-3));
}

TEST_CASE("quant/learned rounding: keeps round-to-nearest when the held-out rows do not improve") {
  // K = 64 weights and only 16 rows (4 held out): any rounding fits 12 rows, nothing generalises.
  const size_t K = 64, R = 16;
  const std::vector<float> w = test::pseudo(K, 31, 1.0f);
  quant::LayerRows rows;
  rows.k = static_cast<int64_t>(K);
  rows.data = test::pseudo(R * K, 32, 1.0f);
  quant::BlockLayout layout;
  layout.axis = 1;
  layout.k = static_cast<int64_t>(K);
  float amax = 0;
  for (float v : w) amax = std::max(amax, std::fabs(v));
  quant::LearnedRoundingStats st;
  const std::vector<int8_t> levels = quant::learned_rounding(w.data(), layout, 0, 4, {amax / 7.0f}, rows, {}, &st);
  CHECK(st.learned_train < st.nearest_train);  // it did fit the training rows
  if (st.learned_heldout >= st.nearest_heldout) {
    CHECK(levels.empty());
    CHECK_FALSE(st.kept);
  } else {
    CHECK(levels.size() == K);
  }
  // Rows that do not match the weight are an error, not a crash.
  quant::LayerRows bad;
  bad.k = 3;
  bad.data.assign(6, 1.0f);
  CHECK_THROWS_AS(quant::learned_rounding(w.data(), layout, 0, 4, {1.0f}, bad), Error);
  CHECK_THROWS_AS(quant::learned_rounding(w.data(), layout, 0, 4, {1.0f, 2.0f}, rows), Error);
}

namespace {

// x[8, 48] -> Gemm(W[6, 48], transB=1) -> y, calibrated with learned rounding on 24 samples of 8
// correlated rows.
struct LearnedGemm {
  test::ModelBuilder b{13};
  std::unique_ptr<graph::Plan> plan;
  std::vector<std::vector<Tensor>> samples;
  LearnedGemm() {
    b.input("x", {8, 48});
    b.floats("W", {6, 48}, test::pseudo(6 * 48, 41, 1.0f));
    b.node("Gemm", {"x", "W"}, {"y"}, "fc").i("transB", 1);
    b.output("y");
    b.build();
    plan = std::make_unique<graph::Plan>(b.graph());
    const std::vector<float> base = test::pseudo(24 * 8 * 4, 42, 1.0f), noise = test::pseudo(24 * 8 * 48, 43, 0.3f);
    for (size_t n = 0; n < 24; ++n) {
      Tensor x(DataType::Float, {8, 48});
      for (size_t i = 0; i < 8 * 48; ++i) x.data<float>()[i] = std::fabs(base[(n * 8 + i / 48) * 4 + i % 48 / 12] + noise[n * 8 * 48 + i]);
      samples.push_back({x});
    }
    model = std::make_unique<quant::QuantModel>(*plan);
    graph::Executor exec(*plan);
    quant::CalibrationOptions opt;
    opt.weight_rounding = quant::WeightRounding::Learned;
    encodings = std::make_unique<quant::Encodings>(quant::calibrate(*model, exec, samples, opt));
  }
  std::unique_ptr<quant::QuantModel> model;
  std::unique_ptr<quant::Encodings> encodings;
};

}  // namespace

TEST_CASE("quant/learned rounding: the simulation, the export and the encodings JSON use the learned integers") {
  LearnedGemm m;
  quant::QuantModel& model = *m.model;
  quant::Encodings& enc = *m.encodings;
  const int wq = model.layers()[0].weight_quantizer;
  const Tensor& w = *m.plan->constant(model.quantizer(wq).value);
  for (int block : {0, 16}) {
    CAPTURE(block);
    const quant::Encoding& e = enc.get(wq, 4, block);
    REQUIRE(e.levels.size() == 6 * 48);
    // Differs from round-to-nearest somewhere, and the export stores exactly these integers.
    const std::vector<int32_t> stored = quant::quantize_weight_values(w, e);
    quant::Encoding plain = e;
    plain.levels.clear();
    const std::vector<int32_t> nearest = quant::quantize_weight_values(w, plain);
    size_t differ = 0;
    for (size_t i = 0; i < stored.size(); ++i) {
      CHECK(stored[i] == e.levels[i]);
      differ += stored[i] != nearest[i];
      CHECK(std::abs(stored[i] - nearest[i]) <= 1);
    }
    CHECK(differ > 0);
    // The simulation's weight is level * scale of the element's channel or block.
    const Tensor fq = quant::fake_quantize(w, e);
    for (size_t i = 0; i < stored.size(); ++i) {
      const size_t c = i / 48, k = i % 48;
      const float sc = block ? e.scale[c * 3 + k / 16] : e.scale[c];
      CHECK(fq.data<float>()[i] == static_cast<float>(stored[i]) * sc);
    }
    // The output error on the calibration inputs is lower than with round-to-nearest.
    const Tensor fq_plain = quant::fake_quantize(w, plain);
    double err_l = 0, err_n = 0;
    for (const auto& s : m.samples)
      for (size_t row = 0; row < 8; ++row)
      for (size_t c = 0; c < 6; ++c) {
        double al = 0, an = 0;
        for (size_t k = 0; k < 48; ++k) {
          const double x = s[0].data<float>()[row * 48 + k], wf = w.data<float>()[c * 48 + k];
          al += x * (wf - fq.data<float>()[c * 48 + k]);
          an += x * (wf - fq_plain.data<float>()[c * 48 + k]);
        }
        err_l += al * al;
        err_n += an * an;
      }
    CHECK(err_l < err_n);

    // The JSON carries the integers: reading it back gives the same simulation.
    quant::QuantConfig cfg = model.homogeneous(4, 8, block);
    const std::string json = quant::encodings_to_json(model, enc, cfg);
    CHECK(json.find("\"learned_levels\"") != std::string::npos);
    quant::Encodings back(model);
    const quant::QuantConfig cfg2 = quant::encodings_from_json(json, model, back);
    const quant::Encoding& e2 = back.get(wq, 4, block);
    CHECK(e2.levels == e.levels);
    CHECK(cfg2.block_of(static_cast<size_t>(wq)) == block);
  }
}

TEST_CASE("quant/learned rounding: hostile learned_levels in an encodings JSON get one clear error") {
  LearnedGemm m;
  quant::QuantModel& model = *m.model;
  quant::Encodings& enc = *m.encodings;
  const std::string json = quant::encodings_to_json(model, enc, model.homogeneous(4, 8));
  const size_t at = json.find("\"levels\": \"");
  REQUIRE(at != std::string::npos);
  const size_t start = at + 11;
  auto fails_with = [&](std::string text, const std::string& needle) {
    quant::Encodings back(model);
    try {
      quant::encodings_from_json(text, model, back, "e.json");
      FAIL("accepted");
    } catch (const Error& e) {
      CAPTURE(e.what());
      CHECK(std::string(e.what()).find(needle) != std::string::npos);
      CHECK(std::string(e.what()).find("e.json") != std::string::npos);
    }
  };
  std::string bad = json;
  bad[start + 5] = 'z';
  fails_with(bad, "character 5");
  bad = json;
  bad.erase(start, 1);  // one digit short
  fails_with(bad, "288 hex digits");
  bad = json;
  bad.replace(json.find("\"bitwidth\": 4", json.find("learned_levels")), 13, "\"bitwidth\": 8");
  fails_with(bad, "bitwidth");
  bad = json;
  bad.replace(json.find("\"W\": {", json.find("learned_levels")), 6, "\"y\": {");
  fails_with(bad, "not a weight");
}

}  // namespace qm

namespace qm {

TEST_CASE("quant/output-aware + learned rounding: a depthwise Conv is one layer per group, each on its own input channel") {
  // 3 groups (depthwise), K = 4 weights per channel; rows hold all 3 channels' patches (k = 12).
  // Channel 1's inputs never excite its weight 3, an outlier: only its own columns can tell.
  const size_t G = 3, K = 4, R = 64;
  std::vector<float> w = test::pseudo(G * K, 51, 1.0f);
  w[1 * K + 3] = 3.0f;
  quant::LayerRows rows;
  rows.k = static_cast<int64_t>(G * K);
  rows.groups = static_cast<int64_t>(G);
  const std::vector<float> x = test::pseudo(R * G * K, 52, 2.0f);
  for (size_t r = 0; r < R; ++r)
    for (size_t c = 0; c < G * K; ++c) rows.data.push_back(c == 1 * K + 3 ? 0.0f : x[r * G * K + c]);
  quant::BlockLayout layout;
  layout.axis = 1;
  layout.outer = static_cast<int64_t>(G);
  layout.k = static_cast<int64_t>(K);
  const std::vector<float> s = quant::output_aware_scales(w.data(), layout, 0, 4, rows);
  REQUIRE(s.size() == G);
  // Oracle, in double: channel g's output error over ITS columns at a scale; no grid scale beats the choice.
  auto err = [&](size_t g, double scale, const std::vector<double>* q = nullptr) {
    double e = 0;
    for (size_t r = 0; r < R; ++r) {
      double acc = 0;
      for (size_t k = 0; k < K; ++k) {
        const double wk = w[g * K + k];
        const double qk = q ? (*q)[k] : std::min(7.0, std::max(-8.0, std::nearbyint(wk / scale)));
        acc += rows.data[r * G * K + g * K + k] * (wk - qk * scale);
      }
      e += acc * acc;
    }
    return e;
  };
  for (size_t g = 0; g < G; ++g) {
    CAPTURE(g);
    double amax = 0;
    for (size_t k = 0; k < K; ++k) amax = std::max(amax, std::fabs(static_cast<double>(w[g * K + k])));
    for (int f = 1; f <= 10; ++f) CHECK(err(g, s[g]) <= err(g, f / 10.0 * amax / 7.0) * (1 + 1e-6) + 1e-12);
  }
  // Channel 1 clips its unexcited outlier: its scale is below max|w| / 7.
  CHECK(s[1] < 3.0f / 7.0f * 0.95f);

  // Learned rounding per group: floor or ceil of each weight, never worse than nearest per channel
  // on the rows (the guard holds out a quarter of them, so compare on all rows loosely).
  quant::LearnedRoundingStats st;
  const std::vector<int8_t> lv = quant::learned_rounding(w.data(), layout, 0, 4, s, rows, {}, &st);
  if (!lv.empty()) {
    REQUIRE(lv.size() == G * K);
    for (size_t i = 0; i < G * K; ++i) {
      const double t = std::min(7.0, std::max(-8.0, static_cast<double>(w[i] / s[i / K])));
      CHECK((lv[i] == std::floor(t) || lv[i] == std::ceil(t)));
    }
    CHECK(st.learned_train <= st.nearest_train);
    CHECK(st.learned_heldout <= st.nearest_heldout);
  }
  // Rows that do not split into the groups are an error.
  quant::LayerRows bad = rows;
  bad.groups = 2;
  CHECK_THROWS_AS(quant::output_aware_scales(w.data(), layout, 0, 4, bad), Error);
}

}  // namespace qm

namespace qm {

TEST_CASE("api/quantize: input rows are kept only when a weight may get <= 4 bits, and a later 4-bit run recalibrates") {
  // The oracle is a fresh workspace: W4A8 after W8A8 on one workspace must give its numbers
  // (output-aware ranges need the rows W8A8 did not keep).
  LearnedGemm m;
  auto run = [&](api::Workspace& ws, const char* bits) {
    api::QuantizeOptions o;
    o.bits = api::parse_candidate(bits);
    o.model_sha256 = "x";
    return api::quantize(ws, o);
  };
  auto fresh = [&] {
    auto ws = std::make_unique<api::Workspace>(std::make_unique<api::Session>(m.b.model()));
    ws->set_samples(m.samples);
    return ws;
  };
  auto reused_calibration = [](const api::QuantizeResult& r) {
    return r.report_json.find("\"reused\": [\"calibration\"") != std::string::npos;
  };
  auto ws = fresh();
  const api::QuantizeResult w8 = run(*ws, "W8A8");
  const api::QuantizeResult w4 = run(*ws, "W4A8");
  CHECK_FALSE(reused_calibration(w4));  // W8A8 kept no rows: calibrated again
  auto ws2 = fresh();
  const api::QuantizeResult w4_fresh = run(*ws2, "W4A8");
  CHECK(w4.sqnr_db == w4_fresh.sqnr_db);
  CHECK(w4.model_bytes == w4_fresh.model_bytes);
  // Rows kept for 4 bits serve 8 bits: no new calibration, and W8A8's numbers.
  const api::QuantizeResult w8_after = run(*ws2, "W8A8");
  CHECK(reused_calibration(w8_after));
  CHECK(w8_after.sqnr_db == w8.sqnr_db);
}

}  // namespace qm
