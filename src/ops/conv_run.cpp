// Convolution and pooling execution. Conv lowers to GEMM: W[Cout/g, Cin/g*k] x col[Cin/g*k, P]
// with the weight pre-packed once per group (kernels::f32_gemm_pack_a) when it is constant; the
// output positions P are split over threads, each building its slice of the im2col matrix in a
// thread-local buffer (1-D/2-D: the kernels' implicit im2col, f32_conv2d_packed). 1x1/stride-1
// convolutions skip im2col; depthwise 1-D/2-D convolutions use kernels::f32_dwconv2d.
#include "ops/conv_run.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "kernels/conv.h"
#include "kernels/gemm.h"
#include "kernels/pool.h"
#include "ops/fused.h"
#include "ops/run_util.h"

namespace qm::ops::detail {
namespace {

/// A window resolved against actual input sizes.
struct Window {
  size_t k = 0;  // spatial rank
  std::vector<int64_t> in, out, kernel, stride, dil, pad_begin, pad_end;
};

int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

Window resolve(const RunContext& c, const WindowAttrs& a, const Shape& x, const std::vector<int64_t>& kernel,
               bool ceil_mode) {
  Window w;
  w.k = x.size() - 2;
  w.in.assign(x.begin() + 2, x.end());
  w.kernel = kernel;
  w.stride = a.strides.empty() ? std::vector<int64_t>(w.k, 1) : a.strides;
  w.dil = a.dilations.empty() ? std::vector<int64_t>(w.k, 1) : a.dilations;
  if (w.kernel.size() != w.k || w.stride.size() != w.k || w.dil.size() != w.k)
    c.fail("kernel/strides/dilations do not match input shape " + shape_to_string(x));
  w.pad_begin.assign(w.k, 0);
  w.pad_end.assign(w.k, 0);
  if (a.auto_pad == AutoPad::NotSet && !a.pads.empty()) {
    if (a.pads.size() != 2 * w.k) c.fail("pads do not match input shape " + shape_to_string(x));
    for (size_t i = 0; i < w.k; ++i) {
      w.pad_begin[i] = a.pads[i];
      w.pad_end[i] = a.pads[i + w.k];
    }
  }
  w.out.resize(w.k);
  for (size_t i = 0; i < w.k; ++i) {
    // As shape inference checks (it cannot when the input's dims are dynamic): no sum or product
    // below overflows.
    for (int64_t v : {w.kernel[i], w.stride[i], w.dil[i], w.pad_begin[i], w.pad_end[i], w.in[i]})
      if (v > kMaxDim || v < 0) c.fail("window size, stride, dilation, padding or input size out of range (" + std::to_string(v) + ")");
    if (w.kernel[i] > 1 && w.dil[i] > kMaxDim / (w.kernel[i] - 1)) c.fail("dilated kernel extent out of range");
    const int64_t dk = (w.kernel[i] - 1) * w.dil[i] + 1;
    if (a.auto_pad == AutoPad::SameUpper || a.auto_pad == AutoPad::SameLower) {
      std::vector<int64_t> p = same_pads(w.in[i], w.kernel[i], w.stride[i], w.dil[i], a.auto_pad);
      w.pad_begin[i] = p[0];
      w.pad_end[i] = p[1];
      w.out[i] = ceil_div(w.in[i], w.stride[i]);
      continue;
    }
    const int64_t span = w.in[i] + w.pad_begin[i] + w.pad_end[i] - dk;
    if (span < 0)
      c.fail("kernel extent " + std::to_string(dk) + " exceeds padded input size " +
             std::to_string(w.in[i] + w.pad_begin[i] + w.pad_end[i]));
    if (!ceil_mode) {
      w.out[i] = span / w.stride[i] + 1;
    } else {
      int64_t o = ceil_div(span, w.stride[i]) + 1;
      if ((o - 1) * w.stride[i] >= w.in[i] + w.pad_begin[i]) --o;
      w.out[i] = o;
    }
  }
  return w;
}

struct ConvCache : OpCache {
  std::vector<kernels::PackedA> packed;  // one per group
  bool covers_input(size_t k) const override { return k == 1; }  // W; the bias is read each run
};

/// im2col of columns [c0, c1) (flattened output positions) for channels [ch0, ch0+cin) of one
/// image, into col[(ci, kernel offset), c1-c0].
void im2col(const float* x, const Window& w, int64_t cin, int64_t c0, int64_t c1, float* col) {
  const int64_t ncols = c1 - c0;
  if (w.k == 2 || w.k == 1) {
    const bool two = w.k == 2;
    const int64_t H = two ? w.in[0] : 1, W = w.in[two ? 1 : 0];
    const int64_t OW = w.out[two ? 1 : 0];
    const int64_t KH = two ? w.kernel[0] : 1, KW = w.kernel[two ? 1 : 0];
    const int64_t SH = two ? w.stride[0] : 1, SW = w.stride[two ? 1 : 0];
    const int64_t DH = two ? w.dil[0] : 1, DW = w.dil[two ? 1 : 0];
    const int64_t PH = two ? w.pad_begin[0] : 0, PW = w.pad_begin[two ? 1 : 0];
    float* dst = col;
    for (int64_t ci = 0; ci < cin; ++ci) {
      const float* xc = x + ci * H * W;
      for (int64_t kh = 0; kh < KH; ++kh) {
        for (int64_t kw = 0; kw < KW; ++kw) {
          int64_t oh = c0 / OW, ow = c0 % OW;
          for (int64_t j = 0; j < ncols;) {
            const int64_t ih = oh * SH - PH + kh * DH;
            const int64_t run = std::min(OW - ow, ncols - j);
            if (ih < 0 || ih >= H) {
              std::fill(dst + j, dst + j + run, 0.0f);
            } else {
              const float* row = xc + ih * W;
              int64_t iw = ow * SW - PW + kw * DW;
              if (SW == 1 && iw >= 0 && iw + run <= W) {
                std::copy(row + iw, row + iw + run, dst + j);
              } else {
                for (int64_t t = 0; t < run; ++t, iw += SW) dst[j + t] = (iw >= 0 && iw < W) ? row[iw] : 0.0f;
              }
            }
            j += run;
            ow = 0;
            ++oh;
          }
          dst += ncols;
        }
      }
    }
    return;
  }
  // General N-d.
  const size_t k = w.k;
  int64_t kprod = 1, inprod = 1;
  for (size_t i = 0; i < k; ++i) {
    kprod *= w.kernel[i];
    inprod *= w.in[i];
  }
  std::vector<int64_t> koff(k), oc(k);
  float* dst = col;
  for (int64_t ci = 0; ci < cin; ++ci) {
    const float* xc = x + ci * inprod;
    for (int64_t kk = 0; kk < kprod; ++kk) {
      int64_t t = kk;
      for (size_t i = k; i-- > 0;) {
        koff[i] = t % w.kernel[i];
        t /= w.kernel[i];
      }
      for (int64_t j = c0; j < c1; ++j) {
        int64_t u = j;
        for (size_t i = k; i-- > 0;) {
          oc[i] = u % w.out[i];
          u /= w.out[i];
        }
        int64_t idx = 0;
        bool inside = true;
        for (size_t i = 0; i < k; ++i) {
          const int64_t p = oc[i] * w.stride[i] - w.pad_begin[i] + koff[i] * w.dil[i];
          if (p < 0 || p >= w.in[i]) {
            inside = false;
            break;
          }
          idx = idx * w.in[i] + p;
        }
        *dst++ = inside ? xc[idx] : 0.0f;
      }
    }
  }
}

}  // namespace

void run_conv(const ConvAttrs& a, RunContext& c) {
  const Tensor &x = c.in(0), &wt = c.in(1);
  const Tensor* b = c.input(2);
  require_float(c, x, "input X");
  require_float(c, wt, "weight W");
  if (x.rank() < 3 || wt.rank() != x.rank())
    c.fail("input X " + shape_to_string(x.shape()) + " and weight W " + shape_to_string(wt.shape()) + " do not match");
  const int64_t N = x.shape()[0], C = x.shape()[1], M = wt.shape()[0], G = a.group;
  if (C != wt.shape()[1] * G || M % G != 0)
    c.fail("input has " + std::to_string(C) + " channels, weight " + shape_to_string(wt.shape()) + " with group " +
           std::to_string(G) + " expects " + std::to_string(wt.shape()[1] * G));
  std::vector<int64_t> kernel(wt.shape().begin() + 2, wt.shape().end());
  if (!a.window.kernel_shape.empty() && a.window.kernel_shape != kernel)
    c.fail("kernel_shape does not match weight shape " + shape_to_string(wt.shape()));
  const Window w = resolve(c, a.window, x.shape(), kernel, false);
  if (b && (b->numel() != M || b->dtype() != DataType::Float)) c.fail("bias B must hold " + std::to_string(M) + " floats");
  Shape ys{N, M};
  ys.insert(ys.end(), w.out.begin(), w.out.end());
  Tensor& y = c.alloc(0, DataType::Float, ys);
  const int64_t cin = C / G, cout = M / G;
  int64_t kprod = 1, P = 1, inprod = 1;
  for (size_t i = 0; i < w.k; ++i) {
    kprod *= w.kernel[i];
    P *= w.out[i];
    inprod *= w.in[i];
  }
  const int64_t K = cin * kprod;
  const float* px = x.data<float>();
  const float* pw = wt.data<float>();
  const float* pb = b ? b->data<float>() : nullptr;
  float* py = y.data<float>();
  if (y.numel() == 0) return;
  FusedClamp clamp;
  if (const auto* f = dynamic_cast<const ConvFusedAttrs*>(&a)) clamp = f->clamp;

  // 1-D and 2-D convolutions use the kernels' 2-D geometry (1-D as height 1).
  kernels::Conv2dShape shape2d;
  const bool two_d = w.k <= 2;
  if (two_d) {
    const size_t o = w.k == 2 ? 1 : 0;
    shape2d.in_channels = static_cast<size_t>(cin);
    shape2d.in_h = w.k == 2 ? static_cast<size_t>(w.in[0]) : 1;
    shape2d.in_w = static_cast<size_t>(w.in[o]);
    shape2d.out_h = w.k == 2 ? static_cast<size_t>(w.out[0]) : 1;
    shape2d.out_w = static_cast<size_t>(w.out[o]);
    shape2d.kernel_h = w.k == 2 ? static_cast<size_t>(w.kernel[0]) : 1;
    shape2d.kernel_w = static_cast<size_t>(w.kernel[o]);
    shape2d.stride_h = w.k == 2 ? static_cast<size_t>(w.stride[0]) : 1;
    shape2d.stride_w = static_cast<size_t>(w.stride[o]);
    shape2d.dilation_h = w.k == 2 ? static_cast<size_t>(w.dil[0]) : 1;
    shape2d.dilation_w = static_cast<size_t>(w.dil[o]);
    shape2d.pad_top = w.k == 2 ? static_cast<size_t>(w.pad_begin[0]) : 0;
    shape2d.pad_left = static_cast<size_t>(w.pad_begin[o]);
  }

  // Depthwise: the direct kernel over channel ranges of each image (for hostile strides it runs
  // its scalar reference itself: kernels/simd/window.h padded_plane_fits).
  if (cin == 1 && cout == 1 && two_d) {
    const int64_t chunk = std::max<int64_t>(1, std::min<int64_t>(M, ceil_div(M, static_cast<int64_t>(c.pool().size()))));
    const int64_t per_img = ceil_div(M, chunk);
    c.pool().parallel_for(static_cast<size_t>(N * per_img), [&](size_t it) {
      const int64_t n = static_cast<int64_t>(it) / per_img, c0 = (static_cast<int64_t>(it) % per_img) * chunk;
      const int64_t c1 = std::min(M, c0 + chunk);
      kernels::Conv2dShape s = shape2d;
      s.in_channels = static_cast<size_t>(c1 - c0);
      kernels::DepthwiseParams dp;
      dp.bias = pb ? pb + c0 : nullptr;
      dp.clamp_min = clamp.lo;
      dp.clamp_max = clamp.hi;
      kernels::f32_dwconv2d(s, px + (n * C + c0) * inprod, pw + c0 * kprod, py + (n * M + c0) * P, dp);
    });
    return;
  }

  // Packed weights: cached across runs when W is constant.
  std::vector<kernels::PackedA> local;
  const std::vector<kernels::PackedA>* packed = nullptr;
  ConvCache* cache = nullptr;
  if (c.is_constant(1) && c.cache()) {
    if (!*c.cache()) {
      auto cc = std::make_unique<ConvCache>();
      for (int64_t g = 0; g < G; ++g)
        cc->packed.push_back(kernels::f32_gemm_pack_a(static_cast<size_t>(cout), static_cast<size_t>(K),
                                                      pw + g * cout * K, static_cast<size_t>(K), false));
      *c.cache() = std::move(cc);
    }
    cache = static_cast<ConvCache*>(c.cache()->get());
    packed = &cache->packed;
  } else {
    for (int64_t g = 0; g < G; ++g)
      local.push_back(kernels::f32_gemm_pack_a(static_cast<size_t>(cout), static_cast<size_t>(K),
                                               pw + g * cout * K, static_cast<size_t>(K), false));
    packed = &local;
  }

  bool direct = true;  // 1x1, stride 1, no padding: the input is already the column matrix
  for (size_t i = 0; i < w.k; ++i)
    if (w.kernel[i] != 1 || w.stride[i] != 1 || w.pad_begin[i] != 0 || w.pad_end[i] != 0) direct = false;

  // Work items: (image, group, column block). Column blocks are fixed-size so the partition
  // does not depend on the thread count beyond the pool's scheduling.
  const int64_t nr = static_cast<int64_t>(kernels::f32_gemm_nr());
  const size_t threads = c.pool().size();
  const int64_t per_img = N * G;
  int64_t block;
  if (two_d || direct) {
    // The kernels block for the cache themselves: split columns only to feed the threads.
    const int64_t splits = per_img >= static_cast<int64_t>(threads) ? 1 : ceil_div(static_cast<int64_t>(threads), per_img);
    block = std::max<int64_t>(nr, ceil_div(ceil_div(P, splits), nr) * nr);
  } else {
    block = std::max<int64_t>(nr, (4096 * 16) / std::max<int64_t>(1, K));  // col buffer ~256 KB
    block = (block + nr - 1) / nr * nr;
    // Enough blocks to feed every thread.
    while (block > nr && per_img * ceil_div(P, block) < static_cast<int64_t>(threads) * 2) block = std::max(nr, (block / 2 + nr - 1) / nr * nr);
  }
  const int64_t nblocks = ceil_div(P, block);
  const int64_t items = per_img * nblocks;
  c.pool().parallel_for(static_cast<size_t>(items), [&](size_t it) {
    const int64_t i = static_cast<int64_t>(it);
    const int64_t ng = i / nblocks, blk = i % nblocks;
    const int64_t n = ng / G, g = ng % G;
    const int64_t c0 = blk * block, c1 = std::min(P, c0 + block);
    const float* ximg = px + (n * C + g * cin) * inprod;
    float* yimg = py + (n * M + g * cout) * P;
    kernels::GemmParams gp;
    gp.clamp_min = clamp.lo;
    gp.clamp_max = clamp.hi;
    if (pb) {
      gp.bias_kind = kernels::GemmBias::PerRow;
      gp.bias = pb + g * cout;
    }
    if (direct) {
      kernels::f32_gemm_packed_a((*packed)[static_cast<size_t>(g)], 0, static_cast<size_t>(cout),
                                 static_cast<size_t>(c1 - c0), ximg + c0, static_cast<size_t>(P), yimg + c0,
                                 static_cast<size_t>(P), gp);
      return;
    }
    if (two_d) {
      // Implicit im2col: B strips packed straight from the image.
      kernels::f32_conv2d_packed(shape2d, ximg, (*packed)[static_cast<size_t>(g)], static_cast<size_t>(c0),
                                 static_cast<size_t>(c1), yimg, static_cast<size_t>(P), gp);
      return;
    }
    thread_local std::vector<float> col;
    const size_t need = static_cast<size_t>(K * (c1 - c0));
    if (col.size() < need) col.resize(need);
    im2col(ximg, w, cin, c0, c1, col.data());
    kernels::f32_gemm_packed_a((*packed)[static_cast<size_t>(g)], 0, static_cast<size_t>(cout),
                               static_cast<size_t>(c1 - c0), col.data(), static_cast<size_t>(c1 - c0), yimg + c0,
                               static_cast<size_t>(P), gp);
  });
}

void run_conv_transpose(const ConvAttrs& a, RunContext& c) {
  const Tensor &x = c.in(0), &wt = c.in(1);
  const Tensor* b = c.input(2);
  require_float(c, x, "input X");
  require_float(c, wt, "weight W");
  if (x.rank() < 3 || wt.rank() != x.rank())
    c.fail("input X " + shape_to_string(x.shape()) + " and weight W " + shape_to_string(wt.shape()) + " do not match");
  const int64_t N = x.shape()[0], C = x.shape()[1], G = a.group;
  if (wt.shape()[0] != C || C % G != 0) c.fail("weight W " + shape_to_string(wt.shape()) + " does not match " + std::to_string(C) + " input channels");
  const int64_t cin = C / G, cout = wt.shape()[1], M = cout * G;
  const size_t k = static_cast<size_t>(x.rank() - 2);
  std::vector<int64_t> kernel(wt.shape().begin() + 2, wt.shape().end());
  std::vector<int64_t> stride = a.window.strides.empty() ? std::vector<int64_t>(k, 1) : a.window.strides;
  std::vector<int64_t> dil = a.window.dilations.empty() ? std::vector<int64_t>(k, 1) : a.window.dilations;
  std::vector<int64_t> opad = a.output_padding.empty() ? std::vector<int64_t>(k, 0) : a.output_padding;
  if (stride.size() != k || dil.size() != k || opad.size() != k) c.fail("attributes do not match the input rank");
  std::vector<int64_t> in(x.shape().begin() + 2, x.shape().end()), out(k), pb(k, 0), pe(k, 0);
  for (size_t i = 0; i < k; ++i) {
    const int64_t dk = (kernel[i] - 1) * dil[i] + 1;
    const bool same = a.window.auto_pad == AutoPad::SameUpper || a.window.auto_pad == AutoPad::SameLower;
    int64_t want = -1;
    if (!a.output_shape.empty()) want = a.output_shape[a.output_shape.size() - k + i];
    else if (same) want = in[i] * stride[i];
    if (want >= 0) {
      // As the ONNX spec (and ONNX Runtime 1.30) computes them: SAME_UPPER puts the odd padding
      // at the end; SAME_LOWER and an explicit output_shape put it at the beginning.
      const int64_t total = std::max<int64_t>(0, (in[i] - 1) * stride[i] + opad[i] + dk - want);
      if (a.window.auto_pad == AutoPad::SameUpper) {
        pb[i] = total / 2;
        pe[i] = total - total / 2;
      } else {
        pb[i] = total - total / 2;
        pe[i] = total / 2;
      }
      out[i] = want;
    } else {
      if (a.window.auto_pad != AutoPad::Valid && !a.window.pads.empty()) {
        pb[i] = a.window.pads[i];
        pe[i] = a.window.pads[i + k];
      }
      out[i] = stride[i] * (in[i] - 1) + opad[i] + dk - pb[i] - pe[i];
      if (out[i] <= 0) c.fail("output size " + std::to_string(out[i]) + " is not positive");
    }
  }
  Shape ys{N, M};
  ys.insert(ys.end(), out.begin(), out.end());
  Tensor& y = c.alloc(0, DataType::Float, ys);
  int64_t kprod = 1, P = 1, Q = 1;
  for (size_t i = 0; i < k; ++i) {
    kprod *= kernel[i];
    P *= in[i];
    Q *= out[i];
  }
  const int64_t rows = cout * kprod;
  const float* px = x.data<float>();
  const float* pw = wt.data<float>();
  float* py = y.data<float>();
  if (b && b->numel() != M) c.fail("bias B must hold " + std::to_string(M) + " values");
  c.pool().parallel_for(static_cast<size_t>(N * G), [&](size_t it) {
    const int64_t n = static_cast<int64_t>(it) / G, g = static_cast<int64_t>(it) % G;
    std::vector<float> cols(static_cast<size_t>(rows * P));
    kernels::GemmParams gp;
    gp.trans_a = true;
    kernels::f32_gemm(static_cast<size_t>(rows), static_cast<size_t>(P), static_cast<size_t>(cin),
                      pw + g * cin * rows, static_cast<size_t>(rows), px + (n * C + g * cin) * P,
                      static_cast<size_t>(P), cols.data(), static_cast<size_t>(P), gp);
    float* yimg = py + (n * M + g * cout) * Q;
    std::vector<int64_t> koff(k), ic(k);
    for (int64_t r = 0; r < rows; ++r) {
      const int64_t co = r / kprod;
      int64_t t = r % kprod;
      for (size_t i = k; i-- > 0;) {
        koff[i] = t % kernel[i];
        t /= kernel[i];
      }
      const float* src = cols.data() + r * P;
      float* dst = yimg + co * Q;
      for (int64_t j = 0; j < P; ++j) {
        int64_t u = j;
        for (size_t i = k; i-- > 0;) {
          ic[i] = u % in[i];
          u /= in[i];
        }
        int64_t idx = 0;
        bool inside = true;
        for (size_t i = 0; i < k; ++i) {
          const int64_t o = ic[i] * stride[i] - pb[i] + koff[i] * dil[i];
          if (o < 0 || o >= out[i]) {
            inside = false;
            break;
          }
          idx = idx * out[i] + o;
        }
        if (inside) dst[idx] += src[j];
      }
    }
    if (b) {
      const float* pbias = b->data<float>();
      for (int64_t co = 0; co < cout; ++co) {
        float* dst = yimg + co * Q;
        const float v = pbias[g * cout + co];
        for (int64_t j = 0; j < Q; ++j) dst[j] += v;
      }
    }
  });
}

void run_pool(const PoolAttrs& a, RunContext& c) {
  const Tensor& x = c.in(0);
  require_float(c, x, "input X");
  const bool is_max = a.is_max;
  if (x.rank() != static_cast<int64_t>(a.window.kernel_shape.size()) + 2)
    c.fail("input shape " + shape_to_string(x.shape()) + " does not match kernel_shape");
  if (c.num_outputs() > 1 && is_max) c.unsupported("the Indices output of MaxPool is not supported");
  const Window w = resolve(c, a.window, x.shape(), a.window.kernel_shape, a.ceil_mode);
  const int64_t N = x.shape()[0], C = x.shape()[1];
  Shape ys{N, C};
  ys.insert(ys.end(), w.out.begin(), w.out.end());
  Tensor& y = c.alloc(0, DataType::Float, ys);
  const size_t k = w.k;
  int64_t P = 1, inprod = 1, kprod = 1;
  for (size_t i = 0; i < k; ++i) {
    P *= w.out[i];
    inprod *= w.in[i];
    kprod *= w.kernel[i];
  }
  const float* px = x.data<float>();
  float* py = y.data<float>();
  if (k == 2 && w.dil[0] == 1 && w.dil[1] == 1) {
    // 2-D without dilation: the vectorised kernels over ranges of planes.
    kernels::Conv2dShape s;
    s.in_h = static_cast<size_t>(w.in[0]);
    s.in_w = static_cast<size_t>(w.in[1]);
    s.out_h = static_cast<size_t>(w.out[0]);
    s.out_w = static_cast<size_t>(w.out[1]);
    s.kernel_h = static_cast<size_t>(w.kernel[0]);
    s.kernel_w = static_cast<size_t>(w.kernel[1]);
    s.stride_h = static_cast<size_t>(w.stride[0]);
    s.stride_w = static_cast<size_t>(w.stride[1]);
    s.pad_top = static_cast<size_t>(w.pad_begin[0]);
    s.pad_left = static_cast<size_t>(w.pad_begin[1]);
    kernels::AvgPoolParams ap;
    ap.count_include_pad = a.count_include_pad;
    ap.pad_bottom = static_cast<size_t>(w.pad_end[0]);
    ap.pad_right = static_cast<size_t>(w.pad_end[1]);
    parallel_items(c, N * C, P * kprod, [&](int64_t b0, int64_t b1) {
      kernels::Conv2dShape sb = s;
      sb.in_channels = static_cast<size_t>(b1 - b0);
      if (is_max) kernels::f32_max_pool2d(sb, px + b0 * inprod, py + b0 * P);
      else kernels::f32_avg_pool2d(sb, px + b0 * inprod, py + b0 * P, ap);
    });
    return;
  }
  parallel_items(c, N * C, P * kprod, [&](int64_t b0, int64_t b1) {
    std::vector<int64_t> oc(k), start(k), end(k), kc(k);
    for (int64_t plane = b0; plane < b1; ++plane) {
      const float* xp = px + plane * inprod;
      float* yp = py + plane * P;
      for (int64_t j = 0; j < P; ++j) {
        int64_t u = j;
        for (size_t i = k; i-- > 0;) {
          oc[i] = u % w.out[i];
          u /= w.out[i];
        }
        // Window corners; ONNX Runtime's divisor with count_include_pad counts the padding but
        // not the part of a ceil_mode window beyond it.
        int64_t padded_count = 1;
        for (size_t i = 0; i < k; ++i) {
          start[i] = oc[i] * w.stride[i] - w.pad_begin[i];
          const int64_t e = std::min(start[i] + (w.kernel[i] - 1) * w.dil[i] + 1, w.in[i] + w.pad_end[i]);
          padded_count *= (e - start[i] + w.dil[i] - 1) / w.dil[i];
        }
        float acc = is_max ? -std::numeric_limits<float>::infinity() : 0.0f;
        int64_t count = 0;
        std::fill(kc.begin(), kc.end(), 0);
        for (int64_t kk = 0; kk < kprod; ++kk) {
          int64_t idx = 0;
          bool inside = true;
          for (size_t i = 0; i < k; ++i) {
            const int64_t p = start[i] + kc[i] * w.dil[i];
            if (p < 0 || p >= w.in[i]) {
              inside = false;
              break;
            }
            idx = idx * w.in[i] + p;
          }
          if (inside) {
            const float v = xp[idx];
            if (is_max) acc = (v > acc || std::isnan(v)) ? v : acc;
            else acc += v;
            ++count;
          }
          for (size_t i = k; i-- > 0;) {
            if (++kc[i] < w.kernel[i]) break;
            kc[i] = 0;
          }
        }
        if (is_max) yp[j] = acc;
        else yp[j] = acc / static_cast<float>(a.count_include_pad ? padded_count : std::max<int64_t>(count, 1));
      }
    }
  });
}

void run_global_pool(RunContext& c, bool is_max) {
  const Tensor& x = c.in(0);
  require_float(c, x, "input X");
  if (x.rank() < 2) c.fail("input must have rank >= 2");
  Shape ys{x.shape()[0], x.shape()[1]};
  for (int64_t i = 2; i < x.rank(); ++i) ys.push_back(1);
  Tensor& y = c.alloc(0, DataType::Float, ys);
  const int64_t planes = x.shape()[0] * x.shape()[1];
  const int64_t P = planes ? x.numel() / planes : 0;
  const float* px = x.data<float>();
  float* py = y.data<float>();
  parallel_items(c, planes, P, [&](int64_t b0, int64_t b1) {
    for (int64_t i = b0; i < b1; ++i) {
      const float* p = px + i * P;
      if (is_max) {
        float m = -std::numeric_limits<float>::infinity();
        for (int64_t j = 0; j < P; ++j) m = (p[j] > m || std::isnan(p[j])) ? p[j] : m;
        py[i] = m;
      } else {
        double s = 0;
        for (int64_t j = 0; j < P; ++j) s += p[j];
        py[i] = static_cast<float>(s / static_cast<double>(P));
      }
    }
  });
}

}  // namespace qm::ops::detail
