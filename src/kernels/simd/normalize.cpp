// Softmax, normalisation and reduction kernels on xsimd::batch<float>.
#include "kernels/normalize.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

#include "kernels/aligned_buffer.h"
#include "kernels/simd/simd.h"
#include "kernels/simd/vmath.h"

namespace qm::kernels {
namespace {

using simd::Batch;
using simd::kLanes;

constexpr float kInf = std::numeric_limits<float>::infinity();
// Values summed in float vector accumulators before the partial sum moves to double: the float
// error stays ~kBlock / (4 lanes) * eps / 2 relative, far below what the tests allow.
constexpr size_t kBlock = 4096;

// Loads the tail x[i, n) padded with `fill` (so that the padding is neutral for the reduction).
inline Batch load_tail(const float* x, size_t count, float fill) {
  alignas(kBufferAlignment) float t[kLanes];
  for (size_t j = 0; j < kLanes; ++j) t[j] = j < count ? x[j] : fill;
  return Batch::load_aligned(t);
}

inline void store_tail(const Batch& v, float* y, size_t count) {
  alignas(kBufferAlignment) float t[kLanes];
  v.store_aligned(t);
  std::memcpy(y, t, count * sizeof(float));
}

// sum of f(x[i]) over n values; f maps a Batch to a Batch and must map the padding value
// `fill` to 0.
template <class F>
double sum_of(const float* x, size_t n, float fill, F f) {
  double total = 0.0;
  for (size_t b = 0; b < n; b += kBlock) {
    const size_t end = std::min(n, b + kBlock);
    Batch a0(0.0f), a1(0.0f), a2(0.0f), a3(0.0f);
    size_t i = b;
    for (; i + 4 * kLanes <= end; i += 4 * kLanes) {
      a0 += f(Batch::load_unaligned(x + i));
      a1 += f(Batch::load_unaligned(x + i + kLanes));
      a2 += f(Batch::load_unaligned(x + i + 2 * kLanes));
      a3 += f(Batch::load_unaligned(x + i + 3 * kLanes));
    }
    for (; i + kLanes <= end; i += kLanes) a0 += f(Batch::load_unaligned(x + i));
    if (i < end) a1 += f(load_tail(x + i, end - i, fill));
    total += double(xsimd::hadd((a0 + a1) + (a2 + a3)));
  }
  return total;
}

inline Batch vmax(const Batch& a, const Batch& b) { return xsimd::select(a > b, a, b); }
inline Batch vmin(const Batch& a, const Batch& b) { return xsimd::select(a < b, a, b); }

// Horizontal max/min/product of one vector.
template <class F>
float fold(const Batch& v, F f) {
  alignas(kBufferAlignment) float t[kLanes];
  v.store_aligned(t);
  float r = t[0];
  for (size_t j = 1; j < kLanes; ++j) r = f(r, t[j]);
  return r;
}

float max_of(const float* x, size_t n) {
  Batch m0(-kInf), m1(-kInf);
  size_t i = 0;
  for (; i + 2 * kLanes <= n; i += 2 * kLanes) {
    m0 = vmax(Batch::load_unaligned(x + i), m0);
    m1 = vmax(Batch::load_unaligned(x + i + kLanes), m1);
  }
  for (; i + kLanes <= n; i += kLanes) m0 = vmax(Batch::load_unaligned(x + i), m0);
  if (i < n) m1 = vmax(load_tail(x + i, n - i, -kInf), m1);
  return fold(vmax(m0, m1), [](float a, float b) { return a > b ? a : b; });
}

float min_of(const float* x, size_t n) {
  Batch m0(kInf), m1(kInf);
  size_t i = 0;
  for (; i + 2 * kLanes <= n; i += 2 * kLanes) {
    m0 = vmin(Batch::load_unaligned(x + i), m0);
    m1 = vmin(Batch::load_unaligned(x + i + kLanes), m1);
  }
  for (; i + kLanes <= n; i += kLanes) m0 = vmin(Batch::load_unaligned(x + i), m0);
  if (i < n) m1 = vmin(load_tail(x + i, n - i, kInf), m1);
  return fold(vmin(m0, m1), [](float a, float b) { return a < b ? a : b; });
}

float prod_of(const float* x, size_t n) {
  Batch p(1.0f);
  size_t i = 0;
  for (; i + kLanes <= n; i += kLanes) p *= Batch::load_unaligned(x + i);
  if (i < n) p *= load_tail(x + i, n - i, 1.0f);
  return fold(p, [](float a, float b) { return a * b; });
}

// y = f(x) over n values, the tail through the same vector code.
template <class F>
void map1(const float* x, float* y, size_t n, F f) {
  size_t i = 0;
  for (; i + kLanes <= n; i += kLanes) f(Batch::load_unaligned(x + i)).store_unaligned(y + i);
  if (i < n) store_tail(f(load_tail(x + i, n - i, 0.0f)), y + i, n - i);
}

// sum_i e^(x_i - m), optionally storing the exponentials to y.
double exp_sum(const float* x, size_t n, float m, float* y) {
  const Batch vm(m);
  if (!y) {
    return sum_of(x, n, -kInf, [&](const Batch& v) { return simd::exp(v - vm); });
  }
  double total = 0.0;
  for (size_t b = 0; b < n; b += kBlock) {
    const size_t end = std::min(n, b + kBlock);
    Batch a0(0.0f), a1(0.0f);
    size_t i = b;
    for (; i + kLanes <= end; i += kLanes) {
      const Batch e = simd::exp(Batch::load_unaligned(x + i) - vm);
      e.store_unaligned(y + i);
      a0 += e;
    }
    if (i < end) {
      const Batch e = simd::exp(load_tail(x + i, end - i, -kInf) - vm);
      store_tail(e, y + i, end - i);
      a1 += e;
    }
    total += double(xsimd::hadd(a0 + a1));
  }
  return total;
}

// Per-thread scratch for the column kernels.
std::vector<float>& scratch(size_t n) {
  thread_local std::vector<float> s;
  if (s.size() < n) s.resize(n);
  return s;
}

// acc[j] = f(acc[j], x[j]) for j < cols (f element-wise, so the scalar tail is exact too).
template <class F, class G>
void combine_row(float* acc, const float* x, size_t cols, F vf, G sf) {
  size_t j = 0;
  for (; j + kLanes <= cols; j += kLanes) {
    vf(Batch::load_unaligned(acc + j), Batch::load_unaligned(x + j)).store_unaligned(acc + j);
  }
  for (; j < cols; ++j) acc[j] = sf(acc[j], x[j]);
}

// m[j] = max over rows of x[k * cols + j].
void column_max(const float* x, size_t rows, size_t cols, float* m) {
  std::fill(m, m + cols, -kInf);
  for (size_t k = 0; k < rows; ++k) {
    combine_row(m, x + k * cols, cols, [](Batch a, Batch b) { return vmax(b, a); },
                [](float a, float b) { return b > a ? b : a; });
  }
}

// s[j] = sum over rows of e^(x[k, j] - m[j]), storing the exponentials to y when non-null.
void column_exp_sum(const float* x, size_t rows, size_t cols, const float* m, float* s,
                    float* y) {
  std::fill(s, s + cols, 0.0f);
  for (size_t k = 0; k < rows; ++k) {
    const float* xr = x + k * cols;
    float* yr = y ? y + k * cols : nullptr;
    size_t j = 0;
    for (; j + kLanes <= cols; j += kLanes) {
      const Batch e = simd::exp(Batch::load_unaligned(xr + j) - Batch::load_unaligned(m + j));
      if (yr) e.store_unaligned(yr + j);
      (Batch::load_unaligned(s + j) + e).store_unaligned(s + j);
    }
    if (j < cols) {
      const size_t c = cols - j;
      const Batch e = simd::exp(load_tail(xr + j, c, 0.0f) - load_tail(m + j, c, 0.0f));
      if (yr) store_tail(e, yr + j, c);
      store_tail(load_tail(s + j, c, 0.0f) + e, s + j, c);
    }
  }
}

void softmax_columns(const float* x, float* y, size_t rows, size_t cols, bool log) {
  if (rows == 0 || cols == 0) return;
  std::vector<float>& buf = scratch(2 * cols);
  float* m = buf.data();
  float* s = m + cols;
  column_max(x, rows, cols, m);
  column_exp_sum(x, rows, cols, m, s, log ? nullptr : y);
  if (log) {
    // y = (x - m) - log(s)
    map1(s, s, cols, [](Batch v) { return simd::log(v); });
    for (size_t k = 0; k < rows; ++k) {
      const float* xr = x + k * cols;
      float* yr = y + k * cols;
      size_t j = 0;
      for (; j + kLanes <= cols; j += kLanes) {
        ((Batch::load_unaligned(xr + j) - Batch::load_unaligned(m + j)) -
         Batch::load_unaligned(s + j))
            .store_unaligned(yr + j);
      }
      for (; j < cols; ++j) yr[j] = (xr[j] - m[j]) - s[j];
    }
  } else {
    map1(s, s, cols, [](Batch v) { return Batch(1.0f) / v; });
    for (size_t k = 0; k < rows; ++k) {
      float* yr = y + k * cols;
      combine_row(yr, s, cols, [](Batch a, Batch b) { return a * b; },
                  [](float a, float b) { return a * b; });
    }
  }
}

}  // namespace

void f32_softmax(const float* x, float* y, size_t n) {
  if (n == 0) return;
  const float m = max_of(x, n);
  const float inv = float(1.0 / exp_sum(x, n, m, y));
  const Batch vinv(inv);
  map1(y, y, n, [&](Batch v) { return v * vinv; });
}

void f32_log_softmax(const float* x, float* y, size_t n) {
  if (n == 0) return;
  const float m = max_of(x, n);
  const float ls = float(std::log(exp_sum(x, n, m, nullptr)));
  const Batch vm(m), vls(ls);
  map1(x, y, n, [&](Batch v) { return (v - vm) - vls; });
}

void f32_softmax_columns(const float* x, float* y, size_t rows, size_t cols) {
  softmax_columns(x, y, rows, cols, false);
}

void f32_log_softmax_columns(const float* x, float* y, size_t rows, size_t cols) {
  softmax_columns(x, y, rows, cols, true);
}

void f32_mean_var(const float* x, size_t n, float* mean, float* var) {
  if (n == 0) {
    *mean = 0.0f;
    *var = 0.0f;
    return;
  }
  const double mu = sum_of(x, n, 0.0f, [](const Batch& v) { return v; }) / double(n);
  const Batch vm(static_cast<float>(mu));
  // Padding lanes hold mu itself so that they add 0.
  const double ss = sum_of(x, n, static_cast<float>(mu), [&](const Batch& v) {
    const Batch d = v - vm;
    return d * d;
  });
  *mean = static_cast<float>(mu);
  *var = static_cast<float>(ss / double(n));
}

void f32_affine(const float* x, float* y, size_t n, float scale, float shift) {
  const Batch s(scale), b(shift);
  map1(x, y, n, [&](Batch v) { return xsimd::fma(v, s, b); });
}

void f32_layer_norm(const float* x, float* y, size_t n, const LayerNormParams& p,
                    float* mean_out, float* inv_std_out) {
  float mean = 0.0f, var = 0.0f;
  f32_mean_var(x, n, &mean, &var);
  const float inv = static_cast<float>(1.0 / std::sqrt(double(var) + double(p.epsilon)));
  if (mean_out) *mean_out = mean;
  if (inv_std_out) *inv_std_out = inv;
  const Batch vm(mean), vi(inv);
  size_t i = 0;
  for (; i + kLanes <= n; i += kLanes) {
    Batch t = (Batch::load_unaligned(x + i) - vm) * vi;
    if (p.scale) t *= Batch::load_unaligned(p.scale + i);
    if (p.bias) t += Batch::load_unaligned(p.bias + i);
    t.store_unaligned(y + i);
  }
  if (i < n) {
    const size_t c = n - i;
    Batch t = (load_tail(x + i, c, 0.0f) - vm) * vi;
    if (p.scale) t *= load_tail(p.scale + i, c, 0.0f);
    if (p.bias) t += load_tail(p.bias + i, c, 0.0f);
    store_tail(t, y + i, c);
  }
}

void f32_instance_norm(const float* x, float* y, size_t n, float scale, float bias,
                       float epsilon) {
  float mean = 0.0f, var = 0.0f;
  f32_mean_var(x, n, &mean, &var);
  // (x - mean) * s + bias rather than x * s + (bias - mean * s): the latter cancels badly when
  // the mean is large compared with the spread.
  const Batch vm(mean), vs(static_cast<float>(double(scale) / std::sqrt(double(var) + epsilon)));
  const Batch vb(bias);
  map1(x, y, n, [&](Batch v) { return xsimd::fma(v - vm, vs, vb); });
}

const char* reduce_op_name(ReduceOp op) {
  static const char* const kNames[] = {"ReduceSum",  "ReduceMean",      "ReduceMax",
                                       "ReduceMin",  "ReduceProd",      "ReduceSumSquare",
                                       "ReduceL1",   "ReduceL2",        "ReduceLogSum",
                                       "ReduceLogSumExp"};
  static_assert(sizeof(kNames) / sizeof(kNames[0]) == size_t(ReduceOp::kCount), "names");
  return op < ReduceOp::kCount ? kNames[size_t(op)] : "?";
}

float f32_reduce(ReduceOp op, const float* x, size_t n) {
  const auto identity = [](const Batch& v) { return v; };
  switch (op) {
    case ReduceOp::Sum: return float(sum_of(x, n, 0.0f, identity));
    case ReduceOp::Mean:
      return n ? float(sum_of(x, n, 0.0f, identity) / double(n))
               : std::numeric_limits<float>::quiet_NaN();
    case ReduceOp::Max: return max_of(x, n);
    case ReduceOp::Min: return min_of(x, n);
    case ReduceOp::Prod: return prod_of(x, n);
    case ReduceOp::SumSquare:
      return float(sum_of(x, n, 0.0f, [](const Batch& v) { return v * v; }));
    case ReduceOp::L1:
      return float(sum_of(x, n, 0.0f, [](const Batch& v) { return xsimd::abs(v); }));
    case ReduceOp::L2:
      return float(std::sqrt(sum_of(x, n, 0.0f, [](const Batch& v) { return v * v; })));
    case ReduceOp::LogSum: return float(std::log(sum_of(x, n, 0.0f, identity)));
    case ReduceOp::LogSumExp: {
      const float m = max_of(x, n);
      if (n == 0 || std::isinf(m)) return m;
      return float(double(m) + std::log(exp_sum(x, n, m, nullptr)));
    }
    case ReduceOp::kCount: break;
  }
  return 0.0f;
}

void f32_reduce_columns(ReduceOp op, const float* x, size_t rows, size_t cols, float* y) {
  if (cols == 0) return;
  const auto add = [](Batch a, Batch b) { return a + b; };
  const auto sadd = [](float a, float b) { return a + b; };
  switch (op) {
    case ReduceOp::Max:
      return column_max(x, rows, cols, y);
    case ReduceOp::Min:
      std::fill(y, y + cols, kInf);
      for (size_t k = 0; k < rows; ++k) {
        combine_row(y, x + k * cols, cols, [](Batch a, Batch b) { return vmin(b, a); },
                    [](float a, float b) { return b < a ? b : a; });
      }
      return;
    case ReduceOp::Prod:
      std::fill(y, y + cols, 1.0f);
      for (size_t k = 0; k < rows; ++k) {
        combine_row(y, x + k * cols, cols, [](Batch a, Batch b) { return a * b; },
                    [](float a, float b) { return a * b; });
      }
      return;
    case ReduceOp::LogSumExp: {
      std::vector<float>& buf = scratch(cols);
      column_max(x, rows, cols, y);
      column_exp_sum(x, rows, cols, y, buf.data(), nullptr);
      for (size_t j = 0; j < cols; ++j) {
        if (!std::isinf(y[j])) y[j] = float(double(y[j]) + std::log(double(buf[j])));
      }
      return;
    }
    default:
      break;
  }
  // The sum family: rows transformed (square / abs) into a row buffer, summed in float over
  // blocks of rows and in double across blocks.
  std::vector<float>& buf = scratch(2 * cols);
  float* part = buf.data();
  float* row = part + cols;
  std::vector<double> total(cols, 0.0);
  const size_t block_rows = std::max<size_t>(1, kBlock / 8);
  for (size_t k0 = 0; k0 < rows; k0 += block_rows) {
    std::fill(part, part + cols, 0.0f);
    for (size_t k = k0; k < std::min(rows, k0 + block_rows); ++k) {
      const float* xr = x + k * cols;
      if (op == ReduceOp::SumSquare || op == ReduceOp::L2) {
        map1(xr, row, cols, [](Batch v) { return v * v; });
        xr = row;
      } else if (op == ReduceOp::L1) {
        map1(xr, row, cols, [](Batch v) { return xsimd::abs(v); });
        xr = row;
      }
      combine_row(part, xr, cols, add, sadd);
    }
    for (size_t j = 0; j < cols; ++j) total[j] += part[j];
  }
  for (size_t j = 0; j < cols; ++j) {
    double v = total[j];
    if (op == ReduceOp::Mean) v = rows ? v / double(rows) : std::nan("");
    if (op == ReduceOp::L2) v = std::sqrt(v);
    if (op == ReduceOp::LogSum) v = std::log(v);
    y[j] = float(v);
  }
}

}  // namespace qm::kernels
