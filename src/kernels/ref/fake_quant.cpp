#include "kernels/ref/fake_quant.h"

#include <cmath>

namespace qm::kernels::ref {

float fake_quant(float x, float scale, int32_t zero_point, int32_t qmin, int32_t qmax) {
  // QuantizeLinear as MLAS: divide, clamp (maxps/minps order: NaN -> the lower bound), round.
  float t = x / scale;
  const float lo = float(qmin - zero_point), hi = float(qmax - zero_point);
  t = t > lo ? t : lo;
  t = t < hi ? t : hi;
  const int32_t q = int32_t(std::nearbyint(t)) + zero_point;
  // DequantizeLinear.
  return float(q - zero_point) * scale;
}

void f32_fake_quant_per_tensor(const float* x, float* y, size_t n, float scale,
                               int32_t zero_point, int32_t qmin, int32_t qmax) {
  for (size_t i = 0; i < n; ++i) y[i] = fake_quant(x[i], scale, zero_point, qmin, qmax);
}

void f32_fake_quant_per_channel(const float* x, float* y, size_t outer, size_t channels,
                                size_t inner, const float* scales, const int32_t* zero_points,
                                int32_t qmin, int32_t qmax) {
  for (size_t o = 0; o < outer; ++o) {
    for (size_t c = 0; c < channels; ++c) {
      const int32_t zp = zero_points ? zero_points[c] : 0;
      for (size_t i = 0; i < inner; ++i) {
        const size_t k = (o * channels + c) * inner + i;
        y[k] = fake_quant(x[k], scales[c], zp, qmin, qmax);
      }
    }
  }
}

}  // namespace qm::kernels::ref
