// Scalar references for kernels/fake_quant.h: ONNX QuantizeLinear then DequantizeLinear, one
// element at a time (std::nearbyint in the default rounding mode = round half to even).
#pragma once

#include <cstddef>
#include <cstdint>

#include "kernels/fake_quant.h"

namespace qm::kernels::ref {

/// fake_quant of one value (see kernels/fake_quant.h).
float fake_quant(float x, float scale, int32_t zero_point, int32_t qmin, int32_t qmax);

void f32_fake_quant_per_tensor(const float* x, float* y, size_t n, float scale,
                               int32_t zero_point, int32_t qmin, int32_t qmax);
void f32_fake_quant_per_channel(const float* x, float* y, size_t outer, size_t channels,
                                size_t inner, const float* scales, const int32_t* zero_points,
                                int32_t qmin, int32_t qmax);

}  // namespace qm::kernels::ref
