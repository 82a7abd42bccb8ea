// Softmax, normalisation and reduction kernels (SIMD and reference) against double-precision
// loops written out here.
#include <doctest/doctest.h>

#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "kernels/normalize.h"
#include "kernels/ref/normalize.h"
#include "test_kernels_util.h"

namespace qm::kernels {
namespace {

using test::Rng;

// Softmax outputs: relative (the exp argument x - max carries one float rounding).
constexpr double kSoftmaxRelTol = 5e-6;
constexpr double kSoftmaxAbsTol = 1e-30;
// Log-softmax outputs: absolute, scaled by the magnitude of the input range.
constexpr double kLogSoftmaxAbsTol = 4e-6;
// Statistics and normalised values.
constexpr double kStatRelTol = 2e-6;
constexpr double kNormAbsTol = 2e-5;  // normalised values are O(1..5)
constexpr double kReduceRelTol = 2e-6;

std::vector<double> softmax_oracle(const std::vector<float>& x, size_t n, size_t stride,
                                   size_t offset, bool log) {
  double m = -INFINITY;
  for (size_t i = 0; i < n; ++i) m = std::fmax(m, x[offset + i * stride]);
  double s = 0.0;
  for (size_t i = 0; i < n; ++i) s += std::exp(x[offset + i * stride] - m);
  std::vector<double> y(n);
  for (size_t i = 0; i < n; ++i) {
    const double v = x[offset + i * stride] - m;
    y[i] = log ? v - std::log(s) : std::exp(v) / s;
  }
  return y;
}

bool softmax_ok(float y, double e, bool log) {
  return log ? std::fabs(y - e) <= kLogSoftmaxAbsTol
             : test::nearly_equal(y, e, kSoftmaxAbsTol, kSoftmaxRelTol);
}

TEST_CASE("kernels/softmax: rows at edge sizes, large offsets, in place") {
  uint64_t seed = 1;
  for (bool log : {false, true}) {
    for (size_t n : test::edge_sizes()) {
      for (float offset : {0.0f, 1000.0f, -50.0f}) {
        INFO(std::string(log ? "log_softmax" : "softmax") << " n=" << n << " offset=" << offset);
        Rng rng(seed++);
        std::vector<float> x = rng.vector(n, offset - 10.0f, offset + 10.0f);
        const std::vector<double> e = softmax_oracle(x, n, 1, 0, log);
        std::vector<float> y(n), yr(n), inplace = x;
        if (log) {
          f32_log_softmax(x.data(), y.data(), n);
          ref::f32_log_softmax(x.data(), yr.data(), n);
          f32_log_softmax(inplace.data(), inplace.data(), n);
        } else {
          f32_softmax(x.data(), y.data(), n);
          ref::f32_softmax(x.data(), yr.data(), n);
          f32_softmax(inplace.data(), inplace.data(), n);
        }
        size_t bad = 0;
        for (size_t i = 0; i < n; ++i) {
          if ((!softmax_ok(y[i], e[i], log) || !softmax_ok(yr[i], e[i], log)) && bad++ == 0) {
            INFO("i=" << i << " simd " << y[i] << " ref " << yr[i] << " expected " << e[i]);
            CHECK(false);
          }
        }
        CHECK(bad == 0);
        CHECK(inplace == y);
      }
    }
  }
}

TEST_CASE("kernels/softmax: columns of a [rows, cols] block") {
  uint64_t seed = 50;
  for (bool log : {false, true}) {
    for (size_t rows : {size_t(1), size_t(3), size_t(17)}) {
      for (size_t cols : test::edge_sizes()) {
        INFO(std::string(log ? "log_softmax" : "softmax") << "_columns rows=" << rows << " cols=" << cols);
        Rng rng(seed++);
        const std::vector<float> x = rng.vector(rows * cols, -8.0f, 8.0f);
        std::vector<float> y(rows * cols), yr(rows * cols), inplace = x;
        if (log) {
          f32_log_softmax_columns(x.data(), y.data(), rows, cols);
          ref::f32_log_softmax_columns(x.data(), yr.data(), rows, cols);
          f32_log_softmax_columns(inplace.data(), inplace.data(), rows, cols);
        } else {
          f32_softmax_columns(x.data(), y.data(), rows, cols);
          ref::f32_softmax_columns(x.data(), yr.data(), rows, cols);
          f32_softmax_columns(inplace.data(), inplace.data(), rows, cols);
        }
        size_t bad = 0;
        for (size_t j = 0; j < cols; ++j) {
          const std::vector<double> e = softmax_oracle(x, rows, cols, j, log);
          for (size_t k = 0; k < rows; ++k) {
            const size_t i = k * cols + j;
            if ((!softmax_ok(y[i], e[k], log) || !softmax_ok(yr[i], e[k], log)) && bad++ == 0) {
              INFO("row " << k << " col " << j << ": simd " << y[i] << " ref " << yr[i]
                          << " expected " << e[k]);
              CHECK(false);
            }
          }
        }
        CHECK(bad == 0);
        CHECK(inplace == y);
      }
    }
  }
}

TEST_CASE("kernels/normalize: mean/var, affine, layer norm and instance norm") {
  std::vector<size_t> sizes = test::edge_sizes();
  sizes.push_back(224 * 224 + 1);  // longer than one float accumulation block
  uint64_t seed = 200;
  for (size_t n : sizes) {
    INFO("n=" << n);
    Rng rng(seed++);
    // Values with a large mean relative to their spread (catastrophic for one-pass variance).
    const std::vector<float> x = rng.vector(n, 95.0f, 105.0f);
    double mu = 0.0;
    for (float v : x) mu += v;
    mu /= double(n);
    double var = 0.0;
    for (float v : x) var += (v - mu) * (v - mu);
    var /= double(n);
    float m = 0, s2 = 0;
    f32_mean_var(x.data(), n, &m, &s2);
    CHECK(test::nearly_equal(m, mu, 0.0, kStatRelTol));
    CHECK(test::nearly_equal(s2, var, 1e-12, 1e-5));  // var ~ 8: relative to its own size
    ref::f32_mean_var(x.data(), n, &m, &s2);
    CHECK(test::nearly_equal(m, mu, 0.0, kStatRelTol));
    CHECK(test::nearly_equal(s2, var, 1e-12, 1e-5));

    const float eps = 1e-5f;
    const double inv = 1.0 / std::sqrt(var + eps);
    const std::vector<float> scale = rng.vector(n, 0.5f, 2.0f), bias = rng.vector(n);
    for (int variant = 0; variant < 2; ++variant) {
      LayerNormParams p;
      p.epsilon = eps;
      if (variant) {
        p.scale = scale.data();
        p.bias = bias.data();
      }
      std::vector<float> y(n), yr(n), inplace = x;
      float mean_out = 0, inv_out = 0;
      f32_layer_norm(x.data(), y.data(), n, p, &mean_out, &inv_out);
      ref::f32_layer_norm(x.data(), yr.data(), n, p);
      f32_layer_norm(inplace.data(), inplace.data(), n, p);
      CHECK(test::nearly_equal(mean_out, mu, 0.0, kStatRelTol));
      CHECK(test::nearly_equal(inv_out, inv, 0.0, 1e-5));
      size_t bad = 0;
      for (size_t i = 0; i < n; ++i) {
        double e = (x[i] - mu) * inv;
        if (variant) e = e * scale[i] + bias[i];
        if ((std::fabs(y[i] - e) > kNormAbsTol || std::fabs(yr[i] - e) > kNormAbsTol) &&
            bad++ == 0) {
          INFO("layer norm i=" << i << " simd " << y[i] << " ref " << yr[i] << " expected " << e);
          CHECK(false);
        }
      }
      CHECK(bad == 0);
      CHECK(inplace == y);
    }
    {
      const float sc = 1.5f, bi = -0.25f;
      std::vector<float> y(n), yr(n);
      f32_instance_norm(x.data(), y.data(), n, sc, bi, eps);
      ref::f32_instance_norm(x.data(), yr.data(), n, sc, bi, eps);
      size_t bad = 0;
      for (size_t i = 0; i < n; ++i) {
        const double e = (x[i] - mu) * inv * sc + bi;
        if ((std::fabs(y[i] - e) > kNormAbsTol || std::fabs(yr[i] - e) > kNormAbsTol) &&
            bad++ == 0) {
          INFO("instance norm i=" << i << " simd " << y[i] << " expected " << e);
          CHECK(false);
        }
      }
      CHECK(bad == 0);
    }
    {
      std::vector<float> y(n), inplace = x;
      f32_affine(x.data(), y.data(), n, 0.75f, -3.0f);
      f32_affine(inplace.data(), inplace.data(), n, 0.75f, -3.0f);
      size_t bad = 0;
      for (size_t i = 0; i < n; ++i) {
        // One or two roundings (FMA or not): within 1 ulp of the exact value.
        const double e = double(x[i]) * 0.75 - 3.0;
        if (!test::nearly_equal(y[i], e, 0.0, 1.2e-7) && bad++ == 0) CHECK(false);
      }
      CHECK(bad == 0);
      CHECK(inplace == y);
    }
  }
  float m = 1, v = 1;
  f32_mean_var(nullptr, 0, &m, &v);
  CHECK(m == 0.0f);
  CHECK(v == 0.0f);
}

double reduce_oracle(ReduceOp op, const std::vector<float>& x, size_t n, size_t stride,
                     size_t offset) {
  double acc = op == ReduceOp::Max ? -INFINITY : op == ReduceOp::Min ? INFINITY
               : op == ReduceOp::Prod ? 1.0 : 0.0;
  double m = -INFINITY;
  for (size_t i = 0; i < n; ++i) m = std::fmax(m, x[offset + i * stride]);
  for (size_t i = 0; i < n; ++i) {
    const double v = x[offset + i * stride];
    switch (op) {
      case ReduceOp::Max: acc = std::fmax(acc, v); break;
      case ReduceOp::Min: acc = std::fmin(acc, v); break;
      case ReduceOp::Prod: acc *= v; break;
      case ReduceOp::SumSquare: case ReduceOp::L2: acc += v * v; break;
      case ReduceOp::L1: acc += std::fabs(v); break;
      case ReduceOp::LogSumExp: acc += std::exp(v - m); break;
      default: acc += v; break;
    }
  }
  switch (op) {
    case ReduceOp::Mean: return acc / double(n);
    case ReduceOp::L2: return std::sqrt(acc);
    case ReduceOp::LogSum: return std::log(acc);
    case ReduceOp::LogSumExp: return m + std::log(acc);
    default: return acc;
  }
}

TEST_CASE("kernels/reduce: every op over rows and over columns") {
  uint64_t seed = 400;
  for (int o = 0; o < static_cast<int>(ReduceOp::kCount); ++o) {
    const ReduceOp op = static_cast<ReduceOp>(o);
    // Prod: values near 1 (no overflow); LogSum: positive sums.
    const float lo = op == ReduceOp::Prod ? 0.9f : op == ReduceOp::LogSum ? 0.1f : -3.0f;
    const float hi = op == ReduceOp::Prod ? 1.1f : 3.0f;
    // Signed sums cancel: compare them relative to the sum of magnitudes instead.
    const bool signed_sum = (op == ReduceOp::Sum || op == ReduceOp::Mean) && lo < 0;
    for (size_t n : test::edge_sizes()) {
      INFO(std::string(reduce_op_name(op)) << " n=" << n);
      Rng rng(seed++);
      const std::vector<float> x = rng.vector(n, lo, hi);
      const double e = reduce_oracle(op, x, n, 1, 0);
      double scale = std::fabs(e);
      if (signed_sum) {
        scale = 0.0;
        for (float v : x) scale += std::fabs(v);
        if (op == ReduceOp::Mean) scale /= double(n);
      }
      const float y = f32_reduce(op, x.data(), n), yr = ref::f32_reduce(op, x.data(), n);
      INFO("simd " << y << " ref " << yr << " expected " << e);
      CHECK(std::fabs(y - e) <= kReduceRelTol * scale + 1e-30);
      CHECK(std::fabs(yr - e) <= kReduceRelTol * scale + 1e-30);

      for (size_t rows : {size_t(1), size_t(5)}) {
        const size_t cols = n;
        const std::vector<float> xb = rng.vector(rows * cols, lo, hi);
        std::vector<float> yc(cols), ycr(cols);
        f32_reduce_columns(op, xb.data(), rows, cols, yc.data());
        ref::f32_reduce_columns(op, xb.data(), rows, cols, ycr.data());
        size_t bad = 0;
        for (size_t j = 0; j < cols; ++j) {
          const double ej = reduce_oracle(op, xb, rows, cols, j);
          double sj = std::fabs(ej);
          if (signed_sum) {
            sj = 0.0;
            for (size_t k = 0; k < rows; ++k) sj += std::fabs(xb[k * cols + j]);
          }
          const double tol = kReduceRelTol * sj + 1e-30;
          if ((std::fabs(yc[j] - ej) > tol || std::fabs(ycr[j] - ej) > tol) && bad++ == 0) {
            INFO("columns rows=" << rows << " col " << j << ": simd " << yc[j] << " ref "
                                 << ycr[j] << " expected " << ej);
            CHECK(false);
          }
        }
        CHECK(bad == 0);
      }
    }
  }
}

TEST_CASE("kernels/reduce: empty inputs give the identity") {
  CHECK(f32_reduce(ReduceOp::Sum, nullptr, 0) == 0.0f);
  CHECK(f32_reduce(ReduceOp::Max, nullptr, 0) == -INFINITY);
  CHECK(f32_reduce(ReduceOp::Min, nullptr, 0) == INFINITY);
  CHECK(f32_reduce(ReduceOp::Prod, nullptr, 0) == 1.0f);
  CHECK(f32_reduce(ReduceOp::LogSumExp, nullptr, 0) == -INFINITY);
  CHECK(std::isnan(f32_reduce(ReduceOp::Mean, nullptr, 0)));
  std::vector<float> y(3, 7.0f);
  f32_reduce_columns(ReduceOp::Sum, nullptr, 0, 3, y.data());
  CHECK(y == std::vector<float>(3, 0.0f));
  CHECK(std::string(reduce_op_name(ReduceOp::LogSumExp)) == "ReduceLogSumExp");
}

}  // namespace
}  // namespace qm::kernels
