// Element-wise kernels on xsimd::batch<float>. The tail (n % lanes elements) goes through the
// same vector code via a small stack buffer, so every element gets the same arithmetic whatever
// its position (results do not depend on n or on where a span starts).
#include "kernels/elementwise.h"

#include <cmath>
#include <cstring>

#include "kernels/aligned_buffer.h"
#include "kernels/simd/simd.h"
#include "kernels/simd/vmath.h"

namespace qm::kernels {
namespace {

using simd::Batch;
using simd::kLanes;

template <class F>
void map1(const float* x, float* y, size_t n, F f) {
  size_t i = 0;
  for (; i + 2 * kLanes <= n; i += 2 * kLanes) {
    const Batch a = Batch::load_unaligned(x + i);
    const Batch b = Batch::load_unaligned(x + i + kLanes);
    f(a).store_unaligned(y + i);
    f(b).store_unaligned(y + i + kLanes);
  }
  for (; i + kLanes <= n; i += kLanes) f(Batch::load_unaligned(x + i)).store_unaligned(y + i);
  if (i < n) {
    alignas(kBufferAlignment) float t[kLanes] = {};
    std::memcpy(t, x + i, (n - i) * sizeof(float));
    f(Batch::load_aligned(t)).store_aligned(t);
    std::memcpy(y + i, t, (n - i) * sizeof(float));
  }
}

template <class F>
void map2(const float* a, const float* b, float* y, size_t n, F f) {
  size_t i = 0;
  for (; i + kLanes <= n; i += kLanes) {
    f(Batch::load_unaligned(a + i), Batch::load_unaligned(b + i)).store_unaligned(y + i);
  }
  if (i < n) {
    alignas(kBufferAlignment) float ta[kLanes] = {}, tb[kLanes] = {};
    std::memcpy(ta, a + i, (n - i) * sizeof(float));
    std::memcpy(tb, b + i, (n - i) * sizeof(float));
    f(Batch::load_aligned(ta), Batch::load_aligned(tb)).store_aligned(ta);
    std::memcpy(y + i, ta, (n - i) * sizeof(float));
  }
}

// a > b ? a : b and a < b ? a : b, spelled out so the scalar references can match them exactly.
inline Batch vmax(const Batch& a, const Batch& b) { return xsimd::select(a > b, a, b); }
inline Batch vmin(const Batch& a, const Batch& b) { return xsimd::select(a < b, a, b); }

template <class F>
void dispatch_binary(BinaryOp op, F run) {
  switch (op) {
    case BinaryOp::Add: return run([](Batch a, Batch b) { return a + b; });
    case BinaryOp::Sub: return run([](Batch a, Batch b) { return a - b; });
    case BinaryOp::Mul: return run([](Batch a, Batch b) { return a * b; });
    case BinaryOp::Div: return run([](Batch a, Batch b) { return a / b; });
    case BinaryOp::Max: return run([](Batch a, Batch b) { return vmax(a, b); });
    case BinaryOp::Min: return run([](Batch a, Batch b) { return vmin(a, b); });
    case BinaryOp::Pow:
    case BinaryOp::kCount: break;
  }
}

}  // namespace

const char* unary_op_name(UnaryOp op) {
  static const char* const kNames[] = {"Relu",     "LeakyRelu", "Clip",        "Sigmoid",
                                       "Tanh",     "Exp",       "Log",         "Erf",
                                       "GeluErf",  "GeluTanh",  "HardSigmoid", "HardSwish",
                                       "Elu",      "Neg",       "Abs",         "Sqrt",
                                       "Reciprocal"};
  static_assert(sizeof(kNames) / sizeof(kNames[0]) == size_t(UnaryOp::kCount), "names");
  return op < UnaryOp::kCount ? kNames[size_t(op)] : "?";
}

const char* binary_op_name(BinaryOp op) {
  static const char* const kNames[] = {"Add", "Sub", "Mul", "Div", "Max", "Min", "Pow"};
  static_assert(sizeof(kNames) / sizeof(kNames[0]) == size_t(BinaryOp::kCount), "names");
  return op < BinaryOp::kCount ? kNames[size_t(op)] : "?";
}

void f32_unary(UnaryOp op, const float* x, float* y, size_t n, const UnaryParams& p) {
  const Batch zero(0.0f), one(1.0f), half(0.5f);
  const Batch alpha(p.alpha), beta(p.beta);
  switch (op) {
    case UnaryOp::Relu:
      return map1(x, y, n, [&](Batch v) { return vmax(v, zero); });
    case UnaryOp::LeakyRelu:
      return map1(x, y, n, [&](Batch v) { return xsimd::select(v >= zero, v, alpha * v); });
    case UnaryOp::Clip:
      return map1(x, y, n, [&](Batch v) { return vmin(vmax(v, alpha), beta); });
    case UnaryOp::Sigmoid:
      return map1(x, y, n, [](Batch v) { return simd::sigmoid(v); });
    case UnaryOp::Tanh:
      return map1(x, y, n, [](Batch v) { return simd::tanh(v); });
    case UnaryOp::Exp:
      return map1(x, y, n, [](Batch v) { return simd::exp(v); });
    case UnaryOp::Log:
      return map1(x, y, n, [](Batch v) { return simd::log(v); });
    case UnaryOp::Erf:
      return map1(x, y, n, [](Batch v) { return simd::erf(v); });
    case UnaryOp::GeluErf: {
      const Batch rsqrt2(0.70710678118654752f);
      return map1(x, y, n, [&](Batch v) { return half * v * (one + simd::erf(v * rsqrt2)); });
    }
    case UnaryOp::GeluTanh: {
      const Batch k0(0.7978845608028654f), k1(0.044715f);
      return map1(x, y, n, [&](Batch v) {
        return half * v * (one + simd::tanh(k0 * (v + k1 * v * v * v)));
      });
    }
    case UnaryOp::HardSigmoid:
      return map1(x, y, n, [&](Batch v) { return vmax(zero, vmin(one, alpha * v + beta)); });
    case UnaryOp::HardSwish: {
      const Batch sixth(1.0f / 6.0f);
      return map1(x, y, n, [&](Batch v) { return v * vmax(zero, vmin(one, sixth * v + half)); });
    }
    case UnaryOp::Elu:
      return map1(x, y, n, [&](Batch v) {
        return xsimd::select(v > zero, v, alpha * (simd::exp(v) - one));
      });
    case UnaryOp::Neg:
      return map1(x, y, n, [](Batch v) { return -v; });
    case UnaryOp::Abs:
      return map1(x, y, n, [](Batch v) { return xsimd::abs(v); });
    case UnaryOp::Sqrt:
      return map1(x, y, n, [](Batch v) { return xsimd::sqrt(v); });
    case UnaryOp::Reciprocal:
      return map1(x, y, n, [&](Batch v) { return one / v; });
    case UnaryOp::kCount:
      break;
  }
}

void f32_binary(BinaryOp op, const float* a, const float* b, float* y, size_t n) {
  if (op == BinaryOp::Pow) {
    for (size_t i = 0; i < n; ++i) y[i] = std::pow(a[i], b[i]);
    return;
  }
  dispatch_binary(op, [&](auto f) { map2(a, b, y, n, f); });
}

void f32_binary_scalar_rhs(BinaryOp op, const float* a, float b, float* y, size_t n) {
  if (op == BinaryOp::Pow) {
    // Small integer exponents as exact products (what ONNX Runtime does for them too).
    if (b == 1.0f) return map1(a, y, n, [](Batch v) { return v; });
    if (b == 2.0f) return map1(a, y, n, [](Batch v) { return v * v; });
    if (b == 3.0f) return map1(a, y, n, [](Batch v) { return v * v * v; });
    for (size_t i = 0; i < n; ++i) y[i] = std::pow(a[i], b);
    return;
  }
  const Batch vb(b);
  dispatch_binary(op, [&](auto f) { map1(a, y, n, [&](Batch v) { return f(v, vb); }); });
}

void f32_binary_scalar_lhs(BinaryOp op, float a, const float* b, float* y, size_t n) {
  if (op == BinaryOp::Pow) {
    for (size_t i = 0; i < n; ++i) y[i] = std::pow(a, b[i]);
    return;
  }
  const Batch va(a);
  dispatch_binary(op, [&](auto f) { map1(b, y, n, [&](Batch v) { return f(va, v); }); });
}

}  // namespace qm::kernels
