// Packed, cache-blocked f32 GEMM (BLIS loop structure) on xsimd::batch<float>.
//
//   for jc in N step NC:            B block  [KC x NC]  (L3; packed into NR strips)
//     for pc in K step KC:
//       for ic in M step MC:        A block  [MC x KC]  (L2; packed into MR strips)
//         for jr in NC step NR:     B micro-panel [KC x NR] stays in L1
//           for ir in MC step MR:   MR x NR register tile, K-loop of broadcast-A * vector-B FMAs
//
// Edge tiles use smaller instantiations of the same micro-kernel (MR' <= MR rows, NV' <= NV
// vectors) so no work is wasted on padding rows; a partial last vector goes through a small
// stack tile. GEMV shapes (M == 1 or N == 1) skip packing entirely.
#include "kernels/gemm.h"

#include <algorithm>
#include <array>
#include <cassert>
#include <cstring>
#include <type_traits>
#include <utility>

#include "kernels/simd/gemm_internal.h"
#include "kernels/simd/simd.h"

namespace qm::kernels {
namespace {

using simd::Batch;
using simd::kLanes;

// Register tile: kMR rows x kNV vectors. Accumulators (kMR * kNV) + kNV B vectors + one A
// broadcast must fit the register file: 16 registers for SSE/AVX2, 32 for AVX-512. SIMD128 has
// no FMA, so each step also needs a temporary product (measured best: see bench_kernels).
#if defined(QM_GEMM_MR) && defined(QM_GEMM_NV) && defined(QM_GEMM_KC)
// Tuning experiments: bench_kernels builds with -DQM_GEMM_MR=... etc.
constexpr size_t kMR = QM_GEMM_MR;
constexpr size_t kNV = QM_GEMM_NV;
constexpr size_t kKC = QM_GEMM_KC;
#elif defined(__wasm_simd128__)
// V8 maps v128 onto 16 xmm registers (one kept as scratch) and SIMD128 has no FMA, so a step
// needs a temporary product: 4x8 (8 accumulators) measured best, ~25-30 GFLOP/s under node on
// a 3 GHz Zen 3, ahead of 4x12 (spills), 6x8, 5x8 and level with 3x12 and 2x16.
constexpr size_t kMR = 4;
constexpr size_t kNV = 2;
constexpr size_t kKC = 256;
#elif defined(__AVX512F__)
constexpr size_t kMR = 12;
constexpr size_t kNV = 2;
constexpr size_t kKC = 256;
#else
// AVX2 (16 ymm) and SSE (16 xmm): 12 accumulators + 2 B vectors + 1 broadcast. KC = 512
// measured a few % ahead of 256/320/384 on Zen 3.
constexpr size_t kMR = 6;
constexpr size_t kNV = 2;
constexpr size_t kKC = 512;
#endif
constexpr size_t kNR = kNV * kLanes;
// A block of kMC x kKC floats (~120-190 KB) lives in L2; a B block of kKC x kNC in L3.
constexpr size_t kMC = kMR * 20;
constexpr size_t kNC = kNR * 128;

size_t div_up(size_t a, size_t b) { return (a + b - 1) / b; }
size_t round_up(size_t a, size_t b) { return div_up(a, b) * b; }

// Splits `total` into blocks of at most `max_block` that are multiples of `multiple` and
// roughly equal, so that e.g. K = 576 becomes 3 x 192 instead of 256 + 256 + 64.
size_t balanced_block(size_t total, size_t max_block, size_t multiple) {
  size_t blocks = div_up(total, max_block);
  return std::min(max_block, round_up(div_up(total, blocks), multiple));
}

// What to do with the accumulated tile when storing it to C. Bias pointers are already offset to
// the tile's first row/column.
struct Epilogue {
  float alpha = 1.0f;
  float beta = 0.0f;
  bool scale = false;  // alpha != 1
  bool first = true;   // first K block: combine with beta * C instead of accumulating into C
  bool last = true;    // last K block: add bias and clamp
  bool clamp = false;
  float lo = 0.0f, hi = 0.0f;
  const float* row_bias = nullptr;
  const float* col_bias = nullptr;
};

Epilogue make_epilogue(const GemmParams& p) {
  Epilogue e;
  e.alpha = p.alpha;
  e.beta = p.beta;
  e.scale = p.alpha != 1.0f;
  e.clamp = p.clamp_min > -std::numeric_limits<float>::infinity() ||
            p.clamp_max < std::numeric_limits<float>::infinity();
  e.lo = p.clamp_min;
  e.hi = p.clamp_max;
  return e;
}

inline float epilogue_scalar(float acc, const float* cp, const Epilogue& e, float row_bias,
                             float col_bias) {
  float x = e.scale ? acc * e.alpha : acc;
  if (!e.first) {
    x += *cp;
  } else if (e.beta != 0.0f) {
    x += e.beta * *cp;
  }
  if (e.last) {
    x += row_bias + col_bias;
    if (e.clamp) x = std::min(std::max(x, e.lo), e.hi);
  }
  return x;
}

template <size_t MRv, size_t NV>
inline void store_tile(Batch (&acc)[MRv][NV], float* c, size_t ldc, size_t n_valid,
                       const Epilogue& e) {
  if (n_valid == NV * kLanes) {
    const Batch alpha(e.alpha), beta(e.beta), lo(e.lo), hi(e.hi);
    QM_UNROLL
    for (size_t r = 0; r < MRv; ++r) {
      float* cr = c + r * ldc;
      QM_UNROLL
      for (size_t v = 0; v < NV; ++v) {
        Batch x = acc[r][v];
        if (e.scale) x *= alpha;
        if (!e.first) {
          x += Batch::load_unaligned(cr + v * kLanes);
        } else if (e.beta != 0.0f) {
          x = simd::madd(beta, Batch::load_unaligned(cr + v * kLanes), x);
        }
        if (e.last) {
          if (e.row_bias) x += Batch(e.row_bias[r]);
          if (e.col_bias) x += Batch::load_unaligned(e.col_bias + v * kLanes);
          if (e.clamp) x = xsimd::min(xsimd::max(x, lo), hi);
        }
        x.store_unaligned(cr + v * kLanes);
      }
    }
    return;
  }
  alignas(kBufferAlignment) float tile[MRv][NV * kLanes];
  for (size_t r = 0; r < MRv; ++r) {
    for (size_t v = 0; v < NV; ++v) acc[r][v].store_aligned(&tile[r][v * kLanes]);
  }
  for (size_t r = 0; r < MRv; ++r) {
    const float rb = e.row_bias ? e.row_bias[r] : 0.0f;
    float* cr = c + r * ldc;
    for (size_t j = 0; j < n_valid; ++j) {
      cr[j] = epilogue_scalar(tile[r][j], cr + j, e, rb, e.col_bias ? e.col_bias[j] : 0.0f);
    }
  }
}

// The register-blocked micro-kernel: C[MRv x n_valid] (op)= A-strip * B-strip over kc steps.
// `a` advances kMR floats per step (packed strip), `b` advances kNR floats (packed, aligned).
template <size_t MRv, size_t NV>
void micro_kernel(size_t kc, const float* __restrict a, const float* __restrict b,
                  float* __restrict c, size_t ldc, size_t n_valid, const Epilogue& e) {
  Batch acc[MRv][NV];
  QM_UNROLL
  for (size_t r = 0; r < MRv; ++r) {
    QM_UNROLL
    for (size_t v = 0; v < NV; ++v) acc[r][v] = Batch(0.0f);
    // The tile of C is read (or written) only after the K loop: start fetching it now.
    __builtin_prefetch(c + r * ldc);
    __builtin_prefetch(c + r * ldc + NV * kLanes - 1);
  }
  if constexpr (MRv * NV < 4) {
    // Too few accumulators to hide the FMA latency (GEMV-like tiles): split K in two chains.
    Batch acc2[MRv][NV];
    QM_UNROLL
    for (size_t r = 0; r < MRv; ++r) {
      QM_UNROLL
      for (size_t v = 0; v < NV; ++v) acc2[r][v] = Batch(0.0f);
    }
    size_t p = 0;
    for (; p + 2 <= kc; p += 2) {
      QM_UNROLL
      for (size_t r = 0; r < MRv; ++r) {
        const Batch a0(a[r]), a1(a[kMR + r]);
        QM_UNROLL
        for (size_t v = 0; v < NV; ++v) {
          acc[r][v] = simd::madd(a0, Batch::load_aligned(b + v * kLanes), acc[r][v]);
          acc2[r][v] = simd::madd(a1, Batch::load_aligned(b + kNR + v * kLanes), acc2[r][v]);
        }
      }
      a += 2 * kMR;
      b += 2 * kNR;
    }
    if (p < kc) {
      QM_UNROLL
      for (size_t r = 0; r < MRv; ++r) {
        const Batch a0(a[r]);
        QM_UNROLL
        for (size_t v = 0; v < NV; ++v) {
          acc[r][v] = simd::madd(a0, Batch::load_aligned(b + v * kLanes), acc[r][v]);
        }
      }
    }
    QM_UNROLL
    for (size_t r = 0; r < MRv; ++r) {
      QM_UNROLL
      for (size_t v = 0; v < NV; ++v) acc[r][v] += acc2[r][v];
    }
  } else {
    for (size_t p = 0; p < kc; ++p) {
      Batch bv[NV];
      QM_UNROLL
      for (size_t v = 0; v < NV; ++v) bv[v] = Batch::load_aligned(b + v * kLanes);
      QM_UNROLL
      for (size_t r = 0; r < MRv; ++r) {
        const Batch av(a[r]);
        QM_UNROLL
        for (size_t v = 0; v < NV; ++v) acc[r][v] = simd::madd(av, bv[v], acc[r][v]);
      }
      a += kMR;
      b += kNR;
    }
  }
  store_tile<MRv, NV>(acc, c, ldc, n_valid, e);
}

using MicroKernel = void (*)(size_t, const float*, const float*, float*, size_t, size_t,
                             const Epilogue&);

template <size_t MRv, size_t... V>
constexpr std::array<MicroKernel, kNV> kernel_row(std::index_sequence<V...>) {
  return {&micro_kernel<MRv, V + 1>...};
}
template <size_t... R>
constexpr std::array<std::array<MicroKernel, kNV>, kMR> kernel_table(std::index_sequence<R...>) {
  return {kernel_row<R + 1>(std::make_index_sequence<kNV>())...};
}
// kKernels[mr - 1][nv - 1] computes an mr x (nv vectors) tile.
constexpr auto kKernels = kernel_table(std::make_index_sequence<kMR>());

// Packs rows [i0, i0 + mc) x depth [p0, p0 + kc) of op(A) into kMR-row strips (zero padded),
// consecutive strips `strip_stride` floats apart.
void pack_a(const float* a, size_t lda, bool trans, size_t i0, size_t mc, size_t p0, size_t kc,
            float* dst, size_t strip_stride) {
  for (size_t ir = 0; ir < mc; ir += kMR) {
    const size_t mr = std::min(kMR, mc - ir);
    float* d = dst + (ir / kMR) * strip_stride;
    if (!trans) {
      const float* src = a + (i0 + ir) * lda + p0;
      if (mr == kMR) {
        for (size_t p = 0; p < kc; ++p) {
          QM_UNROLL
          for (size_t r = 0; r < kMR; ++r) d[p * kMR + r] = src[r * lda + p];
        }
      } else {
        for (size_t p = 0; p < kc; ++p) {
          for (size_t r = 0; r < mr; ++r) d[p * kMR + r] = src[r * lda + p];
          for (size_t r = mr; r < kMR; ++r) d[p * kMR + r] = 0.0f;
        }
      }
    } else {
      const float* src = a + p0 * lda + i0 + ir;
      for (size_t p = 0; p < kc; ++p) {
        const float* s = src + p * lda;
        for (size_t r = 0; r < mr; ++r) d[p * kMR + r] = s[r];
        for (size_t r = mr; r < kMR; ++r) d[p * kMR + r] = 0.0f;
      }
    }
  }
}

// Packs depth [p0, p0 + kc) x columns [j0, j0 + nc) of op(B) into kNR-column strips (zero
// padded), consecutive strips `strip_stride` floats apart.
void pack_b(const float* b, size_t ldb, bool trans, size_t p0, size_t kc, size_t j0, size_t nc,
            float* dst, size_t strip_stride) {
  for (size_t jr = 0; jr < nc; jr += kNR) {
    const size_t nr = std::min(kNR, nc - jr);
    float* d = dst + (jr / kNR) * strip_stride;
    if (!trans) {
      const float* src = b + p0 * ldb + j0 + jr;
      if (nr == kNR) {
        for (size_t p = 0; p < kc; ++p) {
          QM_UNROLL
          for (size_t v = 0; v < kNV; ++v) {
            Batch::load_unaligned(src + p * ldb + v * kLanes).store_aligned(d + p * kNR + v * kLanes);
          }
        }
      } else {
        for (size_t p = 0; p < kc; ++p) {
          const float* s = src + p * ldb;
          for (size_t j = 0; j < nr; ++j) d[p * kNR + j] = s[j];
          for (size_t j = nr; j < kNR; ++j) d[p * kNR + j] = 0.0f;
        }
      }
    } else {
      // B is [N, K]: read each of the nr rows contiguously, scatter into the strip.
      const float* src = b + (j0 + jr) * ldb + p0;
      for (size_t j = 0; j < nr; ++j) {
        const float* s = src + j * ldb;
        for (size_t p = 0; p < kc; ++p) d[p * kNR + j] = s[p];
      }
      for (size_t j = nr; j < kNR; ++j) {
        for (size_t p = 0; p < kc; ++p) d[p * kNR + j] = 0.0f;
      }
    }
  }
}

// Thread-local packing buffers (kernels are called from several threads by the op layer).
struct Workspace {
  AlignedFloats a, b;
  AlignedFloats vec[3];
  size_t vec_size[3] = {0, 0, 0};
  float* a_block() {
    if (!a) a = make_aligned_floats(kMC * kKC);
    return a.get();
  }
  float* b_block() {
    if (!b) b = make_aligned_floats(kKC * kNC);
    return b.get();
  }
  // Scratch vector `slot` (0..2) of at least n floats.
  float* scratch(int slot, size_t n) {
    if (vec_size[slot] < n) {
      vec[slot] = make_aligned_floats(n);
      vec_size[slot] = n;
    }
    return vec[slot].get();
  }
};
Workspace& workspace() {
  thread_local Workspace ws;
  return ws;
}

// One GEMM operand: either a strided matrix to pack on the fly or a pre-packed full-depth strip
// array (strip s of a pre-packed operand starts at packed + s * depth * width).
struct Operand {
  const float* data = nullptr;
  size_t ld = 0;
  bool trans = false;
  const float* packed = nullptr;
  const detail::BStripPacker* virtual_b = nullptr;  // B only: packs its own strips
};

// C rows [m0, m1) x columns [n0, n1) (absolute coordinates, c addresses C[0,0]). Pre-packed
// operands require m0 % kMR == 0 / n0 % kNR == 0.
void gemm_blocked(size_t m0, size_t m1, size_t n0, size_t n1, size_t k, const Operand& A,
                  const Operand& B, float* c, size_t ldc, const GemmParams& params) {
  Workspace& ws = workspace();
  const Epilogue base = make_epilogue(params);
  const size_t kc_max = balanced_block(k, kKC, 1);
  const size_t mc_max = balanced_block(m1 - m0, kMC, kMR);
  for (size_t jc = n0; jc < n1; jc += kNC) {
    const size_t nc = std::min(kNC, n1 - jc);
    for (size_t pc = 0; pc < k; pc += kc_max) {
      const size_t kc = std::min(kc_max, k - pc);
      // An unpacked B is packed strip by strip just before the first A block uses it (so the
      // freshly written strip is still in L1), and later A blocks reuse the packed block.
      float* b_buf = nullptr;
      const float* bpanel;
      size_t b_stride;
      if (B.packed) {
        assert(jc % kNR == 0);
        bpanel = B.packed + (jc / kNR) * k * kNR + pc * kNR;
        b_stride = k * kNR;
      } else {
        b_buf = ws.b_block();
        bpanel = b_buf;
        b_stride = kc * kNR;
      }
      Epilogue e = base;
      e.first = pc == 0;
      e.last = pc + kc == k;
      for (size_t ic = m0; ic < m1; ic += mc_max) {
        const size_t mc = std::min(mc_max, m1 - ic);
        const float* apanel;
        size_t a_stride;
        if (A.packed) {
          assert(ic % kMR == 0);
          apanel = A.packed + (ic / kMR) * k * kMR + pc * kMR;
          a_stride = k * kMR;
        } else {
          float* buf = ws.a_block();
          pack_a(A.data, A.ld, A.trans, ic, mc, pc, kc, buf, kc * kMR);
          apanel = buf;
          a_stride = kc * kMR;
        }
        for (size_t jr = 0; jr < nc; jr += kNR) {
          const size_t nr = std::min(kNR, nc - jr);
          const size_t nv = div_up(nr, kLanes);
          const float* bp = bpanel + (jr / kNR) * b_stride;
          const size_t col = jc + jr;
          if (b_buf && ic == m0) {
            float* dst = b_buf + (jr / kNR) * b_stride;
            if (B.virtual_b) {
              B.virtual_b->pack(pc, kc, col, nr, dst);
            } else {
              pack_b(B.data, B.ld, B.trans, pc, kc, col, nr, dst, b_stride);
            }
          }
          for (size_t ir = 0; ir < mc; ir += kMR) {
            const size_t mr = std::min(kMR, mc - ir);
            const size_t row = ic + ir;
            Epilogue t = e;
            if (params.bias_kind == GemmBias::PerRow) t.row_bias = params.bias + row;
            if (params.bias_kind == GemmBias::PerColumn) t.col_bias = params.bias + col;
            kKernels[mr - 1][nv - 1](kc, apanel + (ir / kMR) * a_stride, bp, c + row * ldc + col,
                                     ldc, nr, t);
          }
        }
      }
    }
  }
}

// out[j] = sum_k x[k] * mat[k * ld + j] for j < n (x contiguous).
void vec_mat(size_t k, size_t n, const float* x, const float* mat, size_t ld, float* out) {
  constexpr size_t kV = 4;
  size_t j = 0;
  for (; j + kV * kLanes <= n; j += kV * kLanes) {
    Batch acc[kV];
    QM_UNROLL
    for (size_t v = 0; v < kV; ++v) acc[v] = Batch(0.0f);
    for (size_t p = 0; p < k; ++p) {
      const Batch xp(x[p]);
      const float* row = mat + p * ld + j;
      QM_UNROLL
      for (size_t v = 0; v < kV; ++v) {
        acc[v] = simd::madd(xp, Batch::load_unaligned(row + v * kLanes), acc[v]);
      }
    }
    QM_UNROLL
    for (size_t v = 0; v < kV; ++v) acc[v].store_unaligned(out + j + v * kLanes);
  }
  for (; j + kLanes <= n; j += kLanes) {
    Batch acc(0.0f);
    for (size_t p = 0; p < k; ++p) {
      acc = simd::madd(Batch(x[p]), Batch::load_unaligned(mat + p * ld + j), acc);
    }
    acc.store_unaligned(out + j);
  }
  for (; j < n; ++j) {
    float acc = 0.0f;
    for (size_t p = 0; p < k; ++p) acc += x[p] * mat[p * ld + j];
    out[j] = acc;
  }
}

// dot(x, y) over k contiguous floats, two accumulators to hide the FMA latency.
inline float dot(size_t k, const float* x, const float* y) {
  Batch a0(0.0f), a1(0.0f);
  size_t p = 0;
  for (; p + 2 * kLanes <= k; p += 2 * kLanes) {
    a0 = simd::madd(Batch::load_unaligned(x + p), Batch::load_unaligned(y + p), a0);
    a1 = simd::madd(Batch::load_unaligned(x + p + kLanes), Batch::load_unaligned(y + p + kLanes), a1);
  }
  for (; p + kLanes <= k; p += kLanes) {
    a0 = simd::madd(Batch::load_unaligned(x + p), Batch::load_unaligned(y + p), a0);
  }
  float s = xsimd::hadd(a0 + a1);
  for (; p < k; ++p) s += x[p] * y[p];
  return s;
}

// out[i] = dot(mat[i * ld, +k), x) for i < m: four rows at a time share each load of x, two
// accumulators per row (8 independent chains hide the add/FMA latency).
void mat_vec(size_t m, size_t k, const float* mat, size_t ld, const float* x, float* out) {
  size_t i = 0;
  for (; i + 4 <= m; i += 4) {
    const float* r[4] = {mat + i * ld, mat + (i + 1) * ld, mat + (i + 2) * ld, mat + (i + 3) * ld};
    Batch a[4], b[4];
    QM_UNROLL
    for (size_t j = 0; j < 4; ++j) a[j] = b[j] = Batch(0.0f);
    size_t p = 0;
    for (; p + 2 * kLanes <= k; p += 2 * kLanes) {
      const Batch x0 = Batch::load_unaligned(x + p), x1 = Batch::load_unaligned(x + p + kLanes);
      QM_UNROLL
      for (size_t j = 0; j < 4; ++j) {
        a[j] = simd::madd(Batch::load_unaligned(r[j] + p), x0, a[j]);
        b[j] = simd::madd(Batch::load_unaligned(r[j] + p + kLanes), x1, b[j]);
      }
    }
    for (; p + kLanes <= k; p += kLanes) {
      const Batch x0 = Batch::load_unaligned(x + p);
      QM_UNROLL
      for (size_t j = 0; j < 4; ++j) a[j] = simd::madd(Batch::load_unaligned(r[j] + p), x0, a[j]);
    }
    for (size_t j = 0; j < 4; ++j) {
      float sum = xsimd::hadd(a[j] + b[j]);
      for (size_t q = p; q < k; ++q) sum += r[j][q] * x[q];
      out[i + j] = sum;
    }
  }
  for (; i < m; ++i) out[i] = dot(k, mat + i * ld, x);
}

// out[j - n_begin] = sum_k x[k] B[k, j] for columns [n_begin, n_end) of a PackedB (M == 1):
// S strips at a time share each broadcast of x[k], with KU accumulator sets over alternating k.
// No K blocking: x stays in L1. Measured: AVX2 2 strips x 2 sets; SIMD128 2 strips x 1 set
// (23-25 GFLOP/s under node for 1x1000x1280; 4 or 8 strips were slower, 13-19).
#if defined(__wasm_simd128__)
constexpr size_t kGemvStrips = 2;
constexpr size_t kGemvUnroll = 1;
#else
constexpr size_t kGemvStrips = 2;
constexpr size_t kGemvUnroll = 2;
#endif

template <size_t S, size_t KU>
void packed_b_gemv_strips(const float* base, size_t stride, size_t k, const float* x,
                          float* tile) {
  Batch acc[KU][S][kNV];
  QM_UNROLL
  for (size_t u = 0; u < KU; ++u) {
    QM_UNROLL
    for (size_t s = 0; s < S; ++s) {
      QM_UNROLL
      for (size_t v = 0; v < kNV; ++v) acc[u][s][v] = Batch(0.0f);
    }
  }
  // Running pointers rather than base + s * stride + p * kNR: Emscripten compiles with loop
  // strength reduction disabled (-mllvm -disable-lsr), so index arithmetic would stay in the loop.
  const float* bp[S];
  QM_UNROLL
  for (size_t s = 0; s < S; ++s) bp[s] = base + s * stride;
  const float* xe = x + k / KU * KU;
  for (; x < xe; x += KU) {
    QM_UNROLL
    for (size_t u = 0; u < KU; ++u) {
      const Batch xp(x[u]);
      QM_UNROLL
      for (size_t s = 0; s < S; ++s) {
        QM_UNROLL
        for (size_t v = 0; v < kNV; ++v) {
          acc[u][s][v] = simd::madd(xp, Batch::load_aligned(bp[s] + u * kNR + v * kLanes),
                                    acc[u][s][v]);
        }
      }
    }
    QM_UNROLL
    for (size_t s = 0; s < S; ++s) bp[s] += KU * kNR;
  }
  if (k % KU) {
    const Batch xp(x[0]);
    QM_UNROLL
    for (size_t s = 0; s < S; ++s) {
      QM_UNROLL
      for (size_t v = 0; v < kNV; ++v) {
        acc[0][s][v] = simd::madd(xp, Batch::load_aligned(bp[s] + v * kLanes), acc[0][s][v]);
      }
    }
  }
  for (size_t s = 0; s < S; ++s) {
    for (size_t v = 0; v < kNV; ++v) {
      Batch sum = acc[0][s][v];
      for (size_t u = 1; u < KU; ++u) sum += acc[u][s][v];
      sum.store_aligned(tile + s * kNR + v * kLanes);
    }
  }
}

void packed_b_gemv(const PackedB& b, size_t n_begin, size_t n_end, const float* x, float* out) {
  const size_t k = b.depth();
  const size_t stride = k * kNR;
  alignas(kBufferAlignment) float tile[kGemvStrips * kNR];
  for (size_t j = n_begin; j < n_end;) {
    const float* base = b.data() + (j / kNR) * stride;
    size_t width;
    if (j + kGemvStrips * kNR <= n_end) {
      packed_b_gemv_strips<kGemvStrips, kGemvUnroll>(base, stride, k, x, tile);
      width = kGemvStrips * kNR;
    } else {
      packed_b_gemv_strips<1, 2>(base, stride, k, x, tile);
      width = kNR;
    }
    const size_t count = std::min(width, n_end - j);
    std::copy(tile, tile + count, out + (j - n_begin));
    j += width;
  }
}

// Applies the full epilogue (one K block) to `len` GEMV results written to c[i * stride].
void store_vector(size_t len, const float* acc, float* c, size_t stride, const GemmParams& params,
                  bool bias_along) {
  const Epilogue e = make_epilogue(params);
  for (size_t i = 0; i < len; ++i) {
    float bias = 0.0f;
    if (params.bias_kind != GemmBias::None) bias = params.bias[bias_along ? i : 0];
    c[i * stride] = epilogue_scalar(acc[i], c + i * stride, e, bias, 0.0f);
  }
}

// Returns x contiguous: `src` itself when stride == 1, else a gathered copy in `tmp`.
const float* contiguous(const float* src, size_t n, size_t stride, float* tmp) {
  if (stride == 1) return src;
  for (size_t i = 0; i < n; ++i) tmp[i] = src[i * stride];
  return tmp;
}

// N == 1: C[:,0] = op(A) * x, x contiguous (K values).
void gemv_column(size_t m, size_t k, const float* a, size_t lda, bool trans_a, const float* x,
                 float* out) {
  if (trans_a) {
    vec_mat(k, m, x, a, lda, out);
  } else {
    mat_vec(m, k, a, lda, x, out);
  }
}

constexpr size_t gcd(size_t a, size_t b) { return b ? gcd(b, a % b) : a; }
// A pre-packed A strip is a [K x kMR] row-major block. For GEMV it is read as one flat array
// multiplied by x expanded to the same layout (xr[p * kMR + r] = x[p]); lane l of the flat
// product belongs to row l % kMR, and that pattern repeats every kPeriod = lcm(kMR, kLanes)
// floats, so kPeriod / kLanes vector accumulators collect all sums at full vector width.
constexpr size_t kPeriod = kMR / gcd(kMR, kLanes) * kLanes;
constexpr size_t kPeriodVectors = kPeriod / kLanes;

// out[i - m_begin] = (A x)[i] for rows [m_begin, m_end) of a PackedA; m_begin % kMR == 0.
// S strips at a time share each load of the expanded x; the strips' row sums land in sums[S][kMR].
template <size_t S>
void packed_a_gemv_strips(const float* strip0, size_t flat, const float* xr, float (*sums)[kMR]) {
  const size_t full = flat / kPeriod * kPeriod;
  Batch acc[S][kPeriodVectors];
  QM_UNROLL
  for (size_t s = 0; s < S; ++s) {
    QM_UNROLL
    for (size_t v = 0; v < kPeriodVectors; ++v) acc[s][v] = Batch(0.0f);
  }
  const float* sp[S];
  QM_UNROLL
  for (size_t s = 0; s < S; ++s) sp[s] = strip0 + s * flat;
  const float* xp = xr;
  for (const float* xe = xr + full; xp < xe; xp += kPeriod) {
    QM_UNROLL
    for (size_t v = 0; v < kPeriodVectors; ++v) {
      const Batch xv = Batch::load_unaligned(xp + v * kLanes);
      QM_UNROLL
      for (size_t s = 0; s < S; ++s) {
        acc[s][v] = simd::madd(Batch::load_unaligned(sp[s] + v * kLanes), xv, acc[s][v]);
      }
    }
    QM_UNROLL
    for (size_t s = 0; s < S; ++s) sp[s] += kPeriod;
  }
  for (size_t s = 0; s < S; ++s) {
    alignas(kBufferAlignment) float lanes[kPeriod];
    for (size_t v = 0; v < kPeriodVectors; ++v) acc[s][v].store_aligned(lanes + v * kLanes);
    for (size_t r = 0; r < kMR; ++r) sums[s][r] = 0.0f;
    for (size_t l = 0; l < kPeriod; ++l) sums[s][l % kMR] += lanes[l];
    const float* st = strip0 + s * flat;
    for (size_t i = full; i < flat; ++i) sums[s][i % kMR] += st[i] * xr[i];
  }
}

// Strips per pass: enough accumulators (S * kPeriodVectors >= 4) and shared x loads.
constexpr size_t kGemvAStrips = kPeriodVectors >= 2 ? 2 : 4;

void packed_a_gemv(const PackedA& a, size_t m_begin, size_t m_end, const float* x, float* out) {
  const size_t k = a.depth();
  const size_t flat = k * kMR;
  float* xr = workspace().scratch(1, flat);
  for (size_t p = 0; p < k; ++p) {
    for (size_t r = 0; r < kMR; ++r) xr[p * kMR + r] = x[p];
  }
  float sums[kGemvAStrips][kMR];
  for (size_t row = m_begin; row < m_end;) {
    const float* strip = a.data() + (row / kMR) * flat;
    size_t strips = 1;
    if (m_end - row > (kGemvAStrips - 1) * kMR) {
      packed_a_gemv_strips<kGemvAStrips>(strip, flat, xr, sums);
      strips = kGemvAStrips;
    } else {
      packed_a_gemv_strips<1>(strip, flat, xr, sums);
    }
    for (size_t s = 0; s < strips; ++s) {
      for (size_t r = 0; r < kMR && row < m_end; ++r, ++row) out[row - m_begin] = sums[s][r];
    }
  }
}

void bias_only(size_t m, size_t n, float* c, size_t ldc, const GemmParams& params) {
  const Epilogue e = make_epilogue(params);
  for (size_t i = 0; i < m; ++i) {
    for (size_t j = 0; j < n; ++j) {
      float rb = params.bias_kind == GemmBias::PerRow ? params.bias[i] : 0.0f;
      float cb = params.bias_kind == GemmBias::PerColumn ? params.bias[j] : 0.0f;
      c[i * ldc + j] = epilogue_scalar(0.0f, c + i * ldc + j, e, rb, cb);
    }
  }
}

}  // namespace

size_t f32_gemm_mr() { return kMR; }
size_t f32_gemm_nr() { return kNR; }

void f32_gemm(size_t m, size_t n, size_t k, const float* a, size_t lda, const float* b,
              size_t ldb, float* c, size_t ldc, const GemmParams& params) {
  if (m == 0 || n == 0) return;
  if (k == 0) return bias_only(m, n, c, ldc, params);
  Workspace& ws = workspace();
  if (n == 1) {
    const float* x = params.trans_b ? b : contiguous(b, k, ldb, ws.scratch(0, k));
    float* out = ws.scratch(1, m);
    gemv_column(m, k, a, lda, params.trans_a, x, out);
    return store_vector(m, out, c, ldc, params, params.bias_kind == GemmBias::PerRow);
  }
  if (m == 1) {
    const float* x = params.trans_a ? contiguous(a, k, lda, ws.scratch(0, k)) : a;
    float* out = ws.scratch(1, n);
    if (params.trans_b) {
      mat_vec(n, k, b, ldb, x, out);
    } else {
      vec_mat(k, n, x, b, ldb, out);
    }
    return store_vector(n, out, c, 1, params, params.bias_kind == GemmBias::PerColumn);
  }
  gemm_blocked(0, m, 0, n, k, Operand{a, lda, params.trans_a, nullptr},
               Operand{b, ldb, params.trans_b, nullptr}, c, ldc, params);
}

PackedA f32_gemm_pack_a(size_t m, size_t k, const float* a, size_t lda, bool trans_a) {
  PackedA p;
  p.m_ = m;
  p.k_ = k;
  p.mr_ = kMR;
  const size_t strip = k * kMR;
  p.data_ = make_aligned_floats(div_up(m, kMR) * strip);
  if (m && k) pack_a(a, lda, trans_a, 0, m, 0, k, p.data_.get(), strip);
  return p;
}

PackedB f32_gemm_pack_b(size_t k, size_t n, const float* b, size_t ldb, bool trans_b) {
  PackedB p;
  p.k_ = k;
  p.n_ = n;
  if (n == 1) {
    p.nr_ = 1;
    p.data_ = make_aligned_floats(k);
    for (size_t i = 0; i < k; ++i) p.data_[i] = trans_b ? b[i] : b[i * ldb];
    return p;
  }
  p.nr_ = kNR;
  const size_t strip = k * kNR;
  p.data_ = make_aligned_floats(div_up(n, kNR) * strip);
  if (n && k) pack_b(b, ldb, trans_b, 0, k, 0, n, p.data_.get(), strip);
  return p;
}

void f32_gemm_packed_b(size_t m, const float* a, size_t lda, const PackedB& b, size_t n_begin,
                       size_t n_end, float* c, size_t ldc, const GemmParams& params) {
  assert(n_end <= b.cols() && n_begin <= n_end);
  const size_t k = b.depth();
  if (m == 0 || n_begin == n_end) return;
  assert(b.nr() == 1 || (b.nr() == kNR && n_begin % kNR == 0));
  if (k == 0) {
    GemmParams p = params;
    if (p.bias_kind == GemmBias::PerColumn) p.bias += n_begin;
    return bias_only(m, n_end - n_begin, c + n_begin, ldc, p);
  }
  if (b.nr() == 1) {
    float* out = workspace().scratch(1, m);
    gemv_column(m, k, a, lda, params.trans_a, b.data(), out);
    return store_vector(m, out, c, ldc, params, params.bias_kind == GemmBias::PerRow);
  }
  if (m == 1) {
    Workspace& ws = workspace();
    const float* x = params.trans_a ? contiguous(a, k, lda, ws.scratch(0, k)) : a;
    float* out = ws.scratch(1, n_end - n_begin);
    packed_b_gemv(b, n_begin, n_end, x, out);
    GemmParams p = params;
    if (p.bias_kind == GemmBias::PerColumn) p.bias += n_begin;
    return store_vector(n_end - n_begin, out, c + n_begin, 1, p,
                        p.bias_kind == GemmBias::PerColumn);
  }
  gemm_blocked(0, m, n_begin, n_end, k, Operand{a, lda, params.trans_a, nullptr},
               Operand{nullptr, 0, false, b.data()}, c, ldc, params);
}

void f32_gemm_packed_a(const PackedA& a, size_t m_begin, size_t m_end, size_t n, const float* b,
                       size_t ldb, float* c, size_t ldc, const GemmParams& params) {
  assert(m_end <= a.rows() && m_begin <= m_end);
  const size_t k = a.depth();
  if (n == 0 || m_begin == m_end) return;
  assert(a.mr() == kMR && m_begin % kMR == 0);
  if (k == 0) {
    GemmParams p = params;
    if (p.bias_kind == GemmBias::PerRow) p.bias += m_begin;
    return bias_only(m_end - m_begin, n, c + m_begin * ldc, ldc, p);
  }
  if (n == 1) {
    Workspace& ws = workspace();
    const float* x = params.trans_b ? b : contiguous(b, k, ldb, ws.scratch(0, k));
    float* out = ws.scratch(2, m_end - m_begin);
    packed_a_gemv(a, m_begin, m_end, x, out);
    GemmParams p = params;
    if (p.bias_kind == GemmBias::PerRow) p.bias += m_begin;
    return store_vector(m_end - m_begin, out, c + m_begin * ldc, ldc, p,
                        p.bias_kind == GemmBias::PerRow);
  }
  gemm_blocked(m_begin, m_end, 0, n, k, Operand{nullptr, 0, false, a.data()},
               Operand{b, ldb, params.trans_b, nullptr}, c, ldc, params);
}

namespace detail {

void gemm_packed_a_virtual_b(const PackedA& a, size_t n_begin, size_t n_end,
                             const BStripPacker& b, float* c, size_t ldc,
                             const GemmParams& params) {
  assert(a.mr() == kMR && n_begin <= n_end);
  const size_t m = a.rows(), k = a.depth();
  if (m == 0 || n_begin == n_end) return;
  if (k == 0) {
    GemmParams p = params;
    if (p.bias_kind == GemmBias::PerColumn) p.bias += n_begin;
    return bias_only(m, n_end - n_begin, c + n_begin, ldc, p);
  }
  Operand B;
  B.virtual_b = &b;
  gemm_blocked(0, m, n_begin, n_end, k, Operand{nullptr, 0, false, a.data()}, B, c, ldc, params);
}

}  // namespace detail
}  // namespace qm::kernels
