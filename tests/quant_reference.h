// The scalar reference of fake quantization, for tests that compute a quantized layer's closed
// form in double: q = clamp(round_half_even(x / scale) + zero_point, qmin, qmax), y = (q - zp) * scale.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>

#include "quant/quant_model.h"

namespace qm::test {

/// x fake-quantized with channel `c` of encoding `e` (c = 0 per tensor).
inline double fq(double x, const quant::Encoding& e, size_t c) {
  double q = std::nearbyint(x / e.scale[c]) + e.zero_point[c];
  q = std::min<double>(std::max<double>(q, e.qmin()), e.qmax());
  return (q - e.zero_point[c]) * e.scale[c];
}

}  // namespace qm::test
