#include "kernels/ref/conv.h"

#include <algorithm>
#include <cstddef>

namespace qm::kernels::ref {
namespace {

// Input value under window tap (kh, kw) of output position (oh, ow), 0 in the padding.
float tap(const Conv2dShape& s, const float* plane, size_t oh, size_t ow, size_t kh, size_t kw) {
  const std::ptrdiff_t ih = std::ptrdiff_t(oh * s.stride_h + kh * s.dilation_h) -
                            std::ptrdiff_t(s.pad_top);
  const std::ptrdiff_t iw = std::ptrdiff_t(ow * s.stride_w + kw * s.dilation_w) -
                            std::ptrdiff_t(s.pad_left);
  if (ih < 0 || iw < 0 || ih >= std::ptrdiff_t(s.in_h) || iw >= std::ptrdiff_t(s.in_w)) {
    return 0.0f;
  }
  return plane[size_t(ih) * s.in_w + size_t(iw)];
}

}  // namespace

void f32_im2col(const Conv2dShape& s, const float* input, size_t col_begin, size_t col_end,
                float* col, size_t ldcol) {
  for (size_t c = 0; c < s.in_channels; ++c) {
    const float* plane = input + c * s.in_h * s.in_w;
    for (size_t kh = 0; kh < s.kernel_h; ++kh) {
      for (size_t kw = 0; kw < s.kernel_w; ++kw) {
        float* row = col + ((c * s.kernel_h + kh) * s.kernel_w + kw) * ldcol;
        for (size_t j = col_begin; j < col_end; ++j) {
          row[j - col_begin] = tap(s, plane, j / s.out_w, j % s.out_w, kh, kw);
        }
      }
    }
  }
}

void f32_conv2d(const Conv2dShape& s, const float* input, const float* weights,
                size_t out_channels, size_t col_begin, size_t col_end, float* output, size_t ldo,
                const GemmParams& params) {
  const size_t taps = s.kernel_h * s.kernel_w;
  for (size_t m = 0; m < out_channels; ++m) {
    for (size_t j = col_begin; j < col_end; ++j) {
      float acc = 0.0f;
      for (size_t c = 0; c < s.in_channels; ++c) {
        const float* plane = input + c * s.in_h * s.in_w;
        const float* w = weights + (m * s.in_channels + c) * taps;
        for (size_t kh = 0; kh < s.kernel_h; ++kh) {
          for (size_t kw = 0; kw < s.kernel_w; ++kw) {
            acc += w[kh * s.kernel_w + kw] * tap(s, plane, j / s.out_w, j % s.out_w, kh, kw);
          }
        }
      }
      float& y = output[m * ldo + j];
      float x = params.alpha * acc;
      if (params.beta != 0.0f) x += params.beta * y;
      if (params.bias_kind == GemmBias::PerRow) x += params.bias[m];
      if (params.bias_kind == GemmBias::PerColumn) x += params.bias[j];
      y = std::min(std::max(x, params.clamp_min), params.clamp_max);
    }
  }
}

void f32_dwconv2d(const Conv2dShape& s, const float* input, const float* weights, float* output,
                  const DepthwiseParams& params) {
  const size_t taps = s.kernel_h * s.kernel_w;
  for (size_t c = 0; c < s.in_channels; ++c) {
    const float* plane = input + c * s.in_h * s.in_w;
    const float* w = weights + c * taps;
    for (size_t oh = 0; oh < s.out_h; ++oh) {
      for (size_t ow = 0; ow < s.out_w; ++ow) {
        float acc = params.bias ? params.bias[c] : 0.0f;
        for (size_t kh = 0; kh < s.kernel_h; ++kh) {
          for (size_t kw = 0; kw < s.kernel_w; ++kw) {
            acc += w[kh * s.kernel_w + kw] * tap(s, plane, oh, ow, kh, kw);
          }
        }
        output[(c * s.out_h + oh) * s.out_w + ow] =
            std::min(std::max(acc, params.clamp_min), params.clamp_max);
      }
    }
  }
}

}  // namespace qm::kernels::ref
