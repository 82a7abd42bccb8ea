// 2-D pooling over NCHW planes. Windows are described by Conv2dShape (in_channels = number of
// planes); output sizes come from the caller and already encode ceil_mode and auto_pad, so
// windows may run past the end padding: those positions are ignored, as ONNX Runtime does.
#pragma once

#include <cstddef>

#include "kernels/conv.h"

namespace qm::kernels {

/// y[c, oh, ow] = max of the window's input values (padding ignored; a window that covers no
/// input value gives -inf). Planes [C, in_h, in_w] -> [C, out_h, out_w].
void f32_max_pool2d(const Conv2dShape& shape, const float* x, float* y);

/// Parameters of f32_avg_pool2d.
struct AvgPoolParams {
  /// Divide by the number of window positions inside the padded input (ONNX count_include_pad
  /// = 1) instead of the number of real input values (0).
  bool count_include_pad = false;
  /// End padding (the padded input is [-pad_top, in_h + pad_bottom) x [-pad_left, in_w +
  /// pad_right)); only used with count_include_pad.
  size_t pad_bottom = 0, pad_right = 0;
};

/// y[c, oh, ow] = mean of the window (see AvgPoolParams for the divisor; a window with no input
/// value gives 0).
void f32_avg_pool2d(const Conv2dShape& shape, const float* x, float* y,
                    const AvgPoolParams& params);

/// y[c] = mean of plane c (x is [channels, plane] contiguous).
void f32_global_avg_pool(const float* x, float* y, size_t channels, size_t plane);
/// y[c] = max of plane c.
void f32_global_max_pool(const float* x, float* y, size_t channels, size_t plane);

}  // namespace qm::kernels
