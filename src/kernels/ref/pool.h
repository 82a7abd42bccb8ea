// Scalar references for kernels/pool.h (the loops of ONNX Runtime's pool functors).
#pragma once

#include <cstddef>

#include "kernels/pool.h"

namespace qm::kernels::ref {

void f32_max_pool2d(const Conv2dShape& shape, const float* x, float* y);
void f32_avg_pool2d(const Conv2dShape& shape, const float* x, float* y,
                    const AvgPoolParams& params);
void f32_global_avg_pool(const float* x, float* y, size_t channels, size_t plane);
void f32_global_max_pool(const float* x, float* y, size_t channels, size_t plane);

}  // namespace qm::kernels::ref
