#include "kernels/ref/gemm.h"

#include <algorithm>

namespace qm::kernels::ref {

void f32_gemm(size_t m, size_t n, size_t k, const float* a, size_t lda, const float* b,
              size_t ldb, float* c, size_t ldc, const GemmParams& params) {
  for (size_t i = 0; i < m; ++i) {
    for (size_t j = 0; j < n; ++j) {
      float acc = 0.0f;
      for (size_t p = 0; p < k; ++p) {
        const float av = params.trans_a ? a[p * lda + i] : a[i * lda + p];
        const float bv = params.trans_b ? b[j * ldb + p] : b[p * ldb + j];
        acc += av * bv;
      }
      float x = params.alpha * acc;
      // beta == 0 never reads C (it may hold NaN).
      if (params.beta != 0.0f) x += params.beta * c[i * ldc + j];
      if (params.bias_kind == GemmBias::PerRow) x += params.bias[i];
      if (params.bias_kind == GemmBias::PerColumn) x += params.bias[j];
      c[i * ldc + j] = std::min(std::max(x, params.clamp_min), params.clamp_max);
    }
  }
}

}  // namespace qm::kernels::ref
