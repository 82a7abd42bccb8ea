// Element-wise f32 kernels over contiguous spans: unary activations/math and binary arithmetic
// (same-length spans, or one side a scalar). Broadcasting other shapes is the op layer's job: it
// calls these on contiguous runs. Every kernel allows in-place use (y == x, or y == a / y == b);
// other partial overlaps are not allowed.
//
// Accuracy: exp, log, tanh, erf and sigmoid are vectorised polynomial approximations within a
// few ulp of the correctly rounded result (see kernels/simd/vmath.h); the rest are exact IEEE
// operations. Min/Max/Relu/Clip with a NaN operand return the second operand of the comparison
// (x86 maxps semantics; also what the wasm build does), not necessarily NaN.
#pragma once

#include <cstddef>

namespace qm::kernels {

/// Unary operations of f32_unary. Parameters come from UnaryParams::alpha/beta where noted.
enum class UnaryOp : unsigned char {
  Relu,         ///< max(x, 0)
  LeakyRelu,    ///< x >= 0 ? x : alpha * x
  Clip,         ///< min(max(x, alpha), beta)
  Sigmoid,      ///< 1 / (1 + e^-x)
  Tanh,
  Exp,
  Log,
  Erf,
  GeluErf,      ///< 0.5 x (1 + erf(x / sqrt 2))  (ONNX Gelu, approximate="none")
  GeluTanh,     ///< 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))  (approximate="tanh")
  HardSigmoid,  ///< max(0, min(1, alpha x + beta))  (ONNX defaults alpha 0.2, beta 0.5)
  HardSwish,    ///< x max(0, min(1, x / 6 + 1/2))
  Elu,          ///< x > 0 ? x : alpha (e^x - 1)
  Neg,
  Abs,
  Sqrt,
  Reciprocal,   ///< 1 / x (a true division)
  kCount
};
static_assert(static_cast<int>(UnaryOp::kCount) == 17, "update unary_op_name()");

/// "Relu", "LeakyRelu", ... (the ONNX-style name of the operation).
const char* unary_op_name(UnaryOp op);

/// Operation parameters (meaning per UnaryOp).
struct UnaryParams {
  float alpha = 0.0f;
  float beta = 0.0f;
};

/// y[i] = op(x[i]) for i < n. y may equal x.
void f32_unary(UnaryOp op, const float* x, float* y, size_t n, const UnaryParams& params = {});

// Named shortcuts for the common activations.
inline void f32_relu(const float* x, float* y, size_t n) { f32_unary(UnaryOp::Relu, x, y, n); }
inline void f32_leaky_relu(const float* x, float* y, size_t n, float alpha) {
  f32_unary(UnaryOp::LeakyRelu, x, y, n, {alpha, 0.0f});
}
inline void f32_clip(const float* x, float* y, size_t n, float lo, float hi) {
  f32_unary(UnaryOp::Clip, x, y, n, {lo, hi});
}
inline void f32_sigmoid(const float* x, float* y, size_t n) {
  f32_unary(UnaryOp::Sigmoid, x, y, n);
}
inline void f32_tanh(const float* x, float* y, size_t n) { f32_unary(UnaryOp::Tanh, x, y, n); }
inline void f32_exp(const float* x, float* y, size_t n) { f32_unary(UnaryOp::Exp, x, y, n); }

/// Binary operations of f32_binary*.
enum class BinaryOp : unsigned char {
  Add,
  Sub,
  Mul,
  Div,  ///< a true division
  Max,
  Min,
  Pow,  ///< std::pow, element by element (exponents 1, 2, 3 of a scalar b are exact products)
  kCount
};
static_assert(static_cast<int>(BinaryOp::kCount) == 7, "update binary_op_name()");

/// "Add", "Sub", ...
const char* binary_op_name(BinaryOp op);

/// y[i] = a[i] op b[i] for i < n. y may equal a and/or b.
void f32_binary(BinaryOp op, const float* a, const float* b, float* y, size_t n);
/// y[i] = a[i] op b (scalar right-hand side). y may equal a.
void f32_binary_scalar_rhs(BinaryOp op, const float* a, float b, float* y, size_t n);
/// y[i] = a op b[i] (scalar left-hand side). y may equal b.
void f32_binary_scalar_lhs(BinaryOp op, float a, const float* b, float* y, size_t n);

}  // namespace qm::kernels
