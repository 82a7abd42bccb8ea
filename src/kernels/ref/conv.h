// Scalar references for kernels/conv.h: the readable definitions the tests compare against.
#pragma once

#include <cstddef>

#include "kernels/conv.h"

namespace qm::kernels::ref {

/// As qm::kernels::f32_im2col.
void f32_im2col(const Conv2dShape& shape, const float* input, size_t col_begin, size_t col_end,
                float* col, size_t ldcol);

/// Direct convolution with unpacked weights [out_channels, in_channels, kernel_h, kernel_w]:
/// output[M, out_h * out_w] (leading dimension ldo) = act(W * im2col(input) + bias + beta * out)
/// for positions [col_begin, col_end), with params as for qm::kernels::f32_conv2d_packed.
void f32_conv2d(const Conv2dShape& shape, const float* input, const float* weights,
                size_t out_channels, size_t col_begin, size_t col_end, float* output, size_t ldo,
                const GemmParams& params);

/// As qm::kernels::f32_dwconv2d.
void f32_dwconv2d(const Conv2dShape& shape, const float* input, const float* weights,
                  float* output, const DepthwiseParams& params);

}  // namespace qm::kernels::ref
