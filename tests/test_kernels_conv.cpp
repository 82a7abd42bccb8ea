// Convolution kernels (im2col, implicit-im2col GEMM conv, depthwise) and their scalar references
// against a naive direct convolution in double precision.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "kernels/conv.h"
#include "kernels/gemm.h"
#include "kernels/ref/conv.h"
#include "test_kernels_util.h"

namespace qm::kernels {
namespace {

using test::Rng;

// Element-wise bound: |y - exact| <= kConvUlpFactor * (taps + 2) * eps * sum |w x| (+ |bias|),
// the dot-product rounding bound (taps = C * kh * kw terms).
constexpr double kConvUlpFactor = 1.0;

struct ConvCase {
  size_t c, h, w, m, kh, kw, sh, sw, dh, dw, pt, pl, pb, pr;
};

Conv2dShape make_shape(const ConvCase& k) {
  Conv2dShape s;
  s.in_channels = k.c;
  s.in_h = k.h;
  s.in_w = k.w;
  s.kernel_h = k.kh;
  s.kernel_w = k.kw;
  s.stride_h = k.sh;
  s.stride_w = k.sw;
  s.dilation_h = k.dh;
  s.dilation_w = k.dw;
  s.pad_top = k.pt;
  s.pad_left = k.pl;
  s.out_h = (k.h + k.pt + k.pb - ((k.kh - 1) * k.dh + 1)) / k.sh + 1;
  s.out_w = (k.w + k.pl + k.pr - ((k.kw - 1) * k.dw + 1)) / k.sw + 1;
  return s;
}

std::string describe(const ConvCase& k) {
  auto n = [](size_t v) { return std::to_string(v); };
  return "C=" + n(k.c) + " HxW=" + n(k.h) + "x" + n(k.w) + " M=" + n(k.m) + " k=" + n(k.kh) +
         "x" + n(k.kw) + " s=" + n(k.sh) + "," + n(k.sw) + " d=" + n(k.dh) + "," + n(k.dw) +
         " pads=" + n(k.pt) + "," + n(k.pl) + "," + n(k.pb) + "," + n(k.pr);
}

// The 7-loop direct convolution in double: expected[m][oh][ow] and the error magnitude.
// `group_channels` == 1 with depthwise == true convolves each channel with its own filter.
void oracle(const Conv2dShape& s, const std::vector<float>& x, const std::vector<float>& wt,
            const std::vector<float>& bias, size_t m_count, bool depthwise,
            std::vector<double>& expected, std::vector<double>& magnitude) {
  const size_t P = s.out_h * s.out_w;
  expected.assign(m_count * P, 0.0);
  magnitude.assign(m_count * P, 0.0);
  const size_t in_c = depthwise ? 1 : s.in_channels;
  for (size_t m = 0; m < m_count; ++m) {
    for (size_t oh = 0; oh < s.out_h; ++oh) {
      for (size_t ow = 0; ow < s.out_w; ++ow) {
        double acc = bias.empty() ? 0.0 : bias[m], mag = bias.empty() ? 0.0 : std::fabs(bias[m]);
        for (size_t ci = 0; ci < in_c; ++ci) {
          const size_t c = depthwise ? m : ci;
          for (size_t kh = 0; kh < s.kernel_h; ++kh) {
            for (size_t kw = 0; kw < s.kernel_w; ++kw) {
              const long ih = long(oh * s.stride_h + kh * s.dilation_h) - long(s.pad_top);
              const long iw = long(ow * s.stride_w + kw * s.dilation_w) - long(s.pad_left);
              if (ih < 0 || iw < 0 || ih >= long(s.in_h) || iw >= long(s.in_w)) continue;
              const double xv = x[(c * s.in_h + size_t(ih)) * s.in_w + size_t(iw)];
              const double wv = wt[((m * in_c + ci) * s.kernel_h + kh) * s.kernel_w + kw];
              acc += xv * wv;
              mag += std::fabs(xv * wv);
            }
          }
        }
        expected[m * P + oh * s.out_w + ow] = acc;
        magnitude[m * P + oh * s.out_w + ow] = mag;
      }
    }
  }
}

void check_close(const std::vector<float>& y, const std::vector<double>& expected,
                 const std::vector<double>& magnitude, size_t terms, float lo, float hi,
                 const char* what) {
  REQUIRE(y.size() == expected.size());
  const double eps = std::numeric_limits<float>::epsilon();
  size_t bad = 0;
  for (size_t i = 0; i < y.size(); ++i) {
    const double e = std::min(std::max(expected[i], double(lo)), double(hi));
    const double tol = kConvUlpFactor * double(terms + 2) * eps * magnitude[i] + 1e-30;
    if (!(std::fabs(y[i] - e) <= tol) && bad++ == 0) {
      INFO(what << ": element " << i << " got " << y[i] << ", expected " << e);
      CHECK(false);
    }
  }
  INFO(what);
  CHECK(bad == 0);
}

std::vector<ConvCase> conv_cases() {
  return {
      {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0},    // 1x1 everything
      {3, 8, 8, 4, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0},    // pointwise: the image is the col matrix
      {3, 7, 9, 5, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1},    // 3x3 same padding
      {4, 17, 19, 16, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1}, // several strips, rows wrap inside strips
      {2, 9, 11, 7, 3, 3, 2, 2, 1, 1, 1, 1, 0, 0},   // stride 2
      {5, 12, 13, 6, 5, 5, 1, 1, 1, 1, 2, 2, 2, 2},  // 5x5
      {3, 10, 10, 3, 3, 3, 1, 1, 2, 2, 2, 2, 2, 2},  // dilation 2
      {2, 6, 15, 9, 1, 3, 1, 3, 1, 1, 0, 1, 0, 1},   // 1x3, stride (1, 3)
      {2, 15, 6, 9, 3, 1, 2, 1, 1, 1, 1, 0, 1, 0},   // 3x1, stride (2, 1)
      {3, 8, 8, 5, 2, 2, 2, 2, 1, 1, 0, 0, 0, 0},    // 2x2 stride 2 (patchify)
      {2, 5, 5, 3, 3, 3, 1, 1, 1, 1, 3, 0, 3, 4},    // padding larger than the kernel reach
      {1, 3, 40, 2, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1},   // wide rows
      {8, 1, 1, 13, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0},   // 1x1 spatial (GEMV-like)
      {3, 14, 14, 8, 7, 7, 2, 2, 1, 1, 3, 3, 3, 3},  // 7x7 s2 stem
      {4, 9, 9, 4, 3, 3, 3, 2, 1, 2, 1, 2, 0, 1},    // mixed strides/dilations
      {3, 5, 70, 4, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1},   // wide rows, stride 2 (vector evens path)
      {2, 4, 80, 3, 3, 3, 1, 2, 2, 2, 2, 2, 2, 2},   // wide rows, stride 2, dilation 2
      {2, 3, 67, 3, 1, 5, 1, 3, 1, 1, 0, 2, 0, 2},   // wide rows, stride 3 (element-wise path)
  };
}

TEST_CASE("kernels/conv: implicit-im2col conv, im2col + GEMM and the reference vs a direct loop") {
  uint64_t seed = 500;
  for (const ConvCase& k : conv_cases()) {
    for (int variant = 0; variant < 2; ++variant, ++seed) {
      INFO(describe(k) << " variant " << variant);
      const Conv2dShape s = make_shape(k);
      Rng rng(seed);
      const std::vector<float> x = rng.vector(k.c * k.h * k.w);
      const std::vector<float> wt = rng.vector(k.m * s.col_rows());
      const std::vector<float> bias = variant ? rng.vector(k.m) : std::vector<float>{};
      std::vector<double> expected, magnitude;
      oracle(s, x, wt, bias, k.m, false, expected, magnitude);
      const size_t P = s.col_cols(), K = s.col_rows();
      GemmParams gp;
      if (variant) {
        gp.bias_kind = GemmBias::PerRow;
        gp.bias = bias.data();
        gp.clamp_min = 0.0f;  // fused Relu
      }
      const float lo = gp.clamp_min, hi = gp.clamp_max;
      const PackedA pa = f32_gemm_pack_a(k.m, K, wt.data(), K, false);
      {
        std::vector<float> y(k.m * P, std::nanf(""));
        f32_conv2d_packed(s, x.data(), pa, 0, P, y.data(), P, gp);
        check_close(y, expected, magnitude, K, lo, hi, "f32_conv2d_packed");
      }
      {
        // Two ranges split at an arbitrary position, as threads would.
        std::vector<float> y(k.m * P, std::nanf(""));
        const size_t split = P / 3;
        f32_conv2d_packed(s, x.data(), pa, split, P, y.data(), P, gp);
        f32_conv2d_packed(s, x.data(), pa, 0, split, y.data(), P, gp);
        check_close(y, expected, magnitude, K, lo, hi, "f32_conv2d_packed split");
      }
      {
        std::vector<float> col(K * P, std::nanf("")), col_ref(K * P, std::nanf(""));
        f32_im2col(s, x.data(), 0, P, col.data(), P);
        ref::f32_im2col(s, x.data(), 0, P, col_ref.data(), P);
        CHECK(col == col_ref);  // a pure copy: bitwise equal
        // A column range written into a narrower buffer.
        const size_t c0 = P / 2, n = P - c0;
        std::vector<float> part(K * n);
        f32_im2col(s, x.data(), c0, P, part.data(), n);
        bool same = true;
        for (size_t r = 0; r < K; ++r) {
          for (size_t j = 0; j < n; ++j) same = same && part[r * n + j] == col_ref[r * P + c0 + j];
        }
        CHECK(same);
        std::vector<float> y(k.m * P, std::nanf(""));
        f32_gemm_packed_a(pa, 0, k.m, P, col.data(), P, y.data(), P, gp);
        check_close(y, expected, magnitude, K, lo, hi, "im2col + f32_gemm_packed_a");
      }
      {
        std::vector<float> y(k.m * P, std::nanf(""));
        ref::f32_conv2d(s, x.data(), wt.data(), k.m, 0, P, y.data(), P, gp);
        check_close(y, expected, magnitude, K, lo, hi, "ref::f32_conv2d");
      }
    }
  }
}

TEST_CASE("kernels/conv: beta accumulates into the output (fused residual add)") {
  const ConvCase k{3, 6, 7, 5, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1};
  const Conv2dShape s = make_shape(k);
  Rng rng(77);
  const std::vector<float> x = rng.vector(k.c * k.h * k.w), wt = rng.vector(k.m * s.col_rows());
  std::vector<double> expected, magnitude;
  oracle(s, x, wt, {}, k.m, false, expected, magnitude);
  const std::vector<float> residual = rng.vector(k.m * s.col_cols());
  for (size_t i = 0; i < expected.size(); ++i) {
    expected[i] += residual[i];
    magnitude[i] += std::fabs(residual[i]);
  }
  GemmParams gp;
  gp.beta = 1.0f;
  std::vector<float> y = residual;
  f32_conv2d_packed(s, x.data(), f32_gemm_pack_a(k.m, s.col_rows(), wt.data(), s.col_rows(), false),
                    0, s.col_cols(), y.data(), s.col_cols(), gp);
  check_close(y, expected, magnitude, s.col_rows() + 1, -INFINITY, INFINITY, "beta = 1");
}

TEST_CASE("kernels/dwconv: depthwise conv and its reference vs a direct loop") {
  const size_t lanes = f32_simd_lanes();
  const std::vector<ConvCase> cases = {
      // c, h, w, (m unused), kh, kw, sh, sw, dh, dw, pt, pl, pb, pr
      {3, 8, 8, 0, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1},
      {2, 7, lanes - 1 ? lanes - 1 : 1, 0, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1},
      {2, 5, lanes, 0, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1},
      {2, 5, lanes + 1, 0, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1},
      {3, 9, 4 * lanes + 3, 0, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1},
      {4, 16, 16, 0, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1},  // stride 2 (MobileNet downsampling)
      {4, 15, 15, 0, 3, 3, 2, 2, 1, 1, 0, 0, 1, 1},  // TF-style asymmetric padding
      {2, 14, 14, 0, 5, 5, 1, 1, 1, 1, 2, 2, 2, 2},  // 5x5
      {2, 14, 21, 0, 5, 5, 2, 3, 1, 1, 2, 2, 2, 2},  // 5x5, stride (2, 3)
      {2, 12, 12, 0, 3, 3, 1, 1, 2, 2, 2, 2, 2, 2},  // dilation 2
      {2, 12, 13, 0, 3, 5, 1, 2, 3, 2, 3, 4, 3, 4},  // anisotropic everything
      {3, 1, 1, 0, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0},    // 1x1 plane
      {2, 7, 7, 0, 7, 7, 1, 1, 1, 1, 3, 3, 3, 3},    // 7x7 (ConvNeXt)
      {1, 3, 1021, 0, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1}, // large odd width
      {2, 4, 4, 0, 3, 3, 1, 1, 1, 1, 4, 4, 4, 4},    // rows made only of padding
  };
  uint64_t seed = 900;
  for (const ConvCase& k : cases) {
    for (int variant = 0; variant < 2; ++variant, ++seed) {
      INFO(describe(k) << " variant " << variant);
      const Conv2dShape s = make_shape(k);
      Rng rng(seed);
      const std::vector<float> x = rng.vector(k.c * k.h * k.w);
      const std::vector<float> wt = rng.vector(k.c * k.kh * k.kw);
      const std::vector<float> bias = variant ? rng.vector(k.c) : std::vector<float>{};
      std::vector<double> expected, magnitude;
      oracle(s, x, wt, bias, k.c, true, expected, magnitude);
      DepthwiseParams dp;
      if (variant) {
        dp.bias = bias.data();
        dp.clamp_min = 0.0f;
        dp.clamp_max = 6.0f;  // fused Relu6
      }
      std::vector<float> y(k.c * s.out_h * s.out_w, std::nanf(""));
      f32_dwconv2d(s, x.data(), wt.data(), y.data(), dp);
      check_close(y, expected, magnitude, k.kh * k.kw, dp.clamp_min, dp.clamp_max,
                  "f32_dwconv2d");
      std::vector<float> yr(y.size(), std::nanf(""));
      ref::f32_dwconv2d(s, x.data(), wt.data(), yr.data(), dp);
      check_close(yr, expected, magnitude, k.kh * k.kw, dp.clamp_min, dp.clamp_max,
                  "ref::f32_dwconv2d");
    }
  }
}

}  // namespace
}  // namespace qm::kernels
