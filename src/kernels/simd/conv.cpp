// 2-D convolution kernels: im2col, implicit-im2col GEMM convolution, direct depthwise.
#include "kernels/conv.h"

#include <algorithm>
#include <cassert>
#include <cstddef>
#include <cstring>
#include <memory>

#include "kernels/simd/gemm_internal.h"
#include "kernels/simd/simd.h"

namespace qm::kernels {
namespace {

using simd::Batch;
using simd::kLanes;
using Index = std::ptrdiff_t;

inline void copy_floats(const float* src, size_t n, float* dst) {
  size_t i = 0;
  for (; i + kLanes <= n; i += kLanes) Batch::load_unaligned(src + i).store_unaligned(dst + i);
  for (; i < n; ++i) dst[i] = src[i];
}

inline void zero_floats(size_t n, float* dst) {
  size_t i = 0;
  const Batch z(0.0f);
  for (; i + kLanes <= n; i += kLanes) z.store_unaligned(dst + i);
  for (; i < n; ++i) dst[i] = 0.0f;
}

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
  const Conv2dShape& s_;
  const float* input_;
};

// Depthwise: one plane, padded (and for stride_w > 1 split into stride_w column phases) into a
// scratch buffer so that every tap of every output row is a contiguous, bounds-free vector load.
struct PaddedPlane {
  size_t rows = 0, phases = 1, phase_width = 0;
  std::unique_ptr<float[]> storage;
  size_t capacity = 0;

  float* ensure(size_t n) {
    if (capacity < n) {
      storage.reset(new float[n]);
      capacity = n;
    }
    return storage.get();
  }
  // Element (y, x) of the padded plane lives at data[(y * phases + x % phases) * phase_width +
  // x / phases].
  const float* row_phase(size_t y, size_t phase) const {
    return storage.get() + (y * phases + phase) * phase_width;
  }
};

void fill_padded(const Conv2dShape& s, const float* plane, PaddedPlane& pp) {
  const size_t pw_total = (s.out_w - 1) * s.stride_w + (s.kernel_w - 1) * s.dilation_w + 1;
  pp.rows = (s.out_h - 1) * s.stride_h + (s.kernel_h - 1) * s.dilation_h + 1;
  pp.phases = s.stride_w;
  // Room for a full vector past the last needed element of a phase row: tails read whole
  // vectors.
  pp.phase_width = (pw_total + pp.phases - 1) / pp.phases + kLanes;
  float* data = pp.ensure(pp.rows * pp.phases * pp.phase_width);
  const Index H = Index(s.in_h), W = Index(s.in_w);
  for (size_t y = 0; y < pp.rows; ++y) {
    const Index ih = Index(y) - Index(s.pad_top);
    float* out = data + y * pp.phases * pp.phase_width;
    if (ih < 0 || ih >= H) {
      zero_floats(pp.phases * pp.phase_width, out);
      continue;
    }
    const float* row = plane + ih * W;
    if (pp.phases == 1) {
      const Index lo = std::min<Index>(Index(s.pad_left), Index(pp.phase_width));
      const Index hi = std::clamp<Index>(Index(s.pad_left) + W, lo, Index(pp.phase_width));
      zero_floats(size_t(lo), out);
      if (hi > lo) copy_floats(row + (lo - Index(s.pad_left)), size_t(hi - lo), out + lo);
      zero_floats(pp.phase_width - size_t(hi), out + hi);
    } else {
      for (size_t ph = 0; ph < pp.phases; ++ph) {
        float* o = out + ph * pp.phase_width;
        for (size_t t = 0; t < pp.phase_width; ++t) {
          const Index iw = Index(t * pp.phases + ph) - Index(s.pad_left);
          o[t] = (iw >= 0 && iw < W) ? row[iw] : 0.0f;
        }
      }
    }
  }
}

template <size_t V>
inline void dw_vectors(const Conv2dShape& s, const PaddedPlane& pp, const float* w, size_t oh,
                       size_t ow, float bias, const Batch& lo, const Batch& hi, bool clamp,
                       float* out) {
  Batch acc[V];
  QM_UNROLL
  for (size_t v = 0; v < V; ++v) acc[v] = Batch(bias);
  for (size_t kh = 0; kh < s.kernel_h; ++kh) {
    const size_t y = oh * s.stride_h + kh * s.dilation_h;
    for (size_t kw = 0; kw < s.kernel_w; ++kw) {
      const size_t x = kw * s.dilation_w;  // + ow * stride_w
      const float* src = pp.row_phase(y, x % pp.phases) + x / pp.phases + ow;
      const Batch wv(w[kh * s.kernel_w + kw]);
      QM_UNROLL
      for (size_t v = 0; v < V; ++v) {
        acc[v] = xsimd::fma(wv, Batch::load_unaligned(src + v * kLanes), acc[v]);
      }
    }
  }
  QM_UNROLL
  for (size_t v = 0; v < V; ++v) {
    if (clamp) acc[v] = xsimd::min(xsimd::max(acc[v], lo), hi);
  }
  QM_UNROLL
  for (size_t v = 0; v < V; ++v) acc[v].store_unaligned(out + v * kLanes);
}

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
  thread_local PaddedPlane pp;
  const bool clamp = params.clamp_min > -std::numeric_limits<float>::infinity() ||
                     params.clamp_max < std::numeric_limits<float>::infinity();
  const Batch lo(params.clamp_min), hi(params.clamp_max);
  const size_t taps = s.kernel_h * s.kernel_w;
  for (size_t c = 0; c < s.in_channels; ++c) {
    fill_padded(s, input + c * s.in_h * s.in_w, pp);
    const float* w = weights + c * taps;
    const float bias = params.bias ? params.bias[c] : 0.0f;
    float* out_plane = output + c * s.out_h * s.out_w;
    for (size_t oh = 0; oh < s.out_h; ++oh) {
      float* out = out_plane + oh * s.out_w;
      size_t ow = 0;
      for (; ow + 4 * kLanes <= s.out_w; ow += 4 * kLanes) {
        dw_vectors<4>(s, pp, w, oh, ow, bias, lo, hi, clamp, out + ow);
      }
      for (; ow + kLanes <= s.out_w; ow += kLanes) {
        dw_vectors<1>(s, pp, w, oh, ow, bias, lo, hi, clamp, out + ow);
      }
      if (ow < s.out_w) {
        // The padded rows have a vector of slack, so compute a whole vector and keep a part.
        alignas(kBufferAlignment) float tail[kLanes];
        dw_vectors<1>(s, pp, w, oh, ow, bias, lo, hi, clamp, tail);
        std::memcpy(out + ow, tail, (s.out_w - ow) * sizeof(float));
      }
    }
  }
}

}  // namespace qm::kernels
