#include "kernels/ref/elementwise.h"

#include <cmath>

namespace qm::kernels::ref {
namespace {

// The comparison order of x86 maxps/minps (see elementwise.h on NaN).
inline float max_of(float a, float b) { return a > b ? a : b; }
inline float min_of(float a, float b) { return a < b ? a : b; }

}  // namespace

float unary(UnaryOp op, float x, const UnaryParams& p) {
  switch (op) {
    case UnaryOp::Relu: return max_of(x, 0.0f);
    case UnaryOp::LeakyRelu: return x >= 0.0f ? x : p.alpha * x;
    case UnaryOp::Clip: return min_of(max_of(x, p.alpha), p.beta);
    case UnaryOp::Sigmoid: return 1.0f / (1.0f + std::exp(-x));
    case UnaryOp::Tanh: return std::tanh(x);
    case UnaryOp::Exp: return std::exp(x);
    case UnaryOp::Log: return std::log(x);
    case UnaryOp::Erf: return std::erf(x);
    case UnaryOp::GeluErf: return 0.5f * x * (1.0f + std::erf(x * 0.70710678118654752f));
    case UnaryOp::GeluTanh:
      return 0.5f * x * (1.0f + std::tanh(0.7978845608028654f * (x + 0.044715f * x * x * x)));
    case UnaryOp::HardSigmoid: return max_of(0.0f, min_of(1.0f, p.alpha * x + p.beta));
    case UnaryOp::HardSwish: return x * max_of(0.0f, min_of(1.0f, (1.0f / 6.0f) * x + 0.5f));
    case UnaryOp::Elu: return x > 0.0f ? x : p.alpha * (std::exp(x) - 1.0f);
    case UnaryOp::Neg: return -x;
    case UnaryOp::Abs: return std::fabs(x);
    case UnaryOp::Sqrt: return std::sqrt(x);
    case UnaryOp::Reciprocal: return 1.0f / x;
    case UnaryOp::kCount: break;
  }
  return x;
}

float binary(BinaryOp op, float a, float b) {
  switch (op) {
    case BinaryOp::Add: return a + b;
    case BinaryOp::Sub: return a - b;
    case BinaryOp::Mul: return a * b;
    case BinaryOp::Div: return a / b;
    case BinaryOp::Max: return max_of(a, b);
    case BinaryOp::Min: return min_of(a, b);
    case BinaryOp::Pow: return std::pow(a, b);
    case BinaryOp::kCount: break;
  }
  return a;
}

void f32_unary(UnaryOp op, const float* x, float* y, size_t n, const UnaryParams& p) {
  for (size_t i = 0; i < n; ++i) y[i] = unary(op, x[i], p);
}

void f32_binary(BinaryOp op, const float* a, const float* b, float* y, size_t n) {
  for (size_t i = 0; i < n; ++i) y[i] = binary(op, a[i], b[i]);
}

void f32_binary_scalar_rhs(BinaryOp op, const float* a, float b, float* y, size_t n) {
  for (size_t i = 0; i < n; ++i) {
    // Small integer exponents are exact products, as in the SIMD kernel.
    if (op == BinaryOp::Pow && b == 2.0f) {
      y[i] = a[i] * a[i];
    } else if (op == BinaryOp::Pow && b == 3.0f) {
      y[i] = a[i] * a[i] * a[i];
    } else if (op == BinaryOp::Pow && b == 1.0f) {
      y[i] = a[i];
    } else {
      y[i] = binary(op, a[i], b);
    }
  }
}

void f32_binary_scalar_lhs(BinaryOp op, float a, const float* b, float* y, size_t n) {
  for (size_t i = 0; i < n; ++i) y[i] = binary(op, a, b[i]);
}

}  // namespace qm::kernels::ref
