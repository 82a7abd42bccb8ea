// Fake quantisation against the ONNX QuantizeLinear/DequantizeLinear formulas written out here
// (round-then-saturate, as the ONNX spec reads) and closed-form values: ties to even, saturation,
// zero points, and a true division x / scale.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include "kernels/fake_quant.h"
#include "kernels/ref/fake_quant.h"
#include "test_kernels_util.h"

namespace qm::kernels {
namespace {

using test::Rng;

// The ONNX spec's formula: q = saturate(round_half_even(x / scale) + zp); y = (q - zp) * scale.
float spec_fake_quant(float x, float scale, int32_t zp, int32_t qmin, int32_t qmax) {
  const float r = std::nearbyint(x / scale);
  double q = double(r) + zp;
  q = q < qmin ? qmin : (q > qmax ? qmax : q);
  return float(int32_t(q) - zp) * scale;
}

bool same_bits(float a, float b) { return std::memcmp(&a, &b, sizeof(float)) == 0; }

TEST_CASE("kernels/fake_quant: ties round to even, saturation, infinities, NaN") {
  struct Case {
    float x, expected;
  };
  // int8, scale 1, zero point 0.
  const Case cases[] = {
      {0.5f, 0.0f},    {1.5f, 2.0f},     {2.5f, 2.0f},       {-0.5f, 0.0f},  // +0: q = 0
      {-1.5f, -2.0f},  {-2.5f, -2.0f},   {3.5f, 4.0f},       {0.49999997f, 0.0f},
      {126.5f, 126.0f}, {127.5f, 127.0f}, {1000.0f, 127.0f}, {-128.5f, -128.0f},
      {-129.5f, -128.0f}, {-1e30f, -128.0f}, {-0.0f, 0.0f}, {-0.3f, 0.0f},
      {std::numeric_limits<float>::infinity(), 127.0f},
      {-std::numeric_limits<float>::infinity(), -128.0f},
      // NaN: MLAS clamps it to the lower bound (maxps returns its second operand).
      {std::nanf(""), -128.0f},
  };
  for (const Case& c : cases) {
    for (size_t n : {size_t(1), 2 * f32_simd_lanes() + 1}) {
      // Put the value at every position of a span so the vector body and the tail both see it.
      std::vector<float> x(n, c.x), y(n, 99.0f), yr(n, 99.0f);
      f32_fake_quant_per_tensor(x.data(), y.data(), n, 1.0f, 0, -128, 127);
      ref::f32_fake_quant_per_tensor(x.data(), yr.data(), n, 1.0f, 0, -128, 127);
      for (size_t i = 0; i < n; ++i) {
        INFO("x=" << c.x << " got " << y[i] << " ref " << yr[i] << " expected " << c.expected);
        CHECK(same_bits(y[i], c.expected));
        CHECK(same_bits(yr[i], c.expected));
      }
    }
  }
}

TEST_CASE("kernels/fake_quant: zero point and scale (uint8 and 4-bit)") {
  struct Case {
    float x, scale;
    int32_t zp, qmin, qmax;
    float expected;
  };
  const Case cases[] = {
      {-5.0f, 0.5f, 10, 0, 255, -5.0f},     // q = -10 + 10 = 0
      {-6.0f, 0.5f, 10, 0, 255, -5.0f},     // q = -2 -> saturates at 0
      {122.5f, 0.5f, 10, 0, 255, 122.5f},   // q = 255
      {123.0f, 0.5f, 10, 0, 255, 122.5f},   // q = 256 -> 255
      {0.25f, 0.5f, 10, 0, 255, 0.0f},      // 0.5 -> 0 (even)
      {0.75f, 0.5f, 10, 0, 255, 1.0f},      // 1.5 -> 2
      {1.25f, 0.5f, 10, 0, 255, 1.0f},      // 2.5 -> 2
      {0.3f, 0.1f, 0, -8, 7, 0.3f},         // int4: 3 (0.3f / 0.1f rounds to 3)
      {5.0f, 0.5f, 0, -8, 7, 3.5f},         // int4 saturation at 7
      {-5.0f, 0.5f, 0, -8, 7, -4.0f},       // int4 saturation at -8
      {-1.0f, 0.25f, 8, 0, 15, -1.0f},      // uint4 with zero point 8: q = 4
      {-3.0f, 0.25f, 8, 0, 15, -2.0f},      // q = -4 -> 0 -> (0 - 8) * 0.25
  };
  for (const Case& c : cases) {
    float y = 99.0f, yr = 99.0f;
    f32_fake_quant_per_tensor(&c.x, &y, 1, c.scale, c.zp, c.qmin, c.qmax);
    ref::f32_fake_quant_per_tensor(&c.x, &yr, 1, c.scale, c.zp, c.qmin, c.qmax);
    INFO("x=" << c.x << " scale=" << c.scale << " zp=" << c.zp << " [" << c.qmin << ", "
              << c.qmax << "]: got " << y << " ref " << yr << " expected " << c.expected);
    CHECK(y == doctest::Approx(c.expected).epsilon(1e-7));
    CHECK(same_bits(y, spec_fake_quant(c.x, c.scale, c.zp, c.qmin, c.qmax)));
    CHECK(same_bits(yr, y));
  }
}

TEST_CASE("kernels/fake_quant: x / scale is a true division (not x * (1 / scale))") {
  // Random values near rounding ties with awkward scales; the data must contain cases where
  // multiplying by the reciprocal rounds differently, or the test could not fail.
  Rng rng(4242);
  const size_t n = 20000;
  std::vector<float> x(n);
  std::vector<float> scales = {0.1f, 0.3f, 0.7f, 1.0f / 3.0f, 0.0123f, 3.0e-5f};
  size_t discriminating = 0;
  for (float s : scales) {
    for (size_t i = 0; i < n; ++i) {
      const float k = std::floor(rng.uniform(-120.0f, 120.0f)) + 0.5f;  // tie in quotient space
      x[i] = k * s;
      if (std::nearbyint(x[i] / s) != std::nearbyint(x[i] * (1.0f / s))) ++discriminating;
    }
    std::vector<float> y(n);
    f32_fake_quant_per_tensor(x.data(), y.data(), n, s, 0, -128, 127);
    size_t bad = 0;
    for (size_t i = 0; i < n; ++i) {
      const float e = spec_fake_quant(x[i], s, 0, -128, 127);
      if (!same_bits(y[i], e) && bad++ == 0) {
        INFO("scale " << s << " x=" << x[i] << " got " << y[i] << " expected " << e);
        CHECK(false);
      }
    }
    CHECK(bad == 0);
  }
  INFO("cases where the reciprocal rounds differently: " << discriminating);
  CHECK(discriminating > 0);
}

TEST_CASE("kernels/fake_quant: per-channel over [outer, channels, inner], in place") {
  struct Shape {
    size_t outer, channels, inner;
  };
  const size_t l = f32_simd_lanes();
  const Shape shapes[] = {{1, 5, 9},           {3, 7, 1},      {2, 3, 4},
                          {1, 16, 2 * l + 1},  {4, l - 1 ? l - 1 : 1, 1},
                          {2, l + 1, 1},       {1, 1, 1021},   {5, 2 * l, 1}};
  uint64_t seed = 77;
  for (const Shape& sh : shapes) {
    for (bool symmetric : {true, false}) {
      INFO("outer=" << sh.outer << " channels=" << sh.channels << " inner=" << sh.inner
                    << std::string(symmetric ? " symmetric" : " asymmetric"));
      Rng rng(seed++);
      const size_t n = sh.outer * sh.channels * sh.inner;
      const std::vector<float> x = rng.vector(n, -3.0f, 3.0f);
      std::vector<float> scales(sh.channels);
      std::vector<int32_t> zps(sh.channels);
      for (size_t c = 0; c < sh.channels; ++c) {
        scales[c] = rng.uniform(0.005f, 0.05f);
        zps[c] = symmetric ? 0 : int32_t(rng.uniform(-20.0f, 20.0f));
      }
      const int32_t* zp = symmetric ? nullptr : zps.data();
      std::vector<float> y(n), yr(n), inplace = x;
      f32_fake_quant_per_channel(x.data(), y.data(), sh.outer, sh.channels, sh.inner,
                                 scales.data(), zp, -128, 127);
      ref::f32_fake_quant_per_channel(x.data(), yr.data(), sh.outer, sh.channels, sh.inner,
                                      scales.data(), zp, -128, 127);
      f32_fake_quant_per_channel(inplace.data(), inplace.data(), sh.outer, sh.channels,
                                 sh.inner, scales.data(), zp, -128, 127);
      size_t bad = 0;
      for (size_t o = 0; o < sh.outer; ++o) {
        for (size_t c = 0; c < sh.channels; ++c) {
          for (size_t i = 0; i < sh.inner; ++i) {
            const size_t k = (o * sh.channels + c) * sh.inner + i;
            const float e = spec_fake_quant(x[k], scales[c], zps[c], -128, 127);
            if ((!same_bits(y[k], e) || !same_bits(yr[k], e)) && bad++ == 0) {
              INFO("element " << k << " got " << y[k] << " ref " << yr[k] << " expected " << e);
              CHECK(false);
            }
          }
        }
      }
      CHECK(bad == 0);
      CHECK(std::memcmp(inplace.data(), y.data(), n * sizeof(float)) == 0);
    }
  }
}

TEST_CASE("kernels/fake_quant: results lie on the quantisation grid") {
  Rng rng(91);
  const size_t n = 1021;
  const std::vector<float> x = rng.vector(n, -10.0f, 10.0f);
  for (int bits : {2, 3, 4, 5, 6, 7, 8}) {
    const int32_t qmax = (1 << (bits - 1)) - 1, qmin = -(1 << (bits - 1));
    const float scale = 10.0f / float(qmax);
    std::vector<float> y(n);
    f32_fake_quant_per_tensor(x.data(), y.data(), n, scale, 0, qmin, qmax);
    size_t levels_off = 0;
    double max_err = 0.0;
    for (size_t i = 0; i < n; ++i) {
      const float q = std::nearbyint(y[i] / scale);
      if (y[i] != q * scale || q < qmin || q > qmax) ++levels_off;
      if (x[i] >= qmin * scale && x[i] <= qmax * scale) {
        max_err = std::fmax(max_err, std::fabs(y[i] - x[i]));
      }
    }
    INFO(bits << " bits: max error " << max_err << " (half step " << scale / 2 << ")");
    CHECK(levels_off == 0);
    CHECK(max_err <= scale / 2 * (1 + 1e-6));
  }
}

}  // namespace
}  // namespace qm::kernels
