// f32 GEMM kernels: C[M,N] = act(alpha * op(A)[M,K] * op(B)[K,N] + beta * C + bias).
//
// Row-major matrices with leading dimensions (elements between consecutive rows). The SIMD
// implementation is a cache-blocked, packed GEMM (BLIS structure): op(B) is packed into
// NR-column strips, op(A) into MR-row strips, and a register-blocked MR x NR micro-kernel does
// the arithmetic. MR/NR are compile-time constants derived from the vector width of the build
// (f32_gemm_mr()/f32_gemm_nr()).
//
// Constant operands (weights) can be packed once with f32_gemm_pack_a()/f32_gemm_pack_b() and
// reused by f32_gemm_packed_a()/f32_gemm_packed_b(), so repeated forward passes skip packing.
// The packed entry points compute a sub-range of rows/columns so the op layer can split work
// across threads without repacking; range starts must be multiples of MR/NR.
//
// Kernels are single-threaded and never allocate per call beyond a thread-local workspace.
#pragma once

#include <cstddef>
#include <limits>

#include "kernels/aligned_buffer.h"

namespace qm::kernels {

/// Where the optional bias vector of a GEMM is broadcast.
enum class GemmBias : unsigned char {
  None,
  PerRow,     ///< bias[i] added to every element of row i (M values; e.g. conv output channels)
  PerColumn,  ///< bias[j] added to every element of column j (N values; e.g. Gemm/FC bias)
};

/// Parameters of f32_gemm and friends. The defaults compute C = A * B.
struct GemmParams {
  bool trans_a = false;  ///< op(A) = A^T, i.e. A is stored [K, M] (ignored for a PackedA)
  bool trans_b = false;  ///< op(B) = B^T, i.e. B is stored [N, K] (ignored for a PackedB)
  float alpha = 1.0f;
  /// Scale of the previous C. With beta == 0, C is write-only: it is never read, so it may
  /// hold garbage or NaN (BLAS convention).
  float beta = 0.0f;
  GemmBias bias_kind = GemmBias::None;
  /// M (PerRow) or N (PerColumn) values, indexed by absolute row/column of C; not scaled by
  /// alpha or beta.
  const float* bias = nullptr;
  /// Fused activation: out = min(max(v, clamp_min), clamp_max). Relu is {0, +inf}.
  float clamp_min = -std::numeric_limits<float>::infinity();
  float clamp_max = std::numeric_limits<float>::infinity();
};

/// op(A)[M,K] packed into MR-row strips over the full depth K (zero padded to a multiple of MR).
class PackedA {
 public:
  size_t rows() const { return m_; }
  size_t depth() const { return k_; }
  /// Rows per strip (f32_gemm_mr() of the build that packed it).
  size_t mr() const { return mr_; }
  const float* data() const { return data_.get(); }

 private:
  friend PackedA f32_gemm_pack_a(size_t m, size_t k, const float* a, size_t lda, bool trans_a);
  size_t m_ = 0, k_ = 0, mr_ = 0;
  AlignedFloats data_;
};

/// op(B)[K,N] packed into NR-column strips over the full depth K (zero padded to a multiple of
/// NR). A single column (N == 1) is stored as a plain K-vector (nr() == 1) so GEMV stays cheap.
class PackedB {
 public:
  size_t depth() const { return k_; }
  size_t cols() const { return n_; }
  /// Columns per strip: f32_gemm_nr(), or 1 for a single column.
  size_t nr() const { return nr_; }
  const float* data() const { return data_.get(); }

 private:
  friend PackedB f32_gemm_pack_b(size_t k, size_t n, const float* b, size_t ldb, bool trans_b);
  size_t k_ = 0, n_ = 0, nr_ = 0;
  AlignedFloats data_;
};

/// Rows per micro-tile: sub-ranges of f32_gemm_packed_a start at multiples of this.
size_t f32_gemm_mr();
/// Columns per micro-tile: sub-ranges of f32_gemm_packed_b start at multiples of this.
size_t f32_gemm_nr();

/// C[M,N] = act(alpha * op(A) * op(B) + beta * C + bias). A is [M,K] (or [K,M] if trans_a) with
/// leading dimension lda, B is [K,N] (or [N,K] if trans_b) with ldb, C is [M,N] with ldc.
/// C must not alias A or B. Any of M, N, K may be 0 (K == 0 gives act(beta * C + bias)).
void f32_gemm(size_t m, size_t n, size_t k, const float* a, size_t lda, const float* b,
              size_t ldb, float* c, size_t ldc, const GemmParams& params);

/// Packs op(A) (A is [M,K], or [K,M] if trans_a) for f32_gemm_packed_a.
PackedA f32_gemm_pack_a(size_t m, size_t k, const float* a, size_t lda, bool trans_a);
/// Packs op(B) (B is [K,N], or [N,K] if trans_b) for f32_gemm_packed_b.
PackedB f32_gemm_pack_b(size_t k, size_t n, const float* b, size_t ldb, bool trans_b);

/// Columns [n_begin, n_end) of C = act(alpha * op(A) * B + beta * C + bias), with B pre-packed.
/// `a`, `c` and `bias` address the whole matrices (row 0 / column 0); M = number of rows of C.
/// n_begin must be a multiple of f32_gemm_nr() (asserted); params.trans_b is ignored.
void f32_gemm_packed_b(size_t m, const float* a, size_t lda, const PackedB& b, size_t n_begin,
                       size_t n_end, float* c, size_t ldc, const GemmParams& params);

/// Rows [m_begin, m_end) of C = act(alpha * A * op(B) + beta * C + bias), with A pre-packed
/// (e.g. conv weights [Cout, Cin*kh*kw] times an im2col matrix). `b`, `c` and `bias` address the
/// whole matrices. m_begin must be a multiple of f32_gemm_mr() (asserted); params.trans_a is
/// ignored.
void f32_gemm_packed_a(const PackedA& a, size_t m_begin, size_t m_end, size_t n, const float* b,
                       size_t ldb, float* c, size_t ldc, const GemmParams& params);

}  // namespace qm::kernels
