// 2-D convolution kernels on one NCHW image: im2col, an implicit-im2col GEMM convolution with
// pre-packed weights, and a direct depthwise convolution.
//
// Groups and the batch dimension are the caller's (ops/) business: a kernel sees the channels of
// one group of one image, [in_channels, in_h, in_w] contiguous, and writes [out_channels,
// out_h * out_w] rows. Output sizes come from the caller (they encode auto_pad, ceil_mode and
// the end padding), so only the leading pads are needed here.
#pragma once

#include <cstddef>
#include <limits>

#include "kernels/gemm.h"

namespace qm::kernels {

/// Geometry of one 2-D convolution (one group of one image).
struct Conv2dShape {
  size_t in_channels = 1;  ///< channels of this group (depthwise: the number of planes)
  size_t in_h = 1, in_w = 1;
  size_t out_h = 1, out_w = 1;
  size_t kernel_h = 1, kernel_w = 1;
  size_t stride_h = 1, stride_w = 1;
  size_t dilation_h = 1, dilation_w = 1;
  size_t pad_top = 0, pad_left = 0;  ///< end padding is implied by out_h/out_w

  /// Rows of the im2col matrix: in_channels * kernel_h * kernel_w (the GEMM depth K).
  size_t col_rows() const { return in_channels * kernel_h * kernel_w; }
  /// Columns of the im2col matrix: out_h * out_w output positions.
  size_t col_cols() const { return out_h * out_w; }
  /// True when the input already is the im2col matrix (1x1 kernel, stride 1, no padding).
  bool is_pointwise() const {
    return kernel_h == 1 && kernel_w == 1 && stride_h == 1 && stride_w == 1 && pad_top == 0 &&
           pad_left == 0 && out_h == in_h && out_w == in_w;
  }
};

/// im2col of output positions [col_begin, col_end): col[r, j - col_begin] for r in
/// [0, col_rows()) with r = (c * kernel_h + kh) * kernel_w + kw, zeros where the window covers
/// padding. `col` is [col_rows(), col_end - col_begin] with leading dimension ldcol.
void f32_im2col(const Conv2dShape& shape, const float* input, size_t col_begin, size_t col_end,
                float* col, size_t ldcol);

/// Output positions [col_begin, col_end) of
///   output[M, out_h * out_w] = act(weights[M, col_rows()] * im2col(input) + bias (+ beta * out))
/// without materialising the im2col matrix: B strips are packed straight from the image.
/// `weights` is f32_gemm_pack_a(M, col_rows(), W, col_rows(), false) of the group's [M, C/g, kh,
/// kw] weights; `output` addresses position 0 of channel 0 with leading dimension ldo (usually
/// out_h * out_w). params: bias PerRow (M values), clamp, alpha, beta; trans flags are ignored.
/// Any column range is allowed (e.g. one per thread).
void f32_conv2d_packed(const Conv2dShape& shape, const float* input, const PackedA& weights,
                       size_t col_begin, size_t col_end, float* output, size_t ldo,
                       const GemmParams& params);

/// Parameters of the depthwise convolution.
struct DepthwiseParams {
  const float* bias = nullptr;  ///< in_channels values, or null for none
  float clamp_min = -std::numeric_limits<float>::infinity();  ///< fused activation (Relu: 0)
  float clamp_max = std::numeric_limits<float>::infinity();
};

/// Depthwise convolution: each of the shape.in_channels planes of `input` ([C, in_h, in_w]) is
/// convolved with its own kernel_h x kernel_w filter (weights [C, kernel_h, kernel_w]) into
/// output [C, out_h, out_w]. Any kernel size, stride, dilation and padding.
void f32_dwconv2d(const Conv2dShape& shape, const float* input, const float* weights,
                  float* output, const DepthwiseParams& params);

}  // namespace qm::kernels
