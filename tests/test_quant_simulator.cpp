// Calibration, simulation, metric and encodings JSON (spec amp.md sections 1-3). Oracles: a
// closed-form quantized Gemm computed here in double; SQNR by hand; the cached/resumed path must
// equal a full simulated pass; calibration memory must not grow with the sample count.
#include <doctest/doctest.h>

#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "core/error.h"
#include "graph/executor.h"
#include "graph/plan.h"
#include "quant/calibration.h"
#include "quant/encodings_json.h"
#include "quant/metrics.h"
#include "quant/quant_model.h"
#include "quant/simulator.h"
#include "quant_reference.h"
#include "test_util.h"

namespace qm::quant {
namespace {

// float32 accumulation order differs from the double oracle.
constexpr double kFloatTol = 1e-5;

using test::fq;
using test::pseudo;

Tensor tensor(Shape s, const std::vector<float>& v) {
  Tensor t(DataType::Float, s);
  std::copy(v.begin(), v.end(), t.data<float>());
  return t;
}


// x[1, 8] -> Gemm(W[4, 8], transB=1, bias) -> y: one layer, quantizers x, W, y.
struct GemmModel {
  test::ModelBuilder b{13};
  std::vector<float> w = pseudo(32, 1, 2.0f), bias = {0.1f, -0.2f, 0.3f, 0.0f};
  std::unique_ptr<graph::Plan> plan;
  GemmModel() {
    b.input("x", {1, 8});
    b.floats("W", {4, 8}, w);
    b.floats("B", {4}, bias);
    b.node("Gemm", {"x", "W", "B"}, {"y"}, "fc").i("transB", 1);
    b.output("y");
    b.build();
    plan = std::make_unique<graph::Plan>(b.graph());
  }
};

// A small conv net: conv+relu, conv, add (residual), global pool, gemm.
struct ConvModel {
  test::ModelBuilder b{13};
  std::unique_ptr<graph::Plan> plan;
  ConvModel() {
    b.input("x", {1, 3, 8, 8});
    b.floats("w1", {4, 3, 3, 3}, pseudo(108, 2, 1.0f));
    b.floats("w2", {4, 4, 3, 3}, pseudo(144, 3, 0.5f));
    b.floats("g", {5, 4}, pseudo(20, 4, 1.0f));
    b.node("Conv", {"x", "w1"}, {"c1"}, "conv1").ints("pads", {1, 1, 1, 1});
    b.node("Relu", {"c1"}, {"r1"}, "relu1");
    b.node("Conv", {"r1", "w2"}, {"c2"}, "conv2").ints("pads", {1, 1, 1, 1});
    b.node("Add", {"c2", "r1"}, {"a"}, "add");
    b.node("GlobalAveragePool", {"a"}, {"p"}, "gap");
    b.node("Flatten", {"p"}, {"f"}, "flat");
    b.node("Gemm", {"f", "g"}, {"y"}, "fc").i("transB", 1);
    b.output("y");
    b.build();
    plan = std::make_unique<graph::Plan>(b.graph());
  }
};

std::vector<std::vector<Tensor>> samples(size_t n, Shape s, float scale) {
  std::vector<std::vector<Tensor>> out;
  int64_t numel = 1;
  for (int64_t d : s) numel *= d;
  for (size_t i = 0; i < n; ++i)
    out.push_back({tensor(s, pseudo(static_cast<size_t>(numel), 100 + static_cast<uint32_t>(i), scale * (1.0f + 0.05f * i)))});
  return out;
}

}  // namespace

TEST_CASE("quant/simulator: bias correction is the mean output error of the quantized weights, on the calibration inputs") {
  GemmModel m;
  QuantModel qm(*m.plan);
  REQUIRE(qm.layers().size() == 1);
  CHECK(qm.layers()[0].bias != graph::kNoValue);
  graph::Executor ex(*m.plan);
  const auto cal = samples(6, {1, 8}, 4.0f);
  const int qw = qm.find_tensor("W");
  for (const bool on : {true, false}) {
    CAPTURE(on);
    CalibrationOptions opt;
    opt.bias_correction = on;
    Calibrator c(qm, ex, opt);
    for (const auto& s : cal) c.add_sample(s);
    Encodings enc = c.finish();
    CHECK(enc.get(qw, 8).bias_shift.empty());  // 8 bits: none
    const Encoding& e4 = enc.get(qw, 4);
    if (!on) {
      CHECK(e4.bias_shift.empty());
      continue;
    }
    // Closed form: (1/S) sum over samples of sum_k x[k] (w[o, k] - fq(w[o, k])).
    REQUIRE(e4.bias_shift.size() == 4);
    size_t nonzero = 0;
    for (size_t o = 0; o < 4; ++o) {
      double want = 0;
      for (const auto& s : cal)
        for (size_t k = 0; k < 8; ++k) want += s[0].data<float>()[k] * (m.w[o * 8 + k] - fq(m.w[o * 8 + k], e4, o));
      want /= static_cast<double>(cal.size());
      CHECK(e4.bias_shift[o] == doctest::Approx(want).epsilon(1e-5).scale(1e-3));
      nonzero += std::fabs(want) > 1e-3;
    }
    CHECK(nonzero >= 2);  // the check above is not 0 == 0

    // The encodings JSON carries the shifts exactly; hostile ones get one clear error.
    const std::string json = encodings_to_json(qm, enc, qm.homogeneous(4, 8));
    REQUIRE(json.find("\"bias_corrections\"") != std::string::npos);
    Encodings back(qm);
    encodings_from_json(json, qm, back, "e.json");
    CHECK(back.get(qw, 4).bias_shift == e4.bias_shift);
    auto fails_with = [&](std::string text, const std::string& needle) {
      Encodings b2(qm);
      try {
        encodings_from_json(text, qm, b2, "e.json");
        FAIL("accepted");
      } catch (const Error& e) {
        CAPTURE(e.what());
        CHECK(std::string(e.what()).find(needle) != std::string::npos);
        CHECK(std::string(e.what()).find("e.json") != std::string::npos);
      }
    };
    const size_t sec = json.find("\"bias_corrections\"");
    const size_t open = json.find('[', sec), close = json.find(']', sec);
    std::string bad = json;
    bad.replace(open, close - open + 1, "[1, 2, 3]");
    fails_with(bad, "4 numbers");
    bad = json;
    bad.replace(open, close - open + 1, "[1, \"x\", 3, 4]");
    fails_with(bad, "entry 1");
    bad = json;
    bad.replace(open, close - open + 1, "[1, 1e300, 3, 4]");
    fails_with(bad, "entry 1");
    bad = json;
    bad.replace(json.find("\"bitwidth\": 4", sec), 13, "\"bitwidth\": 8");
    fails_with(bad, "bitwidth");
    bad = json;
    bad.replace(json.find("\"W\": {", sec), 6, "\"y\": {");
    fails_with(bad, "not a weight");
  }
}

TEST_CASE("quant/simulator: bias correction removes the mean output error of 4-bit Conv (strided, padded, depthwise) and MatMul + Add") {
  // Oracle: the executor's own float layer. With only the weight quantized (activations off), the
  // mean of y_fp - y_q per output channel over every sample and position is what the correction
  // must add; with it added, that mean is ~0.
  for (int kind = 0; kind < 3; ++kind) {  // 0: Conv, stride 2, uneven pads; 1: depthwise; 2: MatMul + Add
    CAPTURE(kind);
    test::ModelBuilder b{13};
    Shape in;
    int64_t channels = 0;
    if (kind == 0) {
      in = {1, 3, 9, 9};
      channels = 4;
      b.input("x", {1, 3, 9, 9});
      b.floats("W", {4, 3, 3, 3}, pseudo(108, 7, 1.0f));
      b.floats("B", {4}, {0.1f, -0.2f, 0.3f, 0.0f});
      b.node("Conv", {"x", "W", "B"}, {"y"}, "conv").ints("pads", {1, 0, 2, 1}).ints("strides", {2, 2});
    } else if (kind == 1) {
      in = {1, 3, 6, 6};
      channels = 3;
      b.input("x", {1, 3, 6, 6});
      b.floats("W", {3, 1, 3, 3}, pseudo(27, 8, 1.0f));
      b.floats("B", {3}, {0.1f, -0.2f, 0.3f});
      b.node("Conv", {"x", "W", "B"}, {"y"}, "dw").ints("pads", {1, 1, 1, 1}).i("group", 3);
    } else {
      in = {1, 5, 8};
      channels = 4;
      b.input("x", {1, 5, 8});
      b.floats("W", {8, 4}, pseudo(32, 9, 1.0f));
      b.floats("B", {4}, {0.1f, -0.2f, 0.3f, 0.0f});
      b.node("MatMul", {"x", "W"}, {"m"}, "mm");
      b.node("Add", {"m", "B"}, {"y"}, "bias");
    }
    b.output("y");
    b.build();
    graph::Plan plan(b.graph());
    QuantModel qm(plan);
    REQUIRE(qm.layers().size() == 1);
    CHECK(qm.layers()[0].bias != graph::kNoValue);
    graph::Executor ex(plan);
    // Inputs with a mean far from 0 (as after a ReLU), where the weights' error has a mean effect.
    auto cal = samples(5, in, 2.0f);
    for (auto& s : cal)
      for (int64_t i = 0; i < s[0].numel(); ++i) s[0].data<float>()[i] += 1.0f;
    const int qw = qm.find_tensor("W");
    QuantConfig c = qm.off();
    c.bits[static_cast<size_t>(qw)] = 4;
    auto mean_error = [&](Encodings& enc) {  // per output channel: mean of y_fp - y_q
      Simulator sim(qm, enc, ex);
      std::vector<double> sum(static_cast<size_t>(channels), 0.0);
      int64_t per_channel = 0;
      for (const auto& s : cal) {
        const Tensor fp = ex.run(s)[0], q = sim.run(c, s)[0];
        const int64_t n = fp.numel();
        per_channel += n / channels;
        for (int64_t i = 0; i < n; ++i) {
          const int64_t ch = kind == 2 ? i % channels : (i / (fp.shape()[2] * fp.shape()[3])) % channels;
          sum[static_cast<size_t>(ch)] += static_cast<double>(fp.data<float>()[i]) - q.data<float>()[i];
        }
      }
      for (double& v : sum) v /= static_cast<double>(per_channel);
      return sum;
    };
    CalibrationOptions off;
    off.bias_correction = false;
    Calibrator c_off(qm, ex, off), c_on(qm, ex, {});
    for (const auto& s : cal) {
      c_off.add_sample(s);
      c_on.add_sample(s);
    }
    Encodings enc_off = c_off.finish(), enc_on = c_on.finish();
    const std::vector<double> err = mean_error(enc_off), left = mean_error(enc_on);
    const std::vector<float>& shift = enc_on.get(qw, 4).bias_shift;
    REQUIRE(shift.size() == static_cast<size_t>(channels));
    double largest = 0;
    for (int64_t ch = 0; ch < channels; ++ch) {
      CAPTURE(ch);
      CHECK(shift[static_cast<size_t>(ch)] == doctest::Approx(err[static_cast<size_t>(ch)]).epsilon(1e-4).scale(1e-2));
      CHECK(std::fabs(left[static_cast<size_t>(ch)]) < 1e-5);
      largest = std::max(largest, std::fabs(err[static_cast<size_t>(ch)]));
    }
    CHECK(largest > 1e-3);  // there was an error to remove
  }
}

TEST_CASE("quant/simulator: a quantized Gemm equals the closed form, at W8A8 and W4A16") {
  GemmModel m;
  QuantModel qm(*m.plan);
  REQUIRE(qm.quantizers().size() == 3);
  graph::Executor ex(*m.plan);
  const auto cal = samples(4, {1, 8}, 4.0f);
  Encodings enc = calibrate(qm, ex, cal);
  Simulator sim(qm, enc, ex);
  const int qx = qm.find_tensor("x"), qw = qm.find_tensor("W"), qy = qm.find_tensor("y");
  const std::pair<int, int> configs[] = {{8, 8}, {4, 16}, {2, 3}};
  for (const auto& wa : configs) {
    const int wb = wa.first, ab = wa.second;
    CAPTURE(wb);
    CAPTURE(ab);
    const QuantConfig c = qm.homogeneous(wb, ab);
    const Encoding& ex_ = enc.get(qx, ab);
    const Encoding& ew = enc.get(qw, wb);
    const Encoding& ey = enc.get(qy, ab);
    size_t off_grid = 0;
    for (size_t s = 0; s < cal.size(); ++s) {
      const std::vector<Tensor> out = sim.run(c, cal[s]);
      const float* x = cal[s][0].data<float>();
      for (size_t o = 0; o < 4; ++o) {
        // At <= 4 bits the layer's bias is corrected (checked against its closed form below).
        double acc = m.bias[o] + (ew.bias_shift.empty() ? 0.0 : ew.bias_shift[o]);
        for (size_t k = 0; k < 8; ++k) acc += fq(x[k], ex_, 0) * fq(m.w[o * 8 + k], ew, o);
        const double want = fq(acc, ey, 0);
        const double d = std::fabs(out[0].data<float>()[o] - want);
        // Float accumulation can put a value on the other side of a rounding boundary: one step.
        CHECK(d <= ey.scale[0] * 1.0001 + kFloatTol);
        if (d > kFloatTol) ++off_grid;
      }
    }
    CHECK(off_grid <= 1);
  }
  // Off = the FP model exactly, and the executor is left without overrides.
  const std::vector<Tensor> fp = ex.run(cal[2]);
  const std::vector<Tensor> off = sim.run(qm.off(), cal[2]);
  for (int64_t i = 0; i < fp[0].numel(); ++i) CHECK(fp[0].data<float>()[i] == off[0].data<float>()[i]);
  CHECK(ex.constant_override(qm.quantizer(qw).value) == nullptr);
}

TEST_CASE("graph/executor: constant overrides replace a weight and rebuild the packed cache") {
  GemmModel m;
  graph::Executor ex(*m.plan);
  const std::vector<Tensor> in = {tensor({1, 8}, pseudo(8, 9, 1.0f))};
  const std::vector<Tensor> a = ex.run(in);
  const graph::ValueId w = *m.b.graph().find("W");
  std::vector<float> w2 = m.w;
  for (float& f : w2) f *= 2.0f;
  ex.set_constant_override(w, tensor({4, 8}, w2));
  const std::vector<Tensor> b = ex.run(in);
  for (size_t o = 0; o < 4; ++o)
    CHECK(b[0].data<float>()[o] - m.bias[o] == doctest::Approx(2.0 * (a[0].data<float>()[o] - m.bias[o])).epsilon(1e-5));
  ex.clear_constant_overrides();
  const std::vector<Tensor> c = ex.run(in);
  for (size_t o = 0; o < 4; ++o) CHECK(c[0].data<float>()[o] == a[0].data<float>()[o]);
  CHECK_THROWS_AS(ex.set_constant_override(w, tensor({8, 4}, w2)), Error);
  CHECK_THROWS_AS(ex.set_constant_override(*m.b.graph().find("x"), tensor({1, 8}, w2)), Error);
}

TEST_CASE("quant/simulator: run_cached equals a full simulated pass, with and without checkpoints") {
  ConvModel m;
  QuantModel qm(*m.plan);
  graph::Executor ex(*m.plan);
  const auto cal = samples(3, {1, 3, 8, 8}, 2.0f);
  Encodings enc = calibrate(qm, ex, cal);
  Simulator sim(qm, enc, ex);
  for (size_t budget : {size_t{64} << 20, size_t{3000}, size_t{0}}) {
    CAPTURE(budget);
    const auto fp = sim.cache_fp(cal, budget);
    REQUIRE(fp.size() == 3);
    if (budget == 0) CHECK(sim.checkpoints() == std::vector<size_t>{0});
    CHECK(sim.cache_bytes() <= std::max<size_t>(budget, 3 * 3 * 64 * 4));
    std::vector<QuantConfig> configs;
    for (const Quantizer& q : qm.quantizers()) {
      QuantConfig c = qm.off();
      c.bits[static_cast<size_t>(q.id)] = 4;
      configs.push_back(c);
    }
    configs.push_back(qm.homogeneous(8, 8));
    configs.push_back(qm.off());
    for (size_t ci = 0; ci < configs.size(); ++ci) {
      CAPTURE(ci);
      for (size_t s = 0; s < cal.size(); ++s) {
        const std::vector<Tensor> full = sim.run(configs[ci], cal[s]);
        const std::vector<Tensor> part = sim.run_cached(configs[ci], s);
        REQUIRE(full[0].numel() == part[0].numel());
        for (int64_t i = 0; i < full[0].numel(); ++i) CHECK(full[0].data<float>()[i] == part[0].data<float>()[i]);
      }
    }
  }
  CHECK_THROWS_AS(sim.run_cached(qm.off(), 7), Error);
  // A weight cache too small for one weight still gives the same simulation.
  sim.clear_weight_cache();
  sim.set_weight_cache_budget(1);
  const std::vector<Tensor> small = sim.run(qm.homogeneous(4, 8), cal[0]);
  CHECK(sim.weight_cache_bytes() <= 144 * sizeof(float));
  sim.set_weight_cache_budget(size_t{1} << 30);
  ex.clear_caches();  // no packed weights: every fake weight is made
  const std::vector<Tensor> big = sim.run(qm.homogeneous(4, 8), cal[0]);
  CHECK(sim.weight_cache_bytes() == (108 + 144 + 20) * sizeof(float));
  for (int64_t i = 0; i < big[0].numel(); ++i) CHECK(big[0].data<float>()[i] == small[0].data<float>()[i]);
}

TEST_CASE("graph/executor: a lazy override is made only where a step's packed weights do not hold it") {
  ConvModel m;
  graph::Executor ex(*m.plan);
  const auto in = samples(2, {1, 3, 8, 8}, 1.0f);
  const graph::ValueId w1 = *m.b.graph().find("w1");
  const Tensor& orig = *m.plan->constant(w1);
  Tensor doubled(DataType::Float, orig.shape());
  for (int64_t i = 0; i < orig.numel(); ++i) doubled.data<float>()[i] = 2.0f * orig.data<float>()[i];
  // Oracle: the eager override (the tensor is always read).
  graph::Executor eager(*m.plan);
  eager.set_constant_override(w1, doubled);
  int made = 0;
  const uint64_t key = graph::Executor::reserve_override_keys(2);
  ex.set_constant_override(w1, key, [&] {
    ++made;
    return doubled;
  });
  for (int round = 0; round < 3; ++round)
    for (const auto& x : in) {
      const std::vector<Tensor> got = ex.run(x), want = eager.run(x);
      for (int64_t i = 0; i < want[0].numel(); ++i) CHECK(got[0].data<float>()[i] == want[0].data<float>()[i]);
    }
  CHECK(made == 1);  // the first run packed it; later runs read the packed copy
  ex.set_constant_override(w1, key + 1, [&] {
    ++made;
    return doubled;
  });
  (void)ex.run(in[0]);
  CHECK(made == 2);  // another key: made and packed again
  ex.clear_constant_overrides();
  const std::vector<Tensor> fp = ex.run(in[0]), ref = graph::Executor(*m.plan).run(in[0]);
  for (int64_t i = 0; i < ref[0].numel(); ++i) CHECK(fp[0].data<float>()[i] == ref[0].data<float>()[i]);
  CHECK_THROWS_AS(ex.set_constant_override(w1, 0, [&] { return doubled; }), Error);
  ex.set_constant_override(w1, key + 2, [&] { return Tensor(DataType::Float, {2, 2}); });
  CHECK_THROWS_AS(ex.run(in[0]), Error);  // a source of the wrong shape is named when made
}

TEST_CASE("quant/simulator: run_path equals a full simulated pass of every config, kept or not") {
  ConvModel m;
  QuantModel qm(*m.plan);
  graph::Executor ex(*m.plan);
  const auto cal = samples(2, {1, 3, 8, 8}, 2.0f);
  Encodings enc = calibrate(qm, ex, cal);
  Simulator sim(qm, enc, ex);
  // A front-like path: everything at 8 bits, then one quantizer at a time to 4 bits (weights and
  // activations, early and late steps), then back up, then everything off; a repeated config too.
  std::vector<QuantConfig> path{qm.homogeneous(8, 8)};
  for (const Quantizer& q : qm.quantizers()) {
    path.push_back(path.back());
    path.back().bits[static_cast<size_t>(q.id)] = 4;
  }
  path.push_back(path.back());
  path.push_back(qm.homogeneous(8, 16));
  path.push_back(qm.off());
  for (size_t budget : {size_t{64} << 20, size_t{0}}) {
    CAPTURE(budget);
    for (size_t s = 0; s < cal.size(); ++s) {
      std::vector<size_t> resumed;
      size_t seen = 0;
      const bool done = sim.run_path(
          path, cal[s],
          [&](size_t k, std::vector<Tensor>&& out) {
            CAPTURE(k);
            CHECK(k == seen++);
            const std::vector<Tensor> full = sim.run(path[k], cal[s]);
            REQUIRE(full[0].numel() == out[0].numel());
            for (int64_t i = 0; i < full[0].numel(); ++i) CHECK(full[0].data<float>()[i] == out[0].data<float>()[i]);
            return true;
          },
          budget, &resumed);
      CHECK(done);
      CHECK(seen == path.size());
      REQUIRE(resumed.size() == path.size());
      CHECK(resumed[0] == 0);
      if (budget == 0) {
        for (size_t r : resumed) CHECK(r == 0);  // nothing kept: every config in full
      } else {
        // One quantizer changed: resumed at its first affected step; none changed: nothing run.
        for (size_t k = 1; k <= qm.quantizers().size(); ++k)
          CHECK(resumed[k] == qm.first_affected_step(static_cast<int>(k - 1)));
        CHECK(resumed[qm.quantizers().size() + 1] == m.plan->steps().size());
      }
    }
  }
  // on_config returning false stops the walk.
  size_t calls = 0;
  CHECK_FALSE(sim.run_path(path, cal[0], [&](size_t, std::vector<Tensor>&&) { return ++calls < 2; }));
  CHECK(calls == 2);
}

TEST_CASE("quant/calibration: memory stays flat from 4 to 64 samples; SQNR falls with bits") {
  ConvModel m;
  QuantModel qm(*m.plan);
  graph::Executor ex(*m.plan);
  CalibrationStats s4, s64;
  const auto few = samples(4, {1, 3, 8, 8}, 1.0f);
  const auto many = samples(64, {1, 3, 8, 8}, 1.0f);
  Encodings e4 = calibrate(qm, ex, few, {}, {}, &s4);
  Encodings e64 = calibrate(qm, ex, many, {}, {}, &s64);
  CHECK(s4.samples == 4);
  CHECK(s64.samples == 64);
  CHECK(s64.histogram_bytes == s4.histogram_bytes);
  CHECK(s64.peak_live_bytes == s4.peak_live_bytes);
  CHECK(s64.histogram_bytes <= qm.quantizers().size() * 2048 * sizeof(double));
  // Later samples are wider, so the 64-sample range of the input is wider.
  const int qx = qm.find_tensor("x");
  CHECK(e64.histogram(qx)->max() > e4.histogram(qx)->max());

  Simulator sim(qm, e64, ex);
  double prev = std::numeric_limits<double>::infinity();
  for (int bits : {16, 8, 4, 2}) {
    SqnrAccumulator acc;
    for (size_t i = 0; i < 8; ++i) acc.add(ex.run(many[i]), sim.run(qm.homogeneous(bits, bits), many[i]));
    CAPTURE(bits);
    CHECK(acc.sqnr_db() < prev);
    prev = acc.sqnr_db();
  }
  CHECK(prev < 20.0);
}

TEST_CASE("quant/metrics: SQNR closed form, multi-output averaging, top-1 agreement") {
  SqnrAccumulator acc;
  // Output 0: signal 1+4+9 = 14, noise 1 over two batches; output 1: signal 4, noise 1.
  acc.add({tensor({1, 3}, {1, 2, 3}), tensor({1}, {2})}, {tensor({1, 3}, {1, 2, 4}), tensor({1}, {1})});
  CHECK(acc.signal()[0] == 14.0);
  CHECK(acc.noise()[0] == 1.0);
  CHECK(acc.sqnr_db() == doctest::Approx(-10 * std::log10((1.0 / 14 + 1.0 / 4) / 2)));
  // Top-1 on the [1, 3] output: argmax 2 in both.
  CHECK(acc.top1_rows() == 1);
  CHECK(acc.top1_agreement() == 1.0);
  acc.add({tensor({1, 3}, {3, 2, 1}), tensor({1}, {0})}, {tensor({1, 3}, {3, 4, 1}), tensor({1}, {0})});
  CHECK(acc.top1_agreement() == 0.5);
  CHECK(acc.sqnr_db() == doctest::Approx(-10 * std::log10((5.0 / 28 + 1.0 / 4) / 2)));
  SqnrAccumulator exact;
  exact.add({tensor({2}, {1, 2})}, {tensor({2}, {1, 2})});
  CHECK(std::isinf(exact.sqnr_db()));
  CHECK(std::isnan(SqnrAccumulator().sqnr_db()));
  CHECK(sqnr_db({{tensor({1}, {10})}}, {{tensor({1}, {9})}}) == doctest::Approx(20.0));
  CHECK(db_to_nsr(nsr_to_db(0.125)) == doctest::Approx(0.125));
  CHECK_THROWS_AS(acc.add({tensor({1, 3}, {1, 2, 3})}, {}), Error);
}

TEST_CASE("quant/encodings_json: round trip, AIMET offsets, and bad files") {
  ConvModel m;
  QuantModel qm(*m.plan);
  graph::Executor ex(*m.plan);
  const auto cal = samples(2, {1, 3, 8, 8}, 1.0f);
  Encodings enc = calibrate(qm, ex, cal);
  QuantConfig c = qm.homogeneous(4, 8);
  c.bits[static_cast<size_t>(qm.find_tensor("x"))] = 16;
  c.bits[static_cast<size_t>(qm.find_tensor("w2"))] = 0;
  const std::string text = encodings_to_json(qm, enc, c);
  CHECK(text.find("\"activation_encodings\"") != std::string::npos);
  CHECK(text.find("\"is_symmetric\": \"True\"") != std::string::npos);

  Encodings back(qm);
  const QuantConfig c2 = encodings_from_json(text, qm, back, "e.json");
  CHECK(c2.bits == c.bits);
  for (const Quantizer& q : qm.quantizers()) {
    const int b = c.bits[static_cast<size_t>(q.id)];
    if (!b) continue;
    const Encoding& a = enc.get(q.id, b);
    const Encoding& r = back.get(q.id, b);
    CHECK(r.scale == a.scale);
    CHECK(r.zero_point == a.zero_point);
    CHECK(r.symmetric == a.symmetric);
    CHECK(r.axis == a.axis);
  }
  // The simulation from the file equals the one from the calibration.
  Simulator s1(qm, enc, ex), s2(qm, back, ex);
  const auto y1 = s1.run(c, cal[0]), y2 = s2.run(c2, cal[0]);
  for (int64_t i = 0; i < y1[0].numel(); ++i) CHECK(y1[0].data<float>()[i] == y2[0].data<float>()[i]);

  // AIMET's symmetric offset -2^(b-1), a bool is_symmetric, a single entry for all channels.
  Encodings a(qm);
  const QuantConfig ca = encodings_from_json(
      R"({"param_encodings": {"g": [{"bitwidth": 8, "is_symmetric": true, "offset": -128, "scale": 0.5}]}})", qm, a);
  CHECK(ca.bits[static_cast<size_t>(qm.find_tensor("g"))] == 8);
  {
    const Encoding& ge = a.get(qm.find_tensor("g"), 8);
    CHECK(ge.scale.size() == 5);
    for (float sc : ge.scale) CHECK(sc == 0.5f);
  }
  CHECK(a.get(qm.find_tensor("g"), 8).zero_point == std::vector<int32_t>(5, 0));

  const struct {
    const char* json;
    const char* error;
  } bad[] = {
      {R"({"activation_encodings": {"nope": [{"bitwidth": 8, "scale": 1, "offset": 0}]}})", "'nope' — no quantizer"},
      {R"({"activation_encodings": {"x": [{"bitwidth": 1, "scale": 1, "offset": 0}]}})", "bitwidth must be an integer in 2..16"},
      {R"({"activation_encodings": {"x": [{"bitwidth": 8, "scale": -1, "offset": 0}]}})", "scale must be positive"},
      // fuzz_json: positive as a double, 0 as a float (it was stored as 0, written back as 0)
      {R"({"activation_encodings": {"x": [{"bitwidth": 8, "scale": 7.76e-54, "offset": 0}]}})", "scale must be positive"},
      {R"({"activation_encodings": {"x": [{"bitwidth": 8, "scale": 1, "offset": 10}]}})", "outside the 8-bit range"},
      {R"({"param_encodings": {"x": [{"bitwidth": 8, "scale": 1}]}})", "is an activation"},
      {R"({"param_encodings": {"w1": [{"bitwidth": 8, "scale": 1}, {"bitwidth": 8, "scale": 1}]}})", "expected 4 per-channel"},
      {R"({"activation_encodings": {"x": [{"bitwidth": 8, "scale": 1,}]}})", "malformed JSON at byte"},
      {R"([1, 2])", "expected a JSON object"},
  };
  for (const auto& t : bad) {
    CAPTURE(t.json);
    Encodings e(qm);
    const std::string msg = test::error_of([&] { encodings_from_json(t.json, qm, e, "bad.json"); });
    CHECK(msg.find(t.error) != std::string::npos);
    CHECK(msg.find("bad.json") != std::string::npos);
  }
}

}  // namespace qm::quant
