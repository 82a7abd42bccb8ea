#include "kernels/ref/normalize.h"

#include <cmath>
#include <limits>
#include <vector>

namespace qm::kernels::ref {
namespace {

// Softmax of n values x[i * stride] into y[i * stride].
void softmax_strided(const float* x, float* y, size_t n, size_t stride, bool log) {
  if (n == 0) return;
  double m = -std::numeric_limits<double>::infinity();
  for (size_t i = 0; i < n; ++i) m = std::fmax(m, x[i * stride]);
  double s = 0.0;
  for (size_t i = 0; i < n; ++i) s += std::exp(x[i * stride] - m);
  for (size_t i = 0; i < n; ++i) {
    const double v = x[i * stride] - m;
    y[i * stride] = static_cast<float>(log ? v - std::log(s) : std::exp(v) / s);
  }
}

double reduce_strided(ReduceOp op, const float* x, size_t n, size_t stride) {
  const double inf = std::numeric_limits<double>::infinity();
  double acc = op == ReduceOp::Max ? -inf : op == ReduceOp::Min ? inf
               : op == ReduceOp::Prod ? 1.0 : 0.0;
  double m = -inf;
  if (op == ReduceOp::LogSumExp) {
    for (size_t i = 0; i < n; ++i) m = std::fmax(m, x[i * stride]);
    if (n == 0 || std::isinf(m)) return m;
  }
  for (size_t i = 0; i < n; ++i) {
    const double v = x[i * stride];
    switch (op) {
      case ReduceOp::Max: acc = v > acc ? v : acc; break;
      case ReduceOp::Min: acc = v < acc ? v : acc; break;
      case ReduceOp::Prod: acc *= v; break;
      case ReduceOp::SumSquare:
      case ReduceOp::L2: acc += v * v; break;
      case ReduceOp::L1: acc += std::fabs(v); break;
      case ReduceOp::LogSumExp: acc += std::exp(v - m); break;
      default: acc += v; break;
    }
  }
  switch (op) {
    case ReduceOp::Mean: return n ? acc / double(n) : std::nan("");
    case ReduceOp::L2: return std::sqrt(acc);
    case ReduceOp::LogSum: return std::log(acc);
    case ReduceOp::LogSumExp: return m + std::log(acc);
    default: return acc;
  }
}

}  // namespace

void f32_softmax(const float* x, float* y, size_t n) { softmax_strided(x, y, n, 1, false); }
void f32_log_softmax(const float* x, float* y, size_t n) { softmax_strided(x, y, n, 1, true); }

void f32_softmax_columns(const float* x, float* y, size_t rows, size_t cols) {
  for (size_t j = 0; j < cols; ++j) softmax_strided(x + j, y + j, rows, cols, false);
}

void f32_log_softmax_columns(const float* x, float* y, size_t rows, size_t cols) {
  for (size_t j = 0; j < cols; ++j) softmax_strided(x + j, y + j, rows, cols, true);
}

void f32_mean_var(const float* x, size_t n, float* mean, float* var) {
  double s = 0.0;
  for (size_t i = 0; i < n; ++i) s += x[i];
  const double mu = n ? s / double(n) : 0.0;
  double v = 0.0;
  for (size_t i = 0; i < n; ++i) v += (x[i] - mu) * (x[i] - mu);
  *mean = static_cast<float>(mu);
  *var = static_cast<float>(n ? v / double(n) : 0.0);
}

void f32_affine(const float* x, float* y, size_t n, float scale, float shift) {
  for (size_t i = 0; i < n; ++i) y[i] = x[i] * scale + shift;
}

void f32_layer_norm(const float* x, float* y, size_t n, const LayerNormParams& p,
                    float* mean_out, float* inv_std_out) {
  float mean = 0.0f, var = 0.0f;
  f32_mean_var(x, n, &mean, &var);
  const double inv = 1.0 / std::sqrt(double(var) + p.epsilon);
  for (size_t i = 0; i < n; ++i) {
    double t = (x[i] - double(mean)) * inv;
    if (p.scale) t *= p.scale[i];
    if (p.bias) t += p.bias[i];
    y[i] = static_cast<float>(t);
  }
  if (mean_out) *mean_out = mean;
  if (inv_std_out) *inv_std_out = static_cast<float>(inv);
}

void f32_instance_norm(const float* x, float* y, size_t n, float scale, float bias,
                       float epsilon) {
  float mean = 0.0f, var = 0.0f;
  f32_mean_var(x, n, &mean, &var);
  const double inv = 1.0 / std::sqrt(double(var) + epsilon);
  for (size_t i = 0; i < n; ++i) y[i] = static_cast<float>((x[i] - mean) * inv * scale + bias);
}

float f32_reduce(ReduceOp op, const float* x, size_t n) {
  return static_cast<float>(reduce_strided(op, x, n, 1));
}

void f32_reduce_columns(ReduceOp op, const float* x, size_t rows, size_t cols, float* y) {
  for (size_t j = 0; j < cols; ++j) y[j] = static_cast<float>(reduce_strided(op, x + j, rows, cols));
}

}  // namespace qm::kernels::ref
