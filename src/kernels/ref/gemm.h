// Scalar reference GEMM: the readable definition of f32_gemm's semantics (see kernels/gemm.h),
// used by the tests and as a fallback. Same contract, no blocking, no packing.
#pragma once

#include <cstddef>

#include "kernels/gemm.h"

namespace qm::kernels::ref {

/// C[M,N] = act(alpha * op(A) * op(B) + beta * C + bias), exactly as qm::kernels::f32_gemm.
void f32_gemm(size_t m, size_t n, size_t k, const float* a, size_t lda, const float* b,
              size_t ldb, float* c, size_t ldc, const GemmParams& params);

}  // namespace qm::kernels::ref
