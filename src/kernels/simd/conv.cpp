// 2-D convolution kernels: im2col, implicit-im2col GEMM convolution, direct depthwise.
#include "kernels/conv.h"

#include <algorithm>
#include <cassert>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <vector>

#include "kernels/ref/conv.h"
#include "kernels/simd/gemm_internal.h"
#include "kernels/simd/simd.h"
#include "kernels/simd/window.h"

namespace qm::kernels {
namespace {

using simd::Batch;
using simd::kLanes;
using simd::Index;
using simd::copy_floats;
using simd::fill_floats;
using simd::load_evens;
using simd::zero_floats;

// A range of consecutive output positions cut into pieces that stay within one output row.
struct Runs {
  struct Run {
    size_t offset;  // position within the range
    size_t len;
    Index ih0;  // oh * stride_h - pad_top
    Index iw0;  // ow * stride_w - pad_left (first position of the run)
  };
  // A range of f32_gemm_nr() columns touches at most nr + 1 rows; im2col ranges may be long.
  Run small[64];
  std::unique_ptr<Run[]> large;
  Run* runs = small;
  size_t count = 0;

  Runs(const Conv2dShape& s, size_t begin, size_t n) {
    const size_t max_runs = n / s.out_w + 2;
    if (max_runs > 64) {
      large.reset(new Run[max_runs]);
      runs = large.get();
    }
    size_t oh = begin / s.out_w, ow = begin % s.out_w;
    for (size_t off = 0; off < n;) {
      const size_t len = std::min(s.out_w - ow, n - off);
      runs[count++] = Run{off, len, Index(oh * s.stride_h) - Index(s.pad_top),
                          Index(ow * s.stride_w) - Index(s.pad_left)};
      off += len;
      ow = 0;
      ++oh;
    }
  }
};

// Writes row (c, kh, kw) of the im2col matrix for the positions in `runs` to dst[0, n).
void fill_row(const Conv2dShape& s, const float* input, size_t c, size_t kh, size_t kw,
              const Runs& runs, float* dst) {
  const Index H = Index(s.in_h), W = Index(s.in_w);
  const Index dy = Index(kh * s.dilation_h), dx = Index(kw * s.dilation_w);
  const float* plane = input + c * s.in_h * s.in_w;
  for (size_t r = 0; r < runs.count; ++r) {
    const Runs::Run& run = runs.runs[r];
    float* d = dst + run.offset;
    const Index ih = run.ih0 + dy;
    if (ih < 0 || ih >= H) {
      zero_floats(run.len, d);
      continue;
    }
    const float* row = plane + ih * W;
    const Index iw0 = run.iw0 + dx;
    if (s.stride_w == 1) {
      // Positions t with 0 <= iw0 + t < W are copied, the rest are padding.
      const Index lo = std::clamp<Index>(-iw0, 0, Index(run.len));
      const Index hi = std::clamp<Index>(W - iw0, lo, Index(run.len));
      zero_floats(size_t(lo), d);
      copy_floats(row + iw0 + lo, size_t(hi - lo), d + lo);
      zero_floats(size_t(Index(run.len) - hi), d + hi);
    } else {
      const Index sw = Index(s.stride_w);
      for (size_t t = 0; t < run.len; ++t) {
        const Index iw = iw0 + Index(t) * sw;
        d[t] = (iw >= 0 && iw < W) ? row[iw] : 0.0f;
      }
    }
  }
}

// Packs strips of the virtual im2col matrix for the GEMM driver.
class Im2colPacker final : public detail::BStripPacker {
 public:
  Im2colPacker(const Conv2dShape& s, const float* input) : s_(s), input_(input) {}

  void pack(size_t p0, size_t kc, size_t j0, size_t nr, float* dst) const override {
    const size_t nr_max = f32_gemm_nr();
    const Runs runs(s_, j0, nr);
    if (runs.count == 1 && nr == nr_max && (s_.stride_w == 1 || s_.stride_w == 2)) {
      return pack_one_row(p0, kc, runs.runs[0], dst);
    }
    const size_t kk = s_.kernel_h * s_.kernel_w;
    size_t c = p0 / kk, kh = (p0 % kk) / s_.kernel_w, kw = p0 % s_.kernel_w;
    for (size_t p = 0; p < kc; ++p) {
      float* d = dst + p * nr_max;
      fill_row(s_, input_, c, kh, kw, runs, d);
      for (size_t j = nr; j < nr_max; ++j) d[j] = 0.0f;
      if (++kw == s_.kernel_w) {
        kw = 0;
        if (++kh == s_.kernel_h) {
          kh = 0;
          ++c;
        }
      }
    }
  }

 private:
  // The common case: a full strip within one output row, stride_w 1 or 2. Rows whose window lies
  // inside the image are a few vector loads; only rows touching the padding go element-wise.
  void pack_one_row(size_t p0, size_t kc, const Runs::Run& run, float* dst) const {
    const size_t nr = f32_gemm_nr();
    const Index H = Index(s_.in_h), W = Index(s_.in_w), sw = Index(s_.stride_w);
    const Index span = (Index(nr) - 1) * sw + 1;  // input columns covered by the strip
    const size_t kk = s_.kernel_h * s_.kernel_w;
    size_t c = p0 / kk, kh = (p0 % kk) / s_.kernel_w, kw = p0 % s_.kernel_w;
    for (size_t p = 0; p < kc; ++p) {
      float* d = dst + p * nr;
      const Index ih = run.ih0 + Index(kh * s_.dilation_h);
      if (ih < 0 || ih >= H) {
        zero_floats(nr, d);
      } else {
        const float* row = input_ + (c * s_.in_h + size_t(ih)) * s_.in_w;
        const Index iw0 = run.iw0 + Index(kw * s_.dilation_w);
        if (iw0 >= 0 && iw0 + span <= W) {
          if (sw == 1) {
            for (size_t j = 0; j < nr; j += kLanes) {
              Batch::load_unaligned(row + iw0 + j).store_aligned(d + j);
            }
          } else if (iw0 + 2 * Index(nr) <= W) {
            for (size_t j = 0; j < nr; j += kLanes) load_evens(row + iw0 + 2 * j).store_aligned(d + j);
          } else {
            for (size_t j = 0; j < nr; ++j) d[j] = row[iw0 + 2 * Index(j)];
          }
        } else {
          for (size_t j = 0; j < nr; ++j) {
            const Index iw = iw0 + Index(j) * sw;
            d[j] = (iw >= 0 && iw < W) ? row[iw] : 0.0f;
          }
        }
      }
      if (++kw == s_.kernel_w) {
        kw = 0;
        if (++kh == s_.kernel_h) {
          kh = 0;
          ++c;
        }
      }
    }
  }

 private:
  const Conv2dShape& s_;
  const float* input_;
};

// R output rows x V vectors of a depthwise conv: bias + sum over taps of w[t] * the padded
// plane at row_r + offset[t]. R * V independent accumulators hide the FMA latency (a single
// chain over 9 taps would be latency bound). Only the first `last_lanes` lanes of the last
// vector are stored.
template <size_t R, size_t V>
void dw_tile(const float* row, size_t row_step, const size_t* offsets, const float* w,
             size_t taps, float bias, const Batch& lo, const Batch& hi, bool clamp, float* out,
             size_t out_step, size_t last_lanes) {
  Batch acc[R][V];
  QM_UNROLL
  for (size_t r = 0; r < R; ++r) {
    QM_UNROLL
    for (size_t v = 0; v < V; ++v) acc[r][v] = Batch(bias);
  }
  for (size_t t = 0; t < taps; ++t) {
    const float* src = row + offsets[t];
    const Batch wv(w[t]);
    QM_UNROLL
    for (size_t r = 0; r < R; ++r) {
      QM_UNROLL
      for (size_t v = 0; v < V; ++v) {
        acc[r][v] = simd::madd(wv, Batch::load_unaligned(src + r * row_step + v * kLanes), acc[r][v]);
      }
    }
  }
  QM_UNROLL
  for (size_t r = 0; r < R; ++r) {
    float* o = out + r * out_step;
    QM_UNROLL
    for (size_t v = 0; v < V; ++v) {
      Batch x = acc[r][v];
      if (clamp) x = xsimd::min(xsimd::max(x, lo), hi);
      if (v + 1 < V || last_lanes == kLanes) {
        x.store_unaligned(o + v * kLanes);
      } else {
        alignas(kBufferAlignment) float tail[kLanes];
        x.store_aligned(tail);
        for (size_t i = 0; i < last_lanes; ++i) o[v * kLanes + i] = tail[i];
      }
    }
  }
}

using DwTile = void (*)(const float*, size_t, const size_t*, const float*, size_t, float,
                        const Batch&, const Batch&, bool, float*, size_t, size_t);
// kDwTiles[r][v - 1]: r = 0 -> 1 row, 1 -> 2 rows, 2 -> 4 rows.
constexpr DwTile kDwTiles[3][4] = {
    {dw_tile<1, 1>, dw_tile<1, 2>, dw_tile<1, 3>, dw_tile<1, 4>},
    {dw_tile<2, 1>, dw_tile<2, 2>, dw_tile<2, 3>, dw_tile<2, 4>},
    {dw_tile<4, 1>, dw_tile<4, 2>, dw_tile<4, 3>, dw_tile<4, 4>},
};

}  // namespace

void f32_im2col(const Conv2dShape& s, const float* input, size_t col_begin, size_t col_end,
                float* col, size_t ldcol) {
  assert(col_begin <= col_end && col_end <= s.col_cols());
  if (col_begin == col_end) return;
  const Runs runs(s, col_begin, col_end - col_begin);
  size_t r = 0;
  for (size_t c = 0; c < s.in_channels; ++c) {
    for (size_t kh = 0; kh < s.kernel_h; ++kh) {
      for (size_t kw = 0; kw < s.kernel_w; ++kw, ++r) {
        fill_row(s, input, c, kh, kw, runs, col + r * ldcol);
      }
    }
  }
}

void f32_conv2d_packed(const Conv2dShape& s, const float* input, const PackedA& weights,
                       size_t col_begin, size_t col_end, float* output, size_t ldo,
                       const GemmParams& params) {
  assert(weights.depth() == s.col_rows());
  assert(col_begin <= col_end && col_end <= s.col_cols());
  if (s.is_pointwise()) {
    // The image already is the [C, H*W] column matrix.
    GemmParams p = params;
    p.trans_b = false;
    f32_gemm_packed_a(weights, 0, weights.rows(), col_end - col_begin, input + col_begin,
                      s.col_cols(), output + col_begin, ldo, p);
    return;
  }
  const Im2colPacker packer(s, input);
  detail::gemm_packed_a_virtual_b(weights, col_begin, col_end, packer, output, ldo, params);
}

void f32_dwconv2d(const Conv2dShape& s, const float* input, const float* weights, float* output,
                  const DepthwiseParams& params) {
  if (s.out_h == 0 || s.out_w == 0) return;
  if (!simd::padded_plane_fits(s)) return ref::f32_dwconv2d(s, input, weights, output, params);
  thread_local simd::PaddedPlane pp;
  const bool clamp = params.clamp_min > -std::numeric_limits<float>::infinity() ||
                     params.clamp_max < std::numeric_limits<float>::infinity();
  const Batch lo(params.clamp_min), hi(params.clamp_max);
  const size_t taps = s.kernel_h * s.kernel_w;
  for (size_t c = 0; c < s.in_channels; ++c) {
    simd::fill_padded(s, input + c * s.in_h * s.in_w, pp, 0.0f);
    if (c == 0) simd::tap_offsets(s, pp, pp.offsets);
    const size_t* offsets = pp.offsets.data();
    const float* w = weights + c * taps;
    const float bias = params.bias ? params.bias[c] : 0.0f;
    float* out_plane = output + c * s.out_h * s.out_w;
    // Narrow planes take 4 rows per tile, wide ones 2 (8 accumulators either way).
    const size_t rows_per_tile = s.out_w <= 2 * kLanes ? 4 : 2;
    const size_t row_step = s.stride_h * pp.phases * pp.phase_width;
    for (size_t oh = 0; oh < s.out_h;) {
      const size_t rows = s.out_h - oh >= rows_per_tile ? rows_per_tile : 1;
      const size_t r_index = rows == 4 ? 2 : rows == 2 ? 1 : 0;
      const float* row = pp.row_phase(oh * s.stride_h, 0);
      float* out = out_plane + oh * s.out_w;
      size_t ow = 0;
      for (; ow + 4 * kLanes <= s.out_w; ow += 4 * kLanes) {
        kDwTiles[r_index][3](row + ow, row_step, offsets, w, taps, bias, lo, hi, clamp, out + ow,
                             s.out_w, kLanes);
      }
      if (ow < s.out_w) {
        // 1-4 vectors, the last one possibly partial (the padded rows have a vector of slack).
        const size_t rest = s.out_w - ow;
        const size_t nv = (rest + kLanes - 1) / kLanes;
        kDwTiles[r_index][nv - 1](row + ow, row_step, offsets, w, taps, bias, lo, hi, clamp,
                                  out + ow, s.out_w, rest - (nv - 1) * kLanes);
      }
      oh += rows;
    }
  }
}

}  // namespace qm::kernels
