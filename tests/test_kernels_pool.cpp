// Pooling kernels (SIMD and reference) against ONNX Runtime's pooling loops re-derived here in
// double: windows clipped to the input, the count_include_pad divisor clipped to the end padding,
// ceil_mode output sizes.
#include <doctest/doctest.h>

#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "kernels/pool.h"
#include "kernels/ref/pool.h"
#include "test_kernels_util.h"

namespace qm::kernels {
namespace {

using test::Rng;

// Average pooling sums at most a few dozen values.
constexpr double kAvgRelTol = 1e-6;
constexpr double kAvgAbsTol = 1e-6;

struct PoolCase {
  size_t c, h, w, kh, kw, sh, sw, dh, dw, pt, pl, pb, pr;
  bool ceil_mode;
};

size_t out_size(size_t in, size_t pad_begin, size_t pad_end, size_t k, size_t s, size_t d,
                bool ceil_mode) {
  const long span = long(in + pad_begin + pad_end) - long((k - 1) * d + 1);
  if (!ceil_mode) return size_t(span / long(s) + 1);
  long o = (span + long(s) - 1) / long(s) + 1;
  if ((o - 1) * long(s) >= long(in + pad_begin)) --o;  // the last window must start inside
  return size_t(o);
}

Conv2dShape make_shape(const PoolCase& p) {
  Conv2dShape s;
  s.in_channels = p.c;
  s.in_h = p.h;
  s.in_w = p.w;
  s.kernel_h = p.kh;
  s.kernel_w = p.kw;
  s.stride_h = p.sh;
  s.stride_w = p.sw;
  s.dilation_h = p.dh;
  s.dilation_w = p.dw;
  s.pad_top = p.pt;
  s.pad_left = p.pl;
  s.out_h = out_size(p.h, p.pt, p.pb, p.kh, p.sh, p.dh, p.ceil_mode);
  s.out_w = out_size(p.w, p.pl, p.pr, p.kw, p.sw, p.dw, p.ceil_mode);
  return s;
}

// ORT AveragePool2DTask / MaxPool2DTask in double.
std::vector<double> oracle(const PoolCase& p, const Conv2dShape& s, const std::vector<float>& x,
                           bool max, bool include_pad) {
  std::vector<double> y(p.c * s.out_h * s.out_w);
  for (size_t c = 0; c < p.c; ++c) {
    for (size_t oh = 0; oh < s.out_h; ++oh) {
      const long hstart = long(oh * p.sh) - long(p.pt);
      long hend = hstart + long(p.kh * p.dh);
      if (!max) hend = std::min(hend, long(p.h + p.pb));
      for (size_t ow = 0; ow < s.out_w; ++ow) {
        const long wstart = long(ow * p.sw) - long(p.pl);
        long wend = wstart + long(p.kw * p.dw);
        if (!max) wend = std::min(wend, long(p.w + p.pr));
        double acc = max ? -INFINITY : 0.0;
        long total = 0;
        for (long h = hstart; h < hend; h += long(p.dh)) {
          if (h < 0 || h >= long(p.h)) continue;
          for (long w = wstart; w < wend; w += long(p.dw)) {
            if (w < 0 || w >= long(p.w)) continue;
            const double v = x[(c * p.h + size_t(h)) * p.w + size_t(w)];
            acc = max ? std::fmax(acc, v) : acc + v;
            ++total;
          }
        }
        if (!max && total > 0) {
          acc /= include_pad ? double((1 + (hend - hstart - 1) / long(p.dh)) *
                                      (1 + (wend - wstart - 1) / long(p.dw)))
                             : double(total);
        }
        y[(c * s.out_h + oh) * s.out_w + ow] = acc;
      }
    }
  }
  return y;
}

std::string describe(const PoolCase& p) {
  auto n = [](size_t v) { return std::to_string(v); };
  return "C=" + n(p.c) + " " + n(p.h) + "x" + n(p.w) + " k=" + n(p.kh) + "x" + n(p.kw) +
         " s=" + n(p.sh) + "," + n(p.sw) + " d=" + n(p.dh) + "," + n(p.dw) + " pads=" + n(p.pt) +
         "," + n(p.pl) + "," + n(p.pb) + "," + n(p.pr) + (p.ceil_mode ? " ceil" : "");
}

TEST_CASE("kernels/pool: max and average pooling vs ONNX Runtime's loops") {
  const size_t l = f32_simd_lanes();
  const PoolCase cases[] = {
      {2, 8, 8, 2, 2, 2, 2, 1, 1, 0, 0, 0, 0, false},
      {3, 12, 12, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, false},  // ResNet stem max pool
      {2, 8, 8, 3, 3, 2, 2, 1, 1, 0, 0, 0, 0, true},     // ceil_mode: partial last window
      {2, 8, 9, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, true},     // ceil_mode with padding
      {2, 6, 6, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, false},    // 3x3 s1 "same"
      {2, 10, 11, 3, 3, 1, 2, 2, 2, 2, 2, 2, 2, false},  // dilation 2
      {1, 5, 4 * l + 3, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, false},  // vector main loop + tail
      {1, 6, 5 * l, 2, 3, 2, 3, 1, 1, 0, 1, 1, 0, true},       // stride 3, asymmetric pads
      {2, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, false},          // 1x1
      {1, 3, 3, 5, 5, 1, 1, 1, 1, 3, 3, 3, 3, false},          // windows made only of padding
      {2, 14, 14, 7, 7, 7, 7, 1, 1, 0, 0, 0, 0, false},        // non-overlapping 7x7
  };
  uint64_t seed = 600;
  for (const PoolCase& p : cases) {
    INFO(describe(p));
    const Conv2dShape s = make_shape(p);
    Rng rng(seed++);
    const std::vector<float> x = rng.vector(p.c * p.h * p.w, -5.0f, 5.0f);
    const size_t n = p.c * s.out_h * s.out_w;
    {
      const std::vector<double> e = oracle(p, s, x, true, false);
      std::vector<float> y(n, std::nanf("")), yr(n, std::nanf(""));
      f32_max_pool2d(s, x.data(), y.data());
      ref::f32_max_pool2d(s, x.data(), yr.data());
      size_t bad = 0;
      for (size_t i = 0; i < n; ++i) {
        if ((y[i] != float(e[i]) || yr[i] != float(e[i])) && bad++ == 0) {
          INFO("max i=" << i << " simd " << y[i] << " ref " << yr[i] << " expected " << e[i]);
          CHECK(false);
        }
      }
      CHECK(bad == 0);
    }
    for (bool include_pad : {false, true}) {
      const std::vector<double> e = oracle(p, s, x, false, include_pad);
      AvgPoolParams ap;
      ap.count_include_pad = include_pad;
      ap.pad_bottom = p.pb;
      ap.pad_right = p.pr;
      std::vector<float> y(n, std::nanf("")), yr(n, std::nanf(""));
      f32_avg_pool2d(s, x.data(), y.data(), ap);
      ref::f32_avg_pool2d(s, x.data(), yr.data(), ap);
      size_t bad = 0;
      for (size_t i = 0; i < n; ++i) {
        if ((!test::nearly_equal(y[i], e[i], kAvgAbsTol, kAvgRelTol) ||
             !test::nearly_equal(yr[i], e[i], kAvgAbsTol, kAvgRelTol)) &&
            bad++ == 0) {
          INFO("avg include_pad=" << include_pad << " i=" << i << " simd " << y[i] << " ref "
                                  << yr[i] << " expected " << e[i]);
          CHECK(false);
        }
      }
      CHECK(bad == 0);
    }
  }
}

TEST_CASE("kernels/pool: global average and max pooling") {
  Rng rng(700);
  for (size_t plane : test::edge_sizes()) {
    INFO("plane=" << plane);
    const size_t channels = 3;
    const std::vector<float> x = rng.vector(channels * plane, -2.0f, 3.0f);
    std::vector<float> avg(channels), mx(channels), avg_r(channels), mx_r(channels);
    f32_global_avg_pool(x.data(), avg.data(), channels, plane);
    f32_global_max_pool(x.data(), mx.data(), channels, plane);
    ref::f32_global_avg_pool(x.data(), avg_r.data(), channels, plane);
    ref::f32_global_max_pool(x.data(), mx_r.data(), channels, plane);
    for (size_t c = 0; c < channels; ++c) {
      double sum = 0.0, sum_abs = 0.0, m = -INFINITY;
      for (size_t i = 0; i < plane; ++i) {
        sum += x[c * plane + i];
        sum_abs += std::fabs(x[c * plane + i]);
        m = std::fmax(m, x[c * plane + i]);
      }
      const double tol = 2e-7 * sum_abs / double(plane) + 1e-30;
      CHECK(std::fabs(avg[c] - sum / double(plane)) <= tol);
      CHECK(std::fabs(avg_r[c] - sum / double(plane)) <= tol);
      CHECK(mx[c] == float(m));
      CHECK(mx_r[c] == float(m));
    }
  }
}

}  // namespace
}  // namespace qm::kernels
