// Encodings and fake quantization (spec amp.md sections 1-2) against closed forms and brute-force
// oracles computed here in double precision: round-half-even ties, saturation at the true
// bit-width, zero points, per-channel axes; streaming histogram merging; minmax / percentile /
// mse range setting for activations and weights.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "api/options.h"
#include "core/error.h"
#include "quant/calibration.h"
#include "quant/simulator.h"
#include "test_util.h"

namespace qm::quant {
namespace {

using api::parse_act_range;
using api::parse_weight_range;

// Relative slack allowed for our searched range against the brute-force optimum (our search is
// on a coarser grid / a histogram, the oracle on the raw values).
constexpr double kMseSlack = 0.05;

// Closed-form fake quantization in double (the oracle).
double fq(double x, double scale, int zp, int qmin, int qmax) {
  double q = std::nearbyint(x / scale) + zp;  // default rounding mode: half to even
  q = std::min<double>(std::max<double>(q, qmin), qmax);
  return (q - zp) * scale;
}

Tensor tensor(Shape s, std::vector<float> v) {
  Tensor t(DataType::Float, s);
  std::copy(v.begin(), v.end(), t.data<float>());
  return t;
}

// Deterministic roughly Gaussian values (sum of 4 uniforms).
std::vector<float> gaussish(size_t n, uint32_t seed) {
  std::vector<float> v(n);
  uint32_t x = seed * 2654435761u + 12345u;
  for (auto& f : v) {
    double s = 0;
    for (int k = 0; k < 4; ++k) {
      x = x * 1664525u + 1013904223u;
      s += (x >> 8) / double(1u << 24) - 0.5;
    }
    f = static_cast<float>(s);
  }
  return v;
}

double mse_of(const std::vector<float>& x, double scale, int zp, int qmin, int qmax) {
  double e = 0;
  for (float v : x) {
    const double d = fq(v, scale, zp, qmin, qmax) - v;
    e += d * d;
  }
  return e / static_cast<double>(x.size());
}

}  // namespace

TEST_CASE("quant/encoding: activation range -> scale, zero point, represented range; 0 exact") {
  const Encoding e = activation_encoding_from_range(-1.0, 3.0, 8);
  CHECK(e.qmin() == 0);
  CHECK(e.qmax() == 255);
  CHECK(e.scale[0] == doctest::Approx(4.0 / 255).epsilon(1e-7));
  CHECK(e.zero_point[0] == 64);  // round(1 / (4/255)) = round(63.75)
  CHECK(e.min[0] == doctest::Approx(-64 * 4.0 / 255).epsilon(1e-6));
  CHECK(e.max[0] == doctest::Approx(191 * 4.0 / 255).epsilon(1e-6));
  // A range that excludes 0 is extended to contain it.
  const Encoding p = activation_encoding_from_range(2.0, 6.0, 4);
  CHECK(p.zero_point[0] == 0);
  CHECK(p.scale[0] == doctest::Approx(6.0 / 15).epsilon(1e-7));
  const Encoding n = activation_encoding_from_range(-6.0, -2.0, 4);
  CHECK(n.zero_point[0] == 15);
  // 0 maps to exactly 0.
  for (const Encoding* x : {&e, &p, &n}) {
    const Tensor z = fake_quantize(tensor({1}, {0.0f}), *x);
    CHECK(z.data<float>()[0] == 0.0f);
  }
  CHECK_THROWS_AS(activation_encoding_from_range(0, 1, 1), Error);
  CHECK_THROWS_AS(activation_encoding_from_range(0, 1, 17), Error);
}

TEST_CASE("quant/fake_quant: ties to even, saturation at the true bit-width, zero point") {
  Encoding e;
  e.bits = 4;
  e.symmetric = false;
  e.scale = {1.0f};
  e.zero_point = {3};
  e.min = {-3.0f};
  e.max = {12.0f};
  const std::vector<float> x = {0.5f, 1.5f, 2.5f, -0.5f, -1.5f, -2.5f, -3.0f, -4.0f, 12.0f, 12.5f, 100.0f, 11.5f};
  const Tensor y = fake_quantize(tensor({12}, x), e);
  // Expected by hand: q = clamp(rne(x) + 3, 0, 15) - 3.
  const std::vector<float> want = {0.0f, 2.0f, 2.0f, -0.0f, -2.0f, -2.0f, -3.0f, -3.0f, 12.0f, 12.0f, 12.0f, 12.0f};
  for (size_t i = 0; i < x.size(); ++i) {
    CHECK_MESSAGE(y.data<float>()[i] == want[i], "x=" << x[i]);
    CHECK(y.data<float>()[i] == static_cast<float>(fq(x[i], 1.0, 3, 0, 15)));
  }
  // Signed symmetric 3-bit: [-4, 3].
  Encoding s;
  s.bits = 3;
  s.symmetric = true;
  s.scale = {0.5f};
  s.zero_point = {0};
  const Tensor z = fake_quantize(tensor({5}, {-10.0f, -1.75f, 1.25f, 1.75f, 10.0f}), s);
  const std::vector<float> zw = {-2.0f, -2.0f, 1.0f, 1.5f, 1.5f};
  for (size_t i = 0; i < zw.size(); ++i) CHECK(z.data<float>()[i] == zw[i]);
}

TEST_CASE("quant/fake_quant: per-channel axes 0, 1 and last") {
  const std::vector<float> vals = gaussish(2 * 3 * 4, 7);
  const Tensor w = tensor({2, 3, 4}, vals);
  for (int axis = 0; axis < 3; ++axis) {
    CAPTURE(axis);
    const Encoding e = weight_encoding(w, axis, 4, WeightRange::MinMax);
    const size_t C = static_cast<size_t>(w.shape()[static_cast<size_t>(axis)]);
    REQUIRE(e.scale.size() == C);
    CHECK(e.symmetric);
    CHECK(e.qmin() == -8);
    CHECK(e.qmax() == 7);
    // minmax: scale = max|w| over the channel / 7.
    std::vector<double> amax(C, 0.0);
    for (size_t i = 0; i < vals.size(); ++i) {
      const size_t idx[3] = {i / 12, (i / 4) % 3, i % 4};
      amax[idx[axis]] = std::max(amax[idx[axis]], std::fabs(double(vals[i])));
    }
    for (size_t c = 0; c < C; ++c) CHECK(e.scale[c] == doctest::Approx(amax[c] / 7).epsilon(1e-6));
    const Tensor y = fake_quantize(w, e);
    for (size_t i = 0; i < vals.size(); ++i) {
      const size_t idx[3] = {i / 12, (i / 4) % 3, i % 4};
      const size_t c = idx[axis];
      CHECK(y.data<float>()[i] == doctest::Approx(fq(vals[i], e.scale[c], 0, -8, 7)).epsilon(1e-6));
    }
  }
}

TEST_CASE("quant/weights: mse clipping is within the brute-force optimum and beats minmax at 3 bits") {
  std::vector<float> v = gaussish(512, 3);
  v[17] = 4.0f;  // an outlier makes clipping pay off
  const Tensor w = tensor({1, 512}, v);
  for (int bits : {3, 4}) {
    CAPTURE(bits);
    const int qmax = (1 << (bits - 1)) - 1;
    const Encoding mse = weight_encoding(w, 0, bits, WeightRange::Mse);
    const Encoding mm = weight_encoding(w, 0, bits, WeightRange::MinMax);
    double best = std::numeric_limits<double>::infinity();
    for (int k = 1; k <= 2000; ++k) best = std::min(best, mse_of(v, 4.0 * k / 2000 / qmax, 0, -qmax - 1, qmax));
    const double ours = mse_of(v, mse.scale[0], 0, -qmax - 1, qmax);
    CHECK(ours <= best * (1 + kMseSlack));
    CHECK(ours < mse_of(v, mm.scale[0], 0, -qmax - 1, qmax));
  }
}

TEST_CASE("quant/histogram: streaming with range growth equals direct binning at the final width") {
  StreamingHistogram h(64);
  std::vector<float> all;
  for (int batch = 0; batch < 6; ++batch) {
    std::vector<float> v = gaussish(300, 11 + batch);
    for (float& f : v) f *= static_cast<float>(1 << batch);  // the range grows each batch
    v.push_back(std::numeric_limits<float>::quiet_NaN());    // ignored
    h.add(v.data(), v.size());
    v.pop_back();
    all.insert(all.end(), v.begin(), v.end());
  }
  CHECK(h.count() == all.size());
  CHECK(h.min() == *std::min_element(all.begin(), all.end()));
  CHECK(h.max() == *std::max_element(all.begin(), all.end()));
  CHECK(h.counts().size() <= 64);
  std::vector<double> direct(h.counts().size(), 0.0);
  for (float f : all) {
    int64_t k = static_cast<int64_t>(std::floor(double(f) / h.width())) - h.first_bin();
    k = std::clamp<int64_t>(k, 0, static_cast<int64_t>(direct.size()) - 1);
    direct[static_cast<size_t>(k)] += 1;
  }
  for (size_t i = 0; i < direct.size(); ++i) CHECK(h.counts()[i] == direct[i]);
  // Bins are anchored at 0: 0 is a bin edge.
  CHECK(h.first_bin() <= 0);
}

TEST_CASE("quant/histogram: an all-zero first batch (a recurrent state's first step) then a real range") {
  // The first batch sets a tiny width (nothing to span); growing from it to a range of 1 must not
  // overflow the bin indices (it threw "cannot create std::vector larger than max_size()").
  StreamingHistogram h(256);
  const std::vector<float> zeros(8, 0.0f);
  h.add(zeros.data(), zeros.size());
  std::vector<float> v = gaussish(500, 5);
  h.add(v.data(), v.size());
  CHECK(h.count() == 508);
  CHECK(h.counts().size() <= 256);
  double sum = 0;
  for (double c : h.counts()) sum += c;
  CHECK(sum == 508);
  const Encoding e = activation_encoding(h, 8, parse_act_range("minmax"));
  // minmax covers the data (to within the grid's step, zero being exact).
  CHECK(e.min[0] == doctest::Approx(*std::min_element(v.begin(), v.end())).epsilon(0.01));
  CHECK(e.max[0] == doctest::Approx(*std::max_element(v.begin(), v.end())).epsilon(0.01));
}

TEST_CASE("quant/activations: minmax, percentile and mse range setting from the histogram") {
  // Uniform on [0, 1): percentile 99 gives ~0.99; minmax the exact max.
  std::vector<float> u(20000);
  for (size_t i = 0; i < u.size(); ++i) u[i] = static_cast<float>(i) / static_cast<float>(u.size());
  StreamingHistogram hu(2048);
  hu.add(u.data(), u.size());
  const Encoding mm = activation_encoding(hu, 8, parse_act_range("minmax"));
  CHECK(mm.zero_point[0] == 0);
  CHECK(mm.scale[0] == doctest::Approx(u.back() / 255.0).epsilon(1e-6));
  const Encoding pc = activation_encoding(hu, 8, parse_act_range("percentile=99"));
  CHECK(pc.max[0] == doctest::Approx(0.99).epsilon(0.002));
  CHECK(parse_act_range("percentile").percentile == 99.99);
  CHECK_THROWS_AS(parse_act_range("percentile=20"), Error);
  CHECK_THROWS_AS(parse_act_range("entropy"), Error);
  CHECK_THROWS_AS(parse_weight_range("percentile"), Error);

  // mse on a heavy-tailed two-sided distribution at 4 bits: within a few % of the brute-force
  // optimum over [a, b] on the raw values, and better than minmax.
  std::vector<float> g = gaussish(20000, 5);
  for (size_t i = 0; i < g.size(); i += 997) g[i] *= 6.0f;
  StreamingHistogram hg(2048);
  hg.add(g.data(), g.size());
  for (int bits : {4, 6}) {
    CAPTURE(bits);
    const Encoding e = activation_encoding(hg, bits, ActRange());
    const Encoding m2 = activation_encoding(hg, bits, parse_act_range("minmax"));
    const int qmax = (1 << bits) - 1;
    const double ours = mse_of(g, e.scale[0], e.zero_point[0], 0, qmax);
    double best = std::numeric_limits<double>::infinity();
    const double lo = hg.min(), hi = hg.max();
    for (int i = 1; i <= 60; ++i)
      for (int j = 1; j <= 60; ++j) {
        const Encoding c = activation_encoding_from_range(lo * i / 60, hi * j / 60, bits);
        best = std::min(best, mse_of(g, c.scale[0], c.zero_point[0], 0, qmax));
      }
    CHECK(ours <= best * (1 + kMseSlack));
    CHECK(ours < mse_of(g, m2.scale[0], m2.zero_point[0], 0, qmax));
  }
}

}  // namespace qm::quant
