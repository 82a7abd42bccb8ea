// Scalar references for kernels/elementwise.h (std:: math in float): the definitions the SIMD
// kernels are tested against. Same signatures and aliasing rules.
#pragma once

#include <cstddef>

#include "kernels/elementwise.h"

namespace qm::kernels::ref {

void f32_unary(UnaryOp op, const float* x, float* y, size_t n, const UnaryParams& params = {});
void f32_binary(BinaryOp op, const float* a, const float* b, float* y, size_t n);
void f32_binary_scalar_rhs(BinaryOp op, const float* a, float b, float* y, size_t n);
void f32_binary_scalar_lhs(BinaryOp op, float a, const float* b, float* y, size_t n);

/// op(x) for one value, as f32_unary computes it (std:: functions).
float unary(UnaryOp op, float x, const UnaryParams& params = {});
/// a op b for one value, as f32_binary computes it.
float binary(BinaryOp op, float a, float b);

}  // namespace qm::kernels::ref
