// Internal to src/kernels/simd: the blocked GEMM driver with a caller-supplied B operand, used by
// the implicit-im2col convolution (conv.cpp) to pack B strips straight from an image.
#pragma once

#include <cstddef>

#include "kernels/gemm.h"

namespace qm::kernels::detail {

/// A virtual op(B)[K, N] that packs itself strip by strip.
class BStripPacker {
 public:
  virtual ~BStripPacker() = default;
  /// Writes depth [p0, p0 + kc) x columns [j0, j0 + nr) (nr <= f32_gemm_nr()) into dst[p *
  /// f32_gemm_nr() + j], zero padding columns nr..f32_gemm_nr()-1.
  virtual void pack(size_t p0, size_t kc, size_t j0, size_t nr, float* dst) const = 0;
};

/// Columns [n_begin, n_end) of C = act(alpha * A * B + beta * C + bias) for all rows of the
/// pre-packed A, with B packed on the fly by `b` (any n_begin).
void gemm_packed_a_virtual_b(const PackedA& a, size_t n_begin, size_t n_end,
                             const BStripPacker& b, float* c, size_t ldc,
                             const GemmParams& params);

}  // namespace qm::kernels::detail
